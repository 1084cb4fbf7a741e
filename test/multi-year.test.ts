import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'

import Database from 'better-sqlite3'

import {FLOWS} from '../src/flows/index.js'
import {readFlusso} from '../src/xml/read.js'
import {run, runAsync, tempDir, userEnv, xmlFiles, xmllint, readFlussoRows} from './support/cli.js'
import {psRows, writeCsv, type PsRow} from './support/ps-data.js'
import {startSandboxProcess, type SandboxProcess} from './support/sandbox.js'
import {countFlussi} from './support/store.js'

/**
 * DESIGN §5 "Multi-year services": a home care service from October to March is one row in the
 * Comune's software and one record per calendar year for INPS. casellario splits it, says so,
 * and treats each year's part as its own prestazione when the service later changes.
 */

const PS = FLOWS.ps
const INIZIO = PS.field('DataInizioPrestazione').index
const FINE = PS.field('DataFinePrestazione').index

/** A periodic row with the given period (and months of erogazione, when given). */
function periodic(row: PsRow, start: string, end: string, months = ''): PsRow {
  return {
    ...row,
    CaratterePrestazione: '1',
    DataInizioPrestazione: start,
    DataFinePrestazione: end,
    DataErogazionePrestazione: '',
    ImportoPrestazione: '',
    ImportoMensile: row.ImportoMensile || row.ImportoPrestazione,
    PeriodoErogazione: months,
    ImportoQuotaEnte: '',
    ImportoQuotaUtente: '',
    ImportoQuotaSSN: '',
  }
}

