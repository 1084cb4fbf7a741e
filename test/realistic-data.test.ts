import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'

import {parse} from 'csv-parse/sync'

import {run, tempDir, userEnv, xmlFiles, xmllint} from './support/cli.js'
import {CANONICAL_HEADERS} from './support/ps-data.js'
import {MEAN_PRESTAZIONI, writeRealisticCsv} from './support/realistic-data.js'
import {checkCharOf} from './support/synthetic.js'

/**
 * The bench's realistic export (issue 13, DESIGN §11) is only worth measuring if it looks like a
 * real one: scattered beneficiaries in date order, valid rows, every column family. No timings here.
 */
describe('the realistic export the bench measures (test/support/realistic-data.ts)', function () {
  this.timeout(120_000)
  const dir = tempDir()
  const ROWS = 3000
  const files = {date: join(dir, 'date.csv'), grouped: join(dir, 'grouped.csv')}
  let written: ReturnType<typeof writeRealisticCsv>
  let date: Record<string, string>[]
  let grouped: Record<string, string>[]

  before(() => {
    written = writeRealisticCsv(files, 7, ROWS)
    date = parse(readFileSync(files.date), {columns: true}) as Record<string, string>[]
    grouped = parse(readFileSync(files.grouped), {columns: true}) as Record<string, string>[]
  })

  it('is deterministic: the same seed writes the same bytes, another seed other rows', () => {
    const again = {date: join(dir, 'again-date.csv'), grouped: join(dir, 'again-grouped.csv')}
    writeRealisticCsv(again, 7, ROWS)
    assert.ok(readFileSync(again.date).equals(readFileSync(files.date)))
    assert.ok(readFileSync(again.grouped).equals(readFileSync(files.grouped)))
    const other = {date: join(dir, 'other-date.csv'), grouped: join(dir, 'other-grouped.csv')}
    writeRealisticCsv(other, 8, ROWS)
    assert.ok(!readFileSync(other.date).equals(readFileSync(files.date)))
  })

  it('holds exactly the requested rows, the same ones in both files, with canonical headers', () => {
    assert.equal(written.rows, ROWS)
    assert.equal(date.length, ROWS)
    assert.deepEqual(Object.keys(date[0]), CANONICAL_HEADERS)
    const key = (r: Record<string, string>): string => JSON.stringify(r)
    assert.deepEqual(date.map(key).sort(), grouped.map(key).sort())
  })

  it('has 1–5 prestazioni per beneficiary, ≈ 2.45 on average, and a smaller file is the first people of a larger one', () => {
    const perPerson = new Map<string, number>()
    for (const r of grouped) perPerson.set(r.CodiceFiscale, (perPerson.get(r.CodiceFiscale) ?? 0) + 1)
    assert.equal(perPerson.size, written.people)
    for (const n of perPerson.values()) assert.ok(n >= 1 && n <= 5, `${n} prestazioni`)
    assert.ok(Math.abs(ROWS / perPerson.size - MEAN_PRESTAZIONI) < 0.15, `${ROWS / perPerson.size} per person`)
    const head = {date: join(dir, 'head-date.csv'), grouped: join(dir, 'head-grouped.csv')}
    writeRealisticCsv(head, 7, 500)
    const lines = readFileSync(head.grouped, 'utf8').split('\n')
    assert.deepEqual(lines.slice(0, 501), readFileSync(files.grouped, 'utf8').split('\n').slice(0, 501))
  })

  it('is in date order, and a beneficiary’s rows lie far apart in it (grouped in the other file)', () => {
    const day = (r: Record<string, string>): string => r.DataInizioPrestazione || r.DataErogazionePrestazione
    for (let i = 1; i < date.length; i++) assert.ok(day(date[i - 1]) <= day(date[i]), `row ${i + 1}: ${day(date[i - 1])} then ${day(date[i])}`)
    const rowsOf = (rows: Record<string, string>[]): Map<string, number[]> => {
      const at = new Map<string, number[]>()
      rows.forEach((r, i) => at.set(r.CodiceFiscale, [...(at.get(r.CodiceFiscale) ?? []), i]))
      return at
    }
    const spreads = [...rowsOf(date).values()].filter((at) => at.length > 1).map((at) => at.at(-1)! - at[0])
    const medianSpread = spreads.sort((a, b) => a - b)[Math.floor(spreads.length / 2)]
    assert.ok(medianSpread > ROWS / 5, `median distance between a person's first and last row: ${medianSpread}`)
    for (const at of rowsOf(grouped).values()) assert.equal(at.at(-1)! - at[0], at.length - 1, 'grouped: one person, consecutive rows')
  })

  it('uses every column family: periodic and occasional, ISEE, shares, SINA, hours, events, people born or living abroad, moves', () => {
    const share = (test: (r: Record<string, string>) => boolean): number => date.filter(test).length / date.length
    const used = {
      periodic: share((r) => r.CaratterePrestazione === '1' && r.ImportoMensile !== '' && r.PeriodoErogazione !== ''),
      occasional: share((r) => r.CaratterePrestazione === '2' && r.ImportoPrestazione !== ''),
      isee: share((r) => r.PresenzaProvaMezzi === '1' && r.NumeroProtocolloDSU !== '' && r.ImportoSogliaISEE !== ''),
      shares: share((r) => r.ImportoQuotaEnte !== ''),
      ssn: share((r) => r.ImportoQuotaSSN !== ''),
      sina: share((r) => r.SINA_Mobilita !== '' && r.SINA_NecessitaInterventiSociali !== ''),
      hours: share((r) => r.OreServizioMensile !== ''),
      evento: share((r) => r.DataEvento !== ''),
      bornAbroad: share((r) => r.LuogoNascita.startsWith('Z')),
      livingAbroad: share((r) => r.CodiceNazione !== '380' && r.CodiceComune === ''),
      secondCitizenship: share((r) => r.CodiceSecondaCittadinanza !== ''),
    }
    for (const [family, s] of Object.entries(used)) assert.ok(s > 0.002, `${family}: ${s}`)
    const addresses = new Map<string, Set<string>>()
    for (const r of date) addresses.set(r.CodiceFiscale, (addresses.get(r.CodiceFiscale) ?? new Set()).add(r.CodiceComune))
    assert.ok([...addresses.values()].some((s) => s.size > 1), 'somebody moved during the year')
  })

  it('is valid: codici fiscali by the algorithm, no finding from validate, XSD-valid XML from build', () => {
    for (const r of date) assert.equal(r.CodiceFiscale[15], checkCharOf(r.CodiceFiscale.slice(0, 15)), r.CodiceFiscale)
    const env = userEnv(join(dir, 'user'))
    const v = run(['validate', files.date, '--json'], {env})
    assert.equal(v.code, 0, v.stdout.slice(0, 2000))
    assert.deepEqual({rows: v.json().rows, errors: v.json().errors, warnings: v.json().warnings}, {rows: ROWS, errors: 0, warnings: 0})
    const out = join(dir, 'flussi')
    const b = run(['build', files.date, '--out', out, '--json'], {env})
    assert.equal(b.code, 0, b.stderr.slice(0, 2000))
    const lint = xmllint(xmlFiles(out))
    assert.ok(lint.ok, lint.output.slice(0, 2000))
  })
})
