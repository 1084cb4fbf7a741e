import assert from 'node:assert/strict'
import {closeSync, openSync, readFileSync, rmSync, writeSync} from 'node:fs'
import {join} from 'node:path'

import {SaxesParser} from 'saxes'

import {romeCalendar} from '../src/clock/index.js'
import {loadTemplate} from '../src/mapping/index.js'
import {REFERENCE, run, tempDir, userEnv, xmlFiles, xmllint, withoutNome} from './support/cli.js'
import {excelItalianHeaders, writeCsv} from './support/ps-data.js'
import {SINBA_HEADERS, sinbaRows, type SinbaRow} from './support/sinba-data.js'
import {makeCodiceFiscale} from './support/synthetic.js'

const SINBA_XSD = join(REFERENCE, 'inps', 'SINBA.xsd')

/** MM/YYYY of the month after today's, by the engine clock the CLI also reads */
function nextMonth(): string {
  const {year, month} = romeCalendar()
  return month === 11 ? `01/${year + 1}` : `${String(month + 2).padStart(2, '0')}/${year}`
}

/** SINBA elements read back with an independent parser: attributes plus the two lists joined by |. */
function readSinba(file: string): SinbaRow[] {
  const rows: SinbaRow[] = []
  const parser = new SaxesParser({xmlns: true})
  let current: SinbaRow | undefined
  let text = ''
  parser.on('opentag', (tag) => {
    if (tag.local === 'SINBA') current = Object.fromEntries(Object.entries(tag.attributes).map(([k, a]) => [k, (a as {value: string}).value]))
    text = ''
  })
  parser.on('text', (t) => (text += t))
  parser.on('closetag', (tag) => {
    const list = tag.local === 'CodicePrestazione' ? 'Prestazioni' : tag.local === 'ComposizioneFamiglia' ? 'ComposizioneFamiglia' : undefined
    if (list && current) current[list] = current[list] ? `${current[list]}|${text}` : text
    if (tag.local === 'SINBA') rows.push(current!)
  })
  parser.write(readFileSync(file, 'utf8')).close()
  return rows
}

const present = (row: SinbaRow): SinbaRow => Object.fromEntries(SINBA_HEADERS.map((h) => [h, row[h] ?? '']).filter(([, v]) => v !== ''))

