import assert from 'node:assert/strict'
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {parse as parseYaml} from 'yaml'

import {allPrestazioni} from '../src/tables/index.js'
import {REFERENCE, run, tempDir, userEnv} from './support/cli.js'
import {psRows, writeCsv} from './support/ps-data.js'
import {SINBA_HEADERS, sinbaRows} from './support/sinba-data.js'

/**
 * The codes INPS itself uses are known, codes inside lists are checked against the same table,
 * and an ente with portal access completes the table in one command.
 */

/** Every prestazione code in the decoded example flussi of INPS's WaaS OpenAPI. */
function openApiExampleCodes(): string[] {
  const doc = parseYaml(readFileSync(join(REFERENCE, 'inps', 'waas-api-comuni.yaml'), 'utf8'))
  const entries = doc.paths['/flussi'].get.responses['200'].content['application/json'].examples.RispostaConFlussi.value.elenco_flussi
  const codes = new Set<string>()
  for (const e of entries) {
    const xml = Buffer.from(e.flusso, 'base64').toString('utf8')
    for (const m of xml.matchAll(/CodicePrestazione(?:="|>)([A-Z0-9.]+)/g)) codes.add(m[1])
  }
  return [...codes].sort()
}

describe('reference tables: the codes INPS uses, lists checked, the portal table and the comuni imported', function () {
  this.timeout(60_000)
  const dir = tempDir()
  const env = userEnv(join(dir, 'user'))

  it('every code is cited; inferred codes are marked; 61 codes at least', () => {
    const all = allPrestazioni()
    assert.ok(all.length >= 61, String(all.length))
    for (const p of all) assert.ok(p.source.length > 10, p.code)
    const inferred = all.filter((p) => p.inferred).map((p) => p.code)
    assert.ok(inferred.includes('A1.21') && inferred.includes('A1.04.01') && inferred.includes('A2.29'), inferred.join(','))
    assert.ok(!inferred.includes('A2.17'), 'A2.17 is in INPS’s own example: attested')
  })

  it('A2.17, A2.18 and every code of the OpenAPI example flussi validate without warnings, in the code column and in SINA lists', () => {
    const codes = openApiExampleCodes()
    assert.deepEqual(codes, ['A1.02', 'A1.09', 'A1.16', 'A2.06', 'A2.16', 'A2.17', 'A2.18'])
    const base = [...psRows(201, 40)].filter((r) => r.SINA_Mobilita !== '' && r.PresaCarico === '1')
    const rows = codes.map((code, i) => ({...base[i % base.length], CodicePrestazione: code, SINA_NecessitaInterventiSociali: codes.join('|'), ProtocolloDomanda: `ESEMPIO/${i}`}))
    const file = join(dir, 'codici-esempio.csv')
    writeCsv(file, rows)
    const doc = run(['validate', file, '--json'], {env}).json()
    assert.deepEqual(doc.findings, [])
    assert.equal(doc.warnings, 0)
  })

  it('QQ.99 in SINBA Prestazioni is a PRESTAZIONE_UNKNOWN warning at its row; known codes are not', () => {
    const rows = [...sinbaRows(7, 3)]
    rows[1] = {...rows[1], Prestazioni: 'A2.07|QQ.99'}
    const file = join(dir, 'minori.csv')
    writeFileSync(file, [SINBA_HEADERS.join(','), ...rows.map((r) => SINBA_HEADERS.map((h) => r[h] ?? '').join(','))].join('\n') + '\n')
    const doc = run(['validate', file, '--flow', 'sinba', '--json'], {env}).json()
    const unknown = doc.findings.filter((f: {code: string}) => f.code === 'PRESTAZIONE_UNKNOWN')
    assert.deepEqual(
      unknown.map((f: {row: number; field: string; severity: string}) => [f.row, f.field, f.severity]),
      [[3, 'Prestazioni', 'warning']],
    )
    assert.match(unknown[0].message, /"QQ\.99"/)
  })

  it('tables update --from reads the portal’s export (Italian headers under a title); tables status counts codes by source', () => {
    const file = join(dir, 'tabella-prestazioni.csv')
    writeFileSync(
      file,
      '\uFEFFTabella prestazioni sociali - estrazione del portale;;\n;;\nCodice prestazione;Descrizione;Flag PSA\nA2.30;Nuova categoria introdotta da INPS per prova;S\nA1.23;Descrizione fornita dal portale per prova;N\nnon-un-codice;x;N\n',
    )
    const r = run(['tables', 'update', '--from', file, '--json'], {env})
    assert.equal(r.code, 0, r.stderr)
    const doc = r.json()
    assert.deepEqual([doc.added, doc.updated, doc.rejected.map((x: {row: number}) => x.row)], [['A2.30'], ['A1.23'], [6]])
    const status = run(['tables', 'status', '--json'], {env}).json()
    const prestazioni = status.tables.find((t: {name: string}) => t.name === 'prestazioni')
    const builtin = allPrestazioni()
    assert.deepEqual(prestazioni.bySource, {
      attested: builtin.filter((p) => !p.inferred).length - 1,
      inferred: builtin.filter((p) => p.inferred).length,
      user: 2,
    })
    const text = run(['tables', 'status'], {env}).stdout
    assert.match(text, /da fonti pubbliche citate, \d+ dedotti \(marcati come tali\), 2 dal file dell'ente/)
    // the new code is known from now on
    const one = join(dir, 'nuovo-codice.csv')
    writeCsv(one, [{...[...psRows(202, 1)][0], CodicePrestazione: 'A2.30'}])
    assert.ok(!run(['validate', one, '--json'], {env}).json().findings.some((f: {code: string}) => f.code === 'PRESTAZIONE_UNKNOWN'))
  })

  it('tables update --comuni reads ISTAT’s published list (Windows-1252, ;): a comune newer than the shipped table is known from then on', () => {
    const row = {...[...psRows(203, 1)][0], CodiceRegione: '08', CodiceComune: '099901'}
    const csv = join(dir, 'comune-nuovo.csv')
    writeCsv(csv, [row])
    const before = run(['validate', csv, '--json'], {env}).json()
    assert.deepEqual(before.findings.map((f: {code: string}) => f.code), ['COMUNE_UNKNOWN'])
    const istat = join(dir, 'Elenco-comuni-italiani.csv')
    const header = 'Codice Regione;Codice dell\'Unità territoriale sovracomunale;Codice Provincia (Storico)(1);Progressivo del Comune (2);Codice Comune formato alfanumerico;Denominazione (Italiana e straniera);Denominazione in italiano;Sigla automobilistica;Codice Catastale del comune'
    writeFileSync(istat, Buffer.from(`${header}\r\n08;099;099;901;099901;Comune di prova;Comune di prova sull'Adriatico;RN;M901\r\n01;001;001;272;001272;Torino;Torino;TO;L219\r\n`, 'latin1'))
    const r = run(['tables', 'update', '--comuni', istat, '--json'], {env})
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual([r.json().rows, r.json().added], [2, 1])
    const after = run(['validate', csv, '--json'], {env}).json()
    assert.deepEqual(after.findings, [])
    const status = run(['tables', 'status', '--json'], {env}).json().tables.find((t: {name: string}) => t.name === 'comuni')
    assert.equal(status.bySource.user, 1)
  })

  it('tables update --comuni also reads ANPR’s archive (with validity dates), and refuses a file that is neither', () => {
    const anpr = readFileSync(join(REFERENCE, 'data', 'anpr-archivio-comuni.csv'), 'utf8').split('\n').slice(0, 101).join('\n')
    const file = join(dir, 'ANPR_archivio_comuni.csv')
    writeFileSync(file, anpr)
    const r = run(['tables', 'update', '--comuni', file, '--json'], {env: userEnv(join(dir, 'anpr'))})
    assert.equal(r.code, 0, r.stderr)
    // Abbazia (Opatija, row 19) is in region "EX": a comune now abroad, not a residence INPS codes
    assert.deepEqual([r.json().rows, r.json().rejected.map((x: {row: number}) => x.row)], [99, [19]])
    const notComuni = join(dir, 'non-comuni.csv')
    writeFileSync(notComuni, 'Codice prestazione;Descrizione\nA1.04;Contributi economici\n')
    const wrong = run(['tables', 'update', '--comuni', notComuni, '--json'], {env})
    assert.equal(wrong.code, 1)
    assert.equal(wrong.json().error.code, 'COMUNI_COLUMNS_MISSING')
  })
})
