import assert from 'node:assert/strict'
import {readFileSync, rmSync} from 'node:fs'
import {join} from 'node:path'

import {messageCodes, hasMessage} from '../src/i18n/messages.js'
import {PS} from '../src/flows/ps.js'
import {run, tempDir, userEnv} from './support/cli.js'
import {psRows, writeCsv, type PsRow} from './support/ps-data.js'
import {applyOmocodia, makeCodiceFiscale} from './support/synthetic.js'

interface Finding {
  row: number
  column: string
  field: string
  code: string
  severity: 'error' | 'warning'
  message: string
}

const clean = [...psRows(23, 400)]
const periodic = clean.find((r) => r.CaratterePrestazione === '1' && r.CodiceNazione === '380' && !r.ImportoQuotaEnte && !r.NumeroProtocolloDSU)!
const occasional = clean.find((r) => r.CaratterePrestazione === '2' && r.CodiceNazione === '380' && !r.ImportoQuotaEnte)!

/** A fresh person for each defect, so that rows never disagree about a beneficiary by accident. */
let personSeq = 0
function person(): PsRow {
  personSeq++
  const day = (personSeq % 28) + 1
  const cf = makeCodiceFiscale({cognome: 'Prova', nome: 'Difetto', year: 1950 + (personSeq % 50), month: (personSeq % 12) + 1, day, genere: '1', belfiore: 'H501'})
  return {CodiceFiscale: cf, Cognome: 'Prova', Nome: 'Difetto', AnnoNascita: String(1950 + (personSeq % 50)), LuogoNascita: 'H501', Genere: '1'}
}

const NO_SINA = Object.fromEntries(PS.fields.filter((f) => f.column.startsWith('SINA_')).map((f) => [f.column, '']))
const FULL_SINA = {SINA_Mobilita: '1', SINA_AttivitaVitaQuotidiana: '1', SINA_DisturbiComportamentali: '1', SINA_AreaReddituale: '1', SINA_AreaSupporto: '1', SINA_FonteDerivazioneValutazione: '1', SINA_StrumentoValutazione: '1'}

interface Defect {
  name: string
  base?: 'periodic' | 'occasional'
  change: (r: PsRow) => PsRow
  expect: {field: string; code: string; severity: 'error' | 'warning'}
}

