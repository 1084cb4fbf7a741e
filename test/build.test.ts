import assert from 'node:assert/strict'
import {readFileSync, rmSync, statSync} from 'node:fs'
import {join} from 'node:path'

import {loadTemplate} from '../src/mapping/index.js'
import {ENTE_ENV, flussoHeader, readFlussoRows, run, runAsync, tempDir, userEnv, xmlFiles, xmllint, withoutNome} from './support/cli.js'
import {CANONICAL_HEADERS, excelItalianHeaders, psRows, writeCsv, writeExcelItalianCsv, type PsRow} from './support/ps-data.js'

/** What INPS must receive for a row: the canonical values, with '' meaning "not sent". */
function expected(row: PsRow): Record<string, string> {
  return Object.fromEntries(CANONICAL_HEADERS.map((h) => [h, row[h] ?? '']).filter(([, v]) => v !== ''))
}

function roundTrip(dir: string): Map<string, Record<string, string>> {
  const byProtocollo = new Map<string, Record<string, string>>()
  for (const file of xmlFiles(dir)) for (const r of readFlussoRows(file)) byProtocollo.set(r.ProtocolloDomanda, r)
  return byProtocollo
}

describe('build: from a spreadsheet to official flussi', function () {
  this.timeout(300_000)
  const dir = tempDir()
  const env = userEnv(dir)
  const rows = [...psRows(11, 400, {scatter: true, omocodiaShare: 0.05})]
  const csv = join(dir, 'prestazioni.csv')
  writeCsv(csv, rows)

  it('writes upload flussi that the official XSD accepts, with every value surviving the round trip', () => {
    const out = join(dir, 'upload')
    const r = run(['build', csv, '--out', out, '--json'], {env})
    assert.equal(r.code, 0, r.stderr)
    const doc = r.json()
    assert.equal(doc.findings.length, 0, JSON.stringify(doc.findings.slice(0, 3)))
    assert.equal(doc.valid, 400)
    const files = xmlFiles(out)
    assert.equal(files.length, doc.flussi.length)
    const lint = xmllint(files)
    assert.ok(lint.ok, lint.output)
    const back = roundTrip(out)
    assert.equal(back.size, 400)
    for (const row of rows) assert.deepEqual(back.get(row.ProtocolloDomanda), expected(row), row.ProtocolloDomanda)
    // the ente comes from the environment, escaped
    assert.equal(flussoHeader(files[0]).Denominazione, '&amp;'.length ? 'Comune di Prova &amp; Servizi &lt;Sociali&gt;' : '')
  })

  it('groups each beneficiary once, in order of first appearance, even when rows are scattered', () => {
    const out = join(dir, 'grouped')
    run(['build', csv, '--out', out], {env})
    const xml = xmlFiles(out).map((f) => readFileSync(f, 'utf8')).join('')
    const order = [...xml.matchAll(/<Beneficiario CodiceFiscale="([^"]+)"/g)].map((m) => m[1])
    const firstAppearance = [...new Set(rows.map((r) => r.CodiceFiscale))]
    assert.deepEqual(order, firstAppearance)
    for (const file of xmlFiles(out)) {
      const rowsIn = readFlussoRows(file)
      const byCf = new Map<string, number>()
      for (const r of rowsIn) byCf.set(r.CodiceFiscale, (byCf.get(r.CodiceFiscale) ?? 0) + 1)
      for (const [cf, n] of byCf) assert.equal(n, rows.filter((r) => r.CodiceFiscale === cf).length, cf)
    }
  })

  it('splits upload packaging at the size cap, every file valid and under the cap', () => {
    const out = join(dir, 'capped')
    const r = run(['build', csv, '--out', out, '--max-size', '32', '--json'], {env})
    assert.equal(r.code, 0, r.stderr)
    const files = xmlFiles(out)
    assert.ok(files.length > 3, `${files.length} files`)
    for (const f of files) assert.ok(statSync(f).size <= 32 * 1024, `${f}: ${statSync(f).size}`)
    assert.ok(xmllint(files).ok)
    assert.equal(roundTrip(out).size, 400)
  })

  it('writes cooperazione flussi with exactly one beneficiario and one prestazione each', () => {
    const out = join(dir, 'coop')
    const r = run(['build', csv, '--out', out, '--packaging', 'cooperazione', '--json'], {env})
    assert.equal(r.code, 0, r.stderr)
    const doc = r.json()
    assert.equal(doc.flussi.length, 400)
    for (const f of doc.flussi) {
      assert.equal(f.beneficiari, 1)
      assert.equal(f.prestazioni, 1)
    }
    assert.ok(xmllint(xmlFiles(out)).ok)
    assert.equal(roundTrip(out).size, 400)
  })

  it('names flussi {ente}.PS.{day}.{progressive} and never reuses a progressive, even for two builds at once', async () => {
    const a = join(dir, 'par-a')
    const b = join(dir, 'par-b')
    const [ra, rb] = await Promise.all([runAsync(['build', csv, '--out', a, '--max-size', '64', '--json'], {env}), runAsync(['build', csv, '--out', b, '--max-size', '64', '--json'], {env})])
    assert.equal(ra.code, 0, ra.stderr)
    assert.equal(rb.code, 0, rb.stderr)
    const names = [...ra.json().flussi, ...rb.json().flussi].map((f: {id_flusso: string}) => f.id_flusso)
    assert.equal(new Set(names).size, names.length)
    for (const n of names) assert.match(n, /^H501\.PS\.\d{8}\.\d{7}$/)
    for (const f of [...xmlFiles(a), ...xmlFiles(b)]) assert.equal(flussoHeader(f).Nome + '.xml', f.split('/').pop())
  })

  it('creates output files only the user can read', () => {
    const out = join(dir, 'upload')
    for (const f of xmlFiles(out)) assert.equal(statSync(f).mode & 0o777, 0o600)
    assert.equal(statSync(join(dir, 'store.db')).mode & 0o777, 0o600)
  })

  it('gives the same flussi for an Excel-Italian export (Windows-1252, ;, dd/mm/yyyy, 1.234,56) with the shipped template', () => {
    const template = loadTemplate('comune-excel-it')
    const italian = join(dir, 'export-excel.csv')
    writeExcelItalianCsv(italian, rows, excelItalianHeaders(template.columns))
    assert.ok(readFileSync(italian).includes(Buffer.from('Disabilit\xe0', 'latin1')), 'the file is really Windows-1252')
    const canonicalOut = join(dir, 'same-canonical')
    const italianOut = join(dir, 'same-italian')
    assert.equal(run(['build', csv, '--out', canonicalOut], {env}).code, 0)
    const r = run(['build', italian, '--template', 'comune-excel-it', '--out', italianOut, '--json'], {env})
    assert.equal(r.code, 0, r.stdout.slice(0, 2000))
    const a = xmlFiles(canonicalOut).map(withoutNome)
    const b = xmlFiles(italianOut).map(withoutNome)
    assert.deepEqual(b, a)
  })

  it('reads the spreadsheet from standard input with -', () => {
    const out = join(dir, 'stdin')
    const r = run(['build', '-', '--out', out, '--json'], {env, input: readFileSync(csv)})
    assert.equal(r.code, 0, r.stderr)
    assert.equal(roundTrip(out).size, 400)
  })

  it('keeps good rows going when some are bad, and exits 2', () => {
    const bad = join(dir, 'some-bad.csv')
    const broken = rows.slice(0, 50).map((r, i) => (i % 10 === 3 ? {...r, DataInizioPrestazione: r.DataInizioPrestazione ? '2026-02-30' : '', DataErogazionePrestazione: r.DataErogazionePrestazione ? '2026-02-30' : ''} : r))
    writeCsv(bad, broken)
    const out = join(dir, 'partial')
    const r = run(['build', bad, '--out', out, '--json'], {env})
    assert.equal(r.code, 2)
    const doc = r.json()
    assert.equal(doc.valid, 45)
    assert.deepEqual([...new Set(doc.findings.map((f: {row: number}) => f.row))], [5, 15, 25, 35, 45])
    assert.equal(roundTrip(out).size, 45)
  })

  it('refuses to build without the ente identity, naming what is missing (exit 1)', () => {
    const noEnte = {...env}
    for (const k of Object.keys(ENTE_ENV)) delete (noEnte as Record<string, string>)[k]
    const r = run(['build', csv, '--out', join(dir, 'never'), '--json'], {env: noEnte})
    assert.equal(r.code, 1)
    assert.equal(r.json().error.code, 'ENTE_NOT_CONFIGURED')
    assert.match(r.json().error.message, /CASELLARIO_ENTE_CODICE/)
  })

  it('an XLSX copy of the spreadsheet yields the same flussi', async () => {
    const {default: ExcelJS} = await import('exceljs')
    const wb = new ExcelJS.Workbook()
    const ws = wb.addWorksheet('Prestazioni')
    ws.addRow(CANONICAL_HEADERS)
    for (const row of rows) ws.addRow(CANONICAL_HEADERS.map((h) => row[h] ?? ''))
    const xlsx = join(dir, 'prestazioni.xlsx')
    await wb.xlsx.writeFile(xlsx)
    const out = join(dir, 'from-xlsx')
    const r = run(['build', xlsx, '--out', out, '--json'], {env})
    assert.equal(r.code, 0, r.stdout.slice(0, 1000))
    const back = roundTrip(out)
    for (const row of rows) assert.deepEqual(back.get(row.ProtocolloDomanda), expected(row))
  })

  after(() => rmSync(dir, {recursive: true, force: true}))
})