describe('multi-year periodic services are split per calendar year', function () {
  this.timeout(240_000)
  const dir = tempDir()
  const [a, b, c] = [...psRows(161, 3)]
  const homeCare = periodic(a, '2025-10-01', '2026-03-31', '6')
  const rows = [homeCare, periodic(b, '2026-02-01', '2026-05-31'), periodic(c, '2025-06-01', '2024-04-30')]
  const file = join(dir, 'servizi.csv')
  writeCsv(file, rows)
  const env = userEnv(join(dir, 'user'))

  it('validate: the cross-year row is valid with a notice (not a warning); an end before the start keeps its error', () => {
    const r = run(['validate', file, '--json'], {env})
    const doc = r.json()
    assert.equal(r.code, 2, r.stdout)
    assert.equal(doc.valid, 2)
    assert.equal(doc.prestazioni, 3)
    assert.deepEqual(doc.splits, [{row: 2, parts: [{start: '2025-10-01', end: '2025-12-31'}, {start: '2026-01-01', end: '2026-03-31'}]}])
    assert.ok(!doc.findings.some((f: {row: number}) => f.row === 2), JSON.stringify(doc.findings))
    assert.deepEqual(
      doc.findings.filter((f: {row: number}) => f.row === 4).map((f: {code: string}) => f.code),
      ['END_DATE_OTHER_YEAR'],
    )
    const text = run(['validate', file], {env})
    assert.match(text.stdout, /riga 2: nota SPLIT_BY_YEAR — Prestazione periodica a cavallo di anni: inviata come 2 prestazioni/)
  })

  it('an occasional prestazione is never split: DataFinePrestazione in another year stays an error', () => {
    const one = join(dir, 'occasionale.csv')
    writeCsv(one, [{...homeCare, CaratterePrestazione: '2', DataErogazionePrestazione: '2025-10-01', ImportoPrestazione: '100.00'}])
    const doc = run(['validate', one, '--json'], {env}).json()
    assert.deepEqual(doc.splits, [])
    assert.deepEqual(doc.findings.map((f: {code: string}) => f.code), ['END_DATE_OTHER_YEAR'])
  })

  it('build: two records from row 2 (each year, same amounts, months of that year), valid against the official XSD', () => {
    const out = join(dir, 'flussi')
    const r = run(['build', file, '--out', out, '--json'], {env})
    assert.equal(r.code, 2, r.stderr)
    const doc = r.json()
    assert.equal(doc.splits.length, 1)
    const files = xmlFiles(out)
    const lint = xmllint(files)
    assert.ok(lint.ok, lint.output)
    const records = files.flatMap((f) => readFlussoRows(f)).filter((x) => x.CodiceFiscale === homeCare.CodiceFiscale)
    assert.deepEqual(
      records.map((x) => [x.DataInizioPrestazione, x.DataFinePrestazione, x.PeriodoErogazione, x.ImportoMensile]),
      [
        ['2025-10-01', '2025-12-31', '3', homeCare.ImportoMensile],
        ['2026-01-01', '2026-03-31', '3', homeCare.ImportoMensile],
      ],
    )
  })

  describe('submit: each part is its own prestazione for corrections', () => {
    let sandbox: SandboxProcess
    let client: Record<string, string>
    const only = join(dir, 'servizio.csv')
    const submit = async (path: string): Promise<any> => {
      const r = await runAsync(['submit', path, '--wait', '60s', '--json'], {env: client})
      assert.equal(r.code, 0, r.stdout.slice(0, 2000) + r.stderr)
      return r.json()
    }
    before(async () => {
      sandbox = await startSandboxProcess(dir)
      client = userEnv(join(dir, 'client'), sandbox.env)
    })
    after(async () => sandbox?.stop())

    it('the row becomes two accepted prestazioni, each traced to row 2; the same file again sends nothing', async () => {
      writeCsv(only, [homeCare])
      const first = await submit(only)
      assert.equal(first.plan.insert, 2)
      assert.equal(first.accepted, 2)
      assert.equal(first.splits.length, 1)
      const db = new Database(client.CASELLARIO_STORE, {readonly: true})
      const sourceRows = db.prepare('SELECT source_row FROM records').pluck().all()
      db.close()
      assert.deepEqual(sourceRows, [2, 2])
      const again = await submit(only)
      assert.equal(again.flussi, 0)
      assert.equal(again.plan.unchanged, 2)
      assert.equal((await sandbox.stats()).held, 2)
    })

    it('--dry-run lists the split and one decision per year', () => {
      writeCsv(only, [{...homeCare, DataFinePrestazione: '2026-06-30'}])
      const r = run(['submit', only, '--dry-run', '--json'], {env: client})
      assert.equal(r.code, 0, r.stderr)
      const doc = r.json()
      assert.equal(doc.splits.length, 1)
      assert.deepEqual(
        doc.rows.map((x: {row: number; action: string; year: string}) => [x.row, x.year, x.action]),
        [
          [2, '2025', 'unchanged'],
          [2, '2026', 'replace'],
        ],
      )
    })

    it('moving the end to 2026-06-30 sends a cancellation and an insertion of the 2026 part only', async () => {
      const doc = await submit(only)
      assert.deepEqual(countFlussi(client.CASELLARIO_STORE, 'operation', doc.submission), {C: 1, I: 1})
      assert.equal(doc.accepted, 2)
      const db = new Database(client.CASELLARIO_STORE, {readonly: true})
      const xml = db.prepare('SELECT xml, operation FROM flussi WHERE submission_id = ? ORDER BY id_flusso').all(doc.submission) as Array<{xml: Buffer; operation: string}>
      db.close()
      const periods = xml.map((x) => {
        const record = readFlusso(x.xml, PS).records[0]
        return [x.operation, record[INIZIO], record[FINE]]
      })
      assert.deepEqual(periods, [
        ['C', '2026-01-01', '2026-03-31'],
        ['I', '2026-01-01', '2026-06-30'],
      ])
      assert.equal((await sandbox.stats()).held, 2)
    })

    it('extending a service that ended on 31 December into the new year sends only the new year’s part', async () => {
      const d = periodic(c, '2025-11-01', '2025-12-31', '2')
      const ext = join(dir, 'estensione.csv')
      writeCsv(ext, [d])
      assert.equal((await submit(ext)).plan.insert, 1)
      writeCsv(ext, [{...d, DataFinePrestazione: '2026-02-28', PeriodoErogazione: '4'}])
      const doc = await submit(ext)
      assert.deepEqual({insert: doc.plan.insert, unchanged: doc.plan.unchanged, replace: doc.plan.replace}, {insert: 1, unchanged: 1, replace: 0})
      assert.ok(readFileSync(ext, 'utf8').length > 0)
    })
  })
})