/** Each schema and semantic rule, broken once. The rule's passing case is every clean row. */
const DEFECTS: Defect[] = [
  {name: 'missing required field', change: (r) => ({...r, Cognome: ''}), expect: {field: 'Cognome', code: 'REQUIRED', severity: 'error'}},
  {name: 'text too long', change: (r) => ({...r, Nome: 'N'.repeat(37)}), expect: {field: 'Nome', code: 'TOO_LONG', severity: 'error'}},
  {name: 'denominazione too short', change: (r) => ({...r, DenominazionePrestazione: 'Breve'}), expect: {field: 'DenominazionePrestazione', code: 'TOO_SHORT', severity: 'error'}},
  {name: 'ISTAT code lost its leading zero', change: (r) => ({...r, CodiceComune: '58091'}), expect: {field: 'CodiceComune', code: 'NOT_DIGITS', severity: 'error'}},
  {name: 'code not in the list', change: (r) => ({...r, PresaCarico: '3'}), expect: {field: 'PresaCarico', code: 'NOT_IN_LIST', severity: 'error'}},
  {name: 'impossible date', base: 'periodic', change: (r) => ({...r, DataInizioPrestazione: '2026-02-30', DataFinePrestazione: ''}), expect: {field: 'DataInizioPrestazione', code: 'INVALID_DATE', severity: 'error'}},
  {name: 'Italian date in a canonical file', base: 'occasional', change: (r) => ({...r, DataErogazionePrestazione: '15/03/2026'}), expect: {field: 'DataErogazionePrestazione', code: 'INVALID_DATE', severity: 'error'}},
  {name: 'implausible year', base: 'occasional', change: (r) => ({...r, DataErogazionePrestazione: '2206-03-15'}), expect: {field: 'DataErogazionePrestazione', code: 'DATE_IMPLAUSIBLE', severity: 'error'}},
  {name: 'birth year in the future', change: (r) => ({...r, AnnoNascita: '2999'}), expect: {field: 'AnnoNascita', code: 'DATE_IMPLAUSIBLE', severity: 'error'}},
  {name: 'decimal comma in a canonical file', base: 'periodic', change: (r) => ({...r, ImportoMensile: '350,50'}), expect: {field: 'ImportoMensile', code: 'INVALID_DECIMAL', severity: 'error'}},
  {name: 'zero amount', base: 'occasional', change: (r) => ({...r, ImportoPrestazione: '0'}), expect: {field: 'ImportoPrestazione', code: 'NOT_POSITIVE', severity: 'error'}},
  {name: 'months out of range', base: 'periodic', change: (r) => ({...r, PeriodoErogazione: '13'}), expect: {field: 'PeriodoErogazione', code: 'INVALID_INTEGER', severity: 'error'}},
  {name: 'minutes of OreServizioMensile ≥ 60', change: (r) => ({...r, OreServizioMensile: '12.75'}), expect: {field: 'OreServizioMensile', code: 'HOURS_MINUTES', severity: 'error'}},
  {name: 'malformed codice fiscale', change: (r) => ({...r, CodiceFiscale: 'RSSMRA80A01'}), expect: {field: 'CodiceFiscale', code: 'CF_MALFORMED', severity: 'error'}},
  {name: 'wrong CF check character', change: (r) => ({...r, CodiceFiscale: r.CodiceFiscale.slice(0, 15) + (r.CodiceFiscale[15] === 'A' ? 'B' : 'A')}), expect: {field: 'CodiceFiscale', code: 'CF_CHECK_CHARACTER', severity: 'error'}},
  {name: 'omocodia in the year digits', change: (r) => ({...r, CodiceFiscale: applyOmocodia(r.CodiceFiscale, 7)}), expect: {field: 'CodiceFiscale', code: 'CF_OMOCODIA_NOT_ACCEPTED', severity: 'error'}},
  {name: 'birth year not as in the CF', change: (r) => ({...r, AnnoNascita: String(Number(r.AnnoNascita) + 1)}), expect: {field: 'AnnoNascita', code: 'CF_BIRTH_YEAR_MISMATCH', severity: 'warning'}},
  {name: 'gender not as in the CF', change: (r) => ({...r, Genere: '2'}), expect: {field: 'Genere', code: 'CF_GENDER_MISMATCH', severity: 'warning'}},
  {name: 'birthplace not as in the CF', change: (r) => ({...r, LuogoNascita: 'F205'}), expect: {field: 'LuogoNascita', code: 'CF_BIRTHPLACE_MISMATCH', severity: 'warning'}},
  {name: 'malformed Belfiore', change: (r) => ({...r, LuogoNascita: 'ROMA'}), expect: {field: 'LuogoNascita', code: 'BELFIORE_MALFORMED', severity: 'error'}},
  {name: 'ISTAT code for a country', change: (r) => ({...r, CodiceCittadinanza: '999'}), expect: {field: 'CodiceCittadinanza', code: 'CITIZENSHIP_NOT_ISO', severity: 'error'}},
  {name: 'Italian residence without comune', change: (r) => ({...r, CodiceComune: ''}), expect: {field: 'CodiceComune', code: 'RESIDENCE_ITALY_INCOMPLETE', severity: 'error'}},
  {name: 'comune that does not exist', change: (r) => ({...r, CodiceComune: '058999'}), expect: {field: 'CodiceComune', code: 'COMUNE_UNKNOWN', severity: 'error'}},
  {name: 'comune in another region', change: (r) => ({...r, CodiceComune: '058091', CodiceRegione: '03'}), expect: {field: 'CodiceRegione', code: 'COMUNE_REGION_MISMATCH', severity: 'warning'}},
  {name: 'half a DSU', change: (r) => ({...r, NumeroProtocolloDSU: 'INPS-ISEE-2026-1', AnnoProtocolloDSU: '2026', DataDSU: ''}), expect: {field: 'DataDSU', code: 'DSU_INCOMPLETE', severity: 'error'}},
  {name: 'periodic without monthly amount', base: 'periodic', change: (r) => ({...r, ImportoMensile: ''}), expect: {field: 'ImportoMensile', code: 'PERIODIC_REQUIREMENTS', severity: 'error'}},
  {name: 'occasional without date', base: 'occasional', change: (r) => ({...r, DataErogazionePrestazione: ''}), expect: {field: 'DataErogazionePrestazione', code: 'OCCASIONAL_REQUIREMENTS', severity: 'error'}},
  // a later year is split per year (multi-year.test.ts); an earlier one is a mistake
  {name: 'end date in an earlier year', base: 'periodic', change: (r) => ({...r, DataInizioPrestazione: '2026-03-01', DataFinePrestazione: '2025-12-31'}), expect: {field: 'DataFinePrestazione', code: 'END_DATE_OTHER_YEAR', severity: 'error'}},
  {name: 'occasional with an end date in another year', base: 'occasional', change: (r) => ({...r, DataInizioPrestazione: '2026-03-01', DataFinePrestazione: '2027-01-31'}), expect: {field: 'DataFinePrestazione', code: 'END_DATE_OTHER_YEAR', severity: 'error'}},
  {name: 'means-tested (PSA) without DSU', base: 'periodic', change: (r) => ({...r, PresenzaProvaMezzi: '1'}), expect: {field: 'NumeroProtocolloDSU', code: 'PSA_WITHOUT_DSU', severity: 'warning'}},
  {name: 'DSU protocol of another year', base: 'periodic', change: (r) => ({...r, PresenzaProvaMezzi: '1', NumeroProtocolloDSU: 'INPS-ISEE-2025-00012345X-00', AnnoProtocolloDSU: '2026', DataDSU: '2026-01-15'}), expect: {field: 'AnnoProtocolloDSU', code: 'DSU_YEAR_MISMATCH', severity: 'error'}},
  {name: 'DataDSU of another year', base: 'periodic', change: (r) => ({...r, PresenzaProvaMezzi: '1', NumeroProtocolloDSU: 'PROT-77', AnnoProtocolloDSU: '2026', DataDSU: '2025-12-30'}), expect: {field: 'AnnoProtocolloDSU', code: 'DSU_YEAR_MISMATCH', severity: 'error'}},
  {name: 'disability area taken in charge without SINA', base: 'periodic', change: (r) => ({...r, ...NO_SINA, PresaCarico: '1', AreaUtenza: '2'}), expect: {field: 'SINA_Mobilita', code: 'SINA_MISSING_FOR_DISABILITY', severity: 'warning'}},
  {name: 'unknown code inside SINA NecessitaInterventiSociali', change: (r) => ({...r, ...FULL_SINA, SINA_NecessitaInterventiSociali: 'A2.07|QQ.99'}), expect: {field: 'SINA_NecessitaInterventiSociali', code: 'PRESTAZIONE_UNKNOWN', severity: 'warning'}},
  {name: 'end before start', base: 'periodic', change: (r) => ({...r, DataInizioPrestazione: '2026-03-01', DataFinePrestazione: '2026-02-01'}), expect: {field: 'DataFinePrestazione', code: 'END_DATE_BEFORE_START', severity: 'error'}},
  {name: 'shares that do not add up', base: 'periodic', change: (r) => ({...r, ImportoMensile: '500.00', ImportoQuotaEnte: '300.00', ImportoQuotaUtente: '150.00'}), expect: {field: 'ImportoQuotaEnte', code: 'SHARES_SUM_MISMATCH', severity: 'error'}},
  {name: 'presa in carico without area', change: (r) => ({...r, PresaCarico: '1', AreaUtenza: ''}), expect: {field: 'AreaUtenza', code: 'AREA_REQUIRED_WITH_PRESA_IN_CARICO', severity: 'error'}},
  {name: 'A1.05.01 without DataEvento', change: (r) => ({...r, CodicePrestazione: 'A1.05.01', DataEvento: ''}), expect: {field: 'DataEvento', code: 'A1_05_01_REQUIRES_EVENT_DATE', severity: 'error'}},
  {name: 'code not in the nomenclatore', change: (r) => ({...r, CodicePrestazione: 'A9.99'}), expect: {field: 'CodicePrestazione', code: 'PRESTAZIONE_UNKNOWN', severity: 'warning'}},
  {name: 'SINA block without a required attribute', change: (r) => ({...r, SINA_Mobilita: '1', SINA_DisturbiComportamentali: '1', SINA_AreaReddituale: '1', SINA_AreaSupporto: '1', SINA_FonteDerivazioneValutazione: '1', SINA_StrumentoValutazione: '1'}), expect: {field: 'SINA_AttivitaVitaQuotidiana', code: 'REQUIRED', severity: 'error'}},
  {name: 'unknown civil invalidity code in the list', change: (r) => ({...r, SINA_Mobilita: '1', SINA_AttivitaVitaQuotidiana: '1', SINA_DisturbiComportamentali: '1', SINA_AreaReddituale: '1', SINA_AreaSupporto: '1', SINA_FonteDerivazioneValutazione: '1', SINA_StrumentoValutazione: '1', SINA_InvaliditaCivile: '2|9'}), expect: {field: 'SINA_InvaliditaCivile', code: 'NOT_IN_LIST', severity: 'error'}},
  {name: 'control character pasted in a name', change: (r) => ({...r, Cognome: 'Ros\u0007si'}), expect: {field: 'Cognome', code: 'CONTROL_CHARACTER', severity: 'error'}},
]