describe('SINBA: minors taken in charge, end to end', function () {
  this.timeout(300_000)
  const dir = tempDir()
  const env = userEnv(dir)
  const rows = [...sinbaRows(31, 300)]
  const csv = join(dir, 'minori.csv')
  writeCsv(csv, rows, {headers: SINBA_HEADERS})

  it('validates generated minors without a single finding', () => {
    const r = run(['validate', csv, '--flow', 'sinba', '--json'], {env})
    assert.equal(r.code, 0, r.stdout.slice(0, 1500))
    assert.deepEqual(r.json().findings, [])
    assert.equal(r.json().valid, 300)
  })

  it('builds upload flussi SINBA.xsd accepts, named {ente}.SINBA.{day}.{progressive}, values round-tripping', () => {
    const out = join(dir, 'upload')
    const r = run(['build', csv, '--flow', 'sinba', '--out', out, '--json'], {env})
    assert.equal(r.code, 0, r.stderr)
    for (const f of r.json().flussi) assert.match(f.id_flusso, /^H501\.SINBA\.\d{8}\.\d{7}$/)
    const files = xmlFiles(out)
    const lint = xmllint(files, SINBA_XSD)
    assert.ok(lint.ok, lint.output)
    const back = new Map(files.flatMap(readSinba).map((m) => [m.IDBeneficiario, m]))
    assert.equal(back.size, 300)
    for (const row of rows) assert.deepEqual(back.get(row.IDBeneficiario), present(row))
  })

  it('builds cooperazione flussi with one minor each', () => {
    const out = join(dir, 'coop')
    const r = run(['build', csv, '--flow', 'sinba', '--out', out, '--packaging', 'cooperazione', '--json'], {env})
    assert.equal(r.code, 0, r.stderr)
    const files = xmlFiles(out)
    assert.equal(files.length, 300)
    assert.ok(xmllint(files, SINBA_XSD).ok)
    for (const f of files.slice(0, 20)) assert.equal(readSinba(f).length, 1)
  })

  it('gives the same flussi for an Italian Excel export read through the sinba-excel-it template', () => {
    const template = loadTemplate('sinba-excel-it')
    const headers = excelItalianHeaders(template.columns)
    const si = (v: string): string => (v === '1' ? 'Sì' : v === '2' ? 'No' : v)
    const fullDate = (v: string): string => (v ? `15/${v}` : '')
    const italian: SinbaRow[] = rows.map((r) => ({
      ...r,
      MinoreStranieroNoAcc: si(r.MinoreStranieroNoAcc),
      Disabilita: si(r.Disabilita),
      SegnalazioneAutoritaGiudiziaria: si(r.SegnalazioneAutoritaGiudiziaria),
      ProvvedimentoGiudiziario: si(r.ProvvedimentoGiudiziario),
      DataPrimaSegnalazione: fullDate(r.DataPrimaSegnalazione),
      DataSegnalazione: fullDate(r.DataSegnalazione),
      DataProvvedimentoGiudiziario: fullDate(r.DataProvvedimentoGiudiziario),
    }))
    const file = join(dir, 'minori-excel.csv')
    const fields = Object.keys(headers)
    const fd = openSync(file, 'w', 0o600)
    writeSync(fd, Buffer.from([fields.map((f) => headers[f]).join(';'), ...italian.map((r) => fields.map((f) => r[f] ?? '').join(';'))].join('\r\n') + '\r\n', 'latin1'))
    closeSync(fd)
    const a = join(dir, 'same-a')
    const b = join(dir, 'same-b')
    assert.equal(run(['build', csv, '--flow', 'sinba', '--out', a], {env}).code, 0)
    const r = run(['build', file, '--flow', 'sinba', '--template', 'sinba-excel-it', '--out', b, '--json'], {env})
    assert.equal(r.code, 0, r.stdout.slice(0, 1500))
    assert.deepEqual(xmlFiles(b).map(withoutNome), xmlFiles(a).map(withoutNome))
  })

  interface Defect {
    name: string
    change: (r: SinbaRow) => SinbaRow
    expect: {field: string; code: string; severity: 'error' | 'warning'}
  }
  const base = rows.find((r) => r.ProvvedimentoGiudiziario === '2' && r.Disabilita === '2' && r.SegnalazioneAutoritaGiudiziaria === '2' && r.LuogoVita === '1' && r.CodiceNazioneResidenza === '380')!
  const cf = makeCodiceFiscale({cognome: 'Minore', nome: 'Prova', year: 2015, month: 3, day: 4, genere: '1', belfiore: 'H501'})
  const DEFECTS: Defect[] = [
    {name: 'a codice fiscale as identifier', change: (r) => ({...r, IDBeneficiario: cf}), expect: {field: 'IDBeneficiario', code: 'ID_LOOKS_LIKE_CF', severity: 'warning'}},
    {name: 'identifier too long', change: (r) => ({...r, IDBeneficiario: 'X'.repeat(21)}), expect: {field: 'IDBeneficiario', code: 'TOO_LONG', severity: 'error'}},
    {name: 'disability without its type', change: (r) => ({...r, Disabilita: '1', TipoDisabilita: ''}), expect: {field: 'TipoDisabilita', code: 'DISABILITY_TYPE_REQUIRED', severity: 'error'}},
    {name: 'disability type without disability', change: (r) => ({...r, Disabilita: '2', TipoDisabilita: '1'}), expect: {field: 'TipoDisabilita', code: 'DISABILITY_FIELDS_WITHOUT_DISABILITY', severity: 'error'}},
    {name: 'referral to the court without its date', change: (r) => ({...r, SegnalazioneAutoritaGiudiziaria: '1', DataSegnalazione: ''}), expect: {field: 'DataSegnalazione', code: 'REFERRAL_DATE_REQUIRED', severity: 'error'}},
    {
      name: 'judicial measure without its authority',
      change: (r) => ({...r, ProvvedimentoGiudiziario: '1', DataProvvedimentoGiudiziario: `03/${romeCalendar().year - 1}`, TipoProvvedimentoGiudiziario: '7', AutoritaProvvedimento: ''}),
      expect: {field: 'AutoritaProvvedimento', code: 'JUDICIAL_MEASURE_INCOMPLETE', severity: 'error'},
    },
    {name: 'measure fields without a measure', change: (r) => ({...r, ProvvedimentoGiudiziario: '2', AutoritaProvvedimento: '2'}), expect: {field: 'AutoritaProvvedimento', code: 'JUDICIAL_FIELDS_WITHOUT_MEASURE', severity: 'error'}},
    {name: 'foster-care fields without foster care', change: (r) => ({...r, LuogoVita: '1', DurataAffido: '1'}), expect: {field: 'DurataAffido', code: 'FOSTER_FIELDS_WITHOUT_FOSTER_CARE', severity: 'warning'}},
    {name: 'residential fields without a placement', change: (r) => ({...r, LuogoVita: '1', TipoInserimentoResidenziale: '2'}), expect: {field: 'TipoInserimentoResidenziale', code: 'RESIDENTIAL_FIELDS_WITHOUT_PLACEMENT', severity: 'warning'}},
    {name: 'referral date in the future', change: (r) => ({...r, DataPrimaSegnalazione: nextMonth()}), expect: {field: 'DataPrimaSegnalazione', code: 'DATE_IN_FUTURE', severity: 'error'}},
    {name: 'referral before birth', change: (r) => ({...r, AnnoNascita: '2020', FasciaEtaBeneficiario: '3', DataPrimaSegnalazione: '05/2018'}), expect: {field: 'DataPrimaSegnalazione', code: 'DATE_BEFORE_BIRTH', severity: 'error'}},
    {name: 'age band far from the year of birth', change: (r) => ({...r, AnnoNascita: '2010', DataPrimaSegnalazione: '05/2020', FasciaEtaBeneficiario: '1'}), expect: {field: 'FasciaEtaBeneficiario', code: 'AGE_BAND_MISMATCH', severity: 'warning'}},
    {name: 'ISEE household of ten', change: (r) => ({...r, NumeroComponentiISEE: '10'}), expect: {field: 'NumeroComponentiISEE', code: 'INVALID_INTEGER', severity: 'error'}},
    {name: 'no prestazione', change: (r) => ({...r, Prestazioni: ''}), expect: {field: 'Prestazioni', code: 'REQUIRED', severity: 'error'}},
    {name: 'no family member', change: (r) => ({...r, ComposizioneFamiglia: ''}), expect: {field: 'ComposizioneFamiglia', code: 'REQUIRED', severity: 'error'}},
    {name: 'unknown family code', change: (r) => ({...r, ComposizioneFamiglia: '1|7'}), expect: {field: 'ComposizioneFamiglia', code: 'NOT_IN_LIST', severity: 'error'}},
    {name: 'month/year not MM/YYYY', change: (r) => ({...r, DataPrimaSegnalazione: '2024-03'}), expect: {field: 'DataPrimaSegnalazione', code: 'INVALID_MONTH_YEAR', severity: 'error'}},
    {name: 'Italian residence without region', change: (r) => ({...r, CodiceRegioneResidenza: ''}), expect: {field: 'CodiceRegioneResidenza', code: 'RESIDENCE_ITALY_INCOMPLETE', severity: 'error'}},
    {name: 'ISTAT country code for a parent', change: (r) => ({...r, CodiceCittadinanzaMadre: '999'}), expect: {field: 'CodiceCittadinanzaMadre', code: 'CITIZENSHIP_NOT_ISO', severity: 'error'}},
  ]

  for (const d of DEFECTS) {
    it(`reports ${d.expect.code} on ${d.expect.field}: ${d.name}`, () => {
      const file = join(dir, `defect-${DEFECTS.indexOf(d)}.csv`)
      writeCsv(file, [rows[1], d.change({...base, IDBeneficiario: base.IDBeneficiario === 'X' ? 'Y' : `${base.IDBeneficiario}-D`}), rows[2]], {headers: SINBA_HEADERS})
      if (d.expect.field === 'IDBeneficiario') writeCsv(file, [rows[1], d.change(base), rows[2]], {headers: SINBA_HEADERS})
      const r = run(['validate', file, '--flow', 'sinba', '--json'], {env})
      const findings = r.json().findings.map((f: {row: number; field: string; code: string; severity: string}) => ({row: f.row, field: f.field, code: f.code, severity: f.severity}))
      assert.deepEqual(findings, [{row: 3, ...d.expect}])
      assert.equal(r.code, d.expect.severity === 'error' ? 2 : 0)
    })
  }

  it('takes identifiers of up to 20 characters, accents included, and still finds a repeated one', () => {
    const file = join(dir, 'long-ids.csv')
    const a = {...rows[1], IDBeneficiario: 'Città-2026-00001'}
    const b = {...rows[2], IDBeneficiario: 'SCHEDA-MINORE-000002'}
    writeCsv(file, [a, b, {...a}], {headers: SINBA_HEADERS})
    const doc = run(['validate', file, '--flow', 'sinba', '--json'], {env}).json()
    assert.deepEqual(doc.findings.map((f: {row: number; code: string}) => [f.row, f.code]), [[4, 'DUPLICATE_KEY']])
    assert.equal(doc.valid, 2)
  })

  it('reports the same minor twice', () => {
    const file = join(dir, 'twice.csv')
    writeCsv(file, [rows[1], rows[2], {...rows[1]}], {headers: SINBA_HEADERS})
    const doc = run(['validate', file, '--flow', 'sinba', '--json'], {env}).json()
    assert.deepEqual(
      doc.findings.map((f: {row: number; field: string; code: string}) => [f.row, f.field, f.code]),
      [[4, 'IDBeneficiario', 'DUPLICATE_KEY']],
    )
    assert.match(doc.findings[0].message, /riga 2/)
  })

  after(() => rmSync(dir, {recursive: true, force: true}))
})