/** Each defect on its own row with its own person; clean rows in between. */
function defectFile(): {rows: PsRow[]; expectedAt: Map<number, Defect>} {
  const rows: PsRow[] = []
  const expectedAt = new Map<number, Defect>()
  let c = 0
  for (const d of DEFECTS) {
    rows.push(clean[c++], clean[c++])
    const base = d.base === 'occasional' ? occasional : periodic
    const row = d.change({...base, ...person(), ProtocolloDomanda: `DIFETTO/${rows.length}`})
    rows.push(row)
    expectedAt.set(rows.length + 1, d) // +1: the header is row 1
  }
  return {rows, expectedAt}
}

describe('validate: every bad row reported at its row, good rows untouched', function () {
  this.timeout(120_000)
  const dir = tempDir()
  const env = userEnv(dir)

  it('has a clean base: the generated rows give no finding at all', () => {
    const file = join(dir, 'clean.csv')
    writeCsv(file, clean)
    const r = run(['validate', file, '--json'], {env})
    assert.equal(r.code, 0, r.stdout.slice(0, 1500))
    const doc = r.json()
    assert.deepEqual(doc.findings, [])
    assert.deepEqual({rows: doc.rows, records: doc.records, valid: doc.valid, errors: doc.errors, warnings: doc.warnings}, {rows: 400, records: 400, valid: 400, errors: 0, warnings: 0})
  })

  for (const d of DEFECTS) {
    it(`reports ${d.expect.code} on ${d.expect.field}: ${d.name}`, () => {
      const file = join(dir, `${d.expect.code}-${DEFECTS.indexOf(d)}.csv`)
      const base = d.base === 'occasional' ? occasional : periodic
      writeCsv(file, [clean[0], d.change({...base, ...person(), ProtocolloDomanda: 'DIFETTO/1'}), clean[1]])
      const r = run(['validate', file, '--json'], {env})
      const findings: Finding[] = r.json().findings
      assert.deepEqual(
        findings.map((f) => ({row: f.row, field: f.field, code: f.code, severity: f.severity})),
        [{row: 3, ...d.expect}],
      )
      assert.equal(r.code, d.expect.severity === 'error' ? 2 : 0)
      assert.ok(findings[0].message.length > 10 && !/[A-Z]{3}[A-Z0-9]{13}/.test(findings[0].message), 'an Italian message without personal data')
    })
  }

  it('finds every defect of a many-defect file at its row, with nothing on clean rows, and keeps the valid ones', () => {
    const {rows, expectedAt} = defectFile()
    const file = join(dir, 'many.csv')
    writeCsv(file, rows)
    const r = run(['validate', file, '--json', '--report', join(dir, 'errori.csv')], {env})
    assert.equal(r.code, 2)
    const doc = r.json()
    const byRow = new Map<number, Finding[]>()
    for (const f of doc.findings as Finding[]) byRow.set(f.row, [...(byRow.get(f.row) ?? []), f])
    assert.deepEqual([...byRow.keys()].sort((a, b) => a - b), [...expectedAt.keys()])
    for (const [row, d] of expectedAt) {
      assert.ok(byRow.get(row)!.some((f) => f.code === d.expect.code && f.field === d.expect.field && f.severity === d.expect.severity), `row ${row}: ${d.name}`)
    }
    const errorsOnly = DEFECTS.filter((d) => d.expect.severity === 'error').length
    assert.equal(doc.valid, rows.length - errorsOnly)
  })

  it('writes the findings as a spreadsheet the operator can open safely in Excel', () => {
    const report = readFileSync(join(dir, 'errori.csv'), 'utf8')
    assert.ok(report.startsWith('\uFEFFriga;cella;colonna;campo;codice;gravita;messaggio\r\n'))
    assert.match(report, /\n4;B4;Cognome;Cognome;REQUIRED;errore;Campo obbligatorio mancante\.\r\n/)
    // a value starting with = or + would run as a formula in Excel: it is neutralised
    const file = join(dir, 'formula.csv')
    writeCsv(file, [{...periodic, ...person(), ProtocolloDomanda: 'X', PresaCarico: '=HYPERLINK("http://x")'}])
    run(['validate', file, '--report', join(dir, 'formula-report.csv')], {env})
    assert.doesNotMatch(readFileSync(join(dir, 'formula-report.csv'), 'utf8'), /;=HYPERLINK/)
  })

  it('reports rows of one beneficiary that disagree with its first row', () => {
    const a = {...periodic, ...person(), ProtocolloDomanda: 'A'}
    const file = join(dir, 'inconsistent.csv')
    // (another address is not a disagreement: see addresses.test.ts)
    writeCsv(file, [a, clean[5], {...a, ProtocolloDomanda: 'B', Nome: 'Altro', CodiceCittadinanza: '756'}, {...a, ProtocolloDomanda: 'C'}])
    const doc = run(['validate', file, '--json'], {env}).json()
    assert.deepEqual(
      doc.findings.map((f: Finding) => [f.row, f.field, f.code]),
      [
        [4, 'Nome', 'BENEFICIARY_INCONSISTENT'],
        [4, 'CodiceCittadinanza', 'BENEFICIARY_INCONSISTENT'],
      ],
    )
    assert.match(doc.findings[0].message, /riga 2/)
    assert.equal(doc.valid, 3)
  })

  it('speaks English when asked', () => {
    const file = join(dir, 'en.csv')
    writeCsv(file, [{...periodic, ...person(), Cognome: ''}])
    const doc = run(['validate', file, '--json', '--lang', 'en'], {env}).json()
    assert.equal(doc.findings[0].message, 'Required field is missing.')
  })

  it('documents every finding code in Italian and English', () => {
    for (const code of messageCodes()) assert.ok(hasMessage(code), code)
    for (const rule of PS.rules) assert.ok(hasMessage(rule.code), rule.code)
  })

  after(() => rmSync(dir, {recursive: true, force: true}))
})
