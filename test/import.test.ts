import assert from 'node:assert/strict'
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import Database from 'better-sqlite3'
import {parse as parseYaml} from 'yaml'

import {FLOWS} from '../src/flows/index.js'
import {readFlusso} from '../src/xml/read.js'
import {REFERENCE, run, tempDir, userEnv, xmlFiles} from './support/cli.js'
import {makePki, PASSPHRASE} from './support/pki.js'
import {psRows, writeCsv, type PsRow} from './support/ps-data.js'

/**
 * Adopting casellario mid-stream (issue 16): prestazioni sent before — by the portal, SISO or
 * another tool — are imported, and the next export is compared with them like with anything
 * casellario sent itself.
 */

const PS = FLOWS.ps
const TIPO_OPERAZIONE = PS.field('TipoOperazione').index

/** The decoded example flussi of INPS's WaaS OpenAPI (PS and SINBA), as another tool sent them. */
function openApiExamples(): Array<{tipo: string; xml: Buffer}> {
  const doc = parseYaml(readFileSync(join(REFERENCE, 'inps', 'waas-api-comuni.yaml'), 'utf8'))
  const entries = doc.paths['/flussi'].get.responses['200'].content['application/json'].examples.RispostaConFlussi.value.elenco_flussi
  return entries.map((e: {tipo: string; flusso: string}) => ({tipo: e.tipo, xml: Buffer.from(e.flusso, 'base64')}))
}

describe('import: flussi sent before casellario become the base of the next submit', function () {
  this.timeout(240_000)
  const dir = tempDir()
  const pki = makePki()
  const env = userEnv(join(dir, 'user'), {CASELLARIO_P12: pki.p12.modern, CASELLARIO_P12_PASSPHRASE: PASSPHRASE})
  const rows = [...psRows(181, 40)]
  const file = join(dir, 'export.csv')
  const otherTool = join(dir, 'altro-programma')

  before(() => {
    writeCsv(file, rows)
    // "another tool": build into a store of its own, so the user's store knows nothing of these flussi
    const r = run(['build', file, '--out', otherTool, '--max-size', '16', '--json', '--store', join(dir, 'altro.db')], {env})
    assert.equal(r.code, 0, r.stderr)
  })

  it('the OpenAPI example flussi (PS upload with 3 prestazioni, SINBA) are imported as accepted under the ente they name', () => {
    const paths = openApiExamples().map((e, i) => {
      const path = join(dir, `esempio-${i}.xml`)
      writeFileSync(path, e.xml)
      return path
    })
    const store = join(dir, 'esempi.db')
    const r = run(['import', ...paths, '--store', store, '--json'], {env})
    assert.equal(r.code, 0, r.stdout + r.stderr)
    const doc = r.json()
    assert.deepEqual(
      doc.flussi.map((f: any) => [f.id_flusso, f.flow, f.ente, f.status, f.state, f.prestazioni]),
      [
        ['H501.PS.20210520.0000002', 'ps', 'H501', 'imported', 'accepted', 3],
        ['H501.SINBA.20210520.00000004', 'sinba', 'H501', 'imported', 'accepted', 1],
      ],
    )
    const db = new Database(store, {readonly: true})
    const kept = db.prepare(`SELECT xml FROM flussi WHERE id_flusso = 'H501.PS.20210520.0000002'`).pluck().get() as Buffer
    const next = db.prepare(`SELECT last FROM progressives WHERE ente = 'H501' AND flow = 'PS' AND day = '20210520'`).pluck().get()
    db.close()
    assert.deepEqual(kept, readFileSync(paths[0]), 'the exact bytes as sent')
    assert.equal(next, 2, 'casellario never names another flusso H501.PS.20210520.0000002')
    const again = run(['import', ...paths, '--store', store, '--json'], {env}).json()
    assert.deepEqual([again.imported, again.unchanged, again.refused], [0, 2, 0])
  })

  it('a flusso that fails the XSD-level checks is refused, with the reason, and nothing of it is kept', () => {
    const bad = join(dir, 'rotto.xml')
    writeFileSync(bad, openApiExamples()[0].xml.toString('utf8').replace('Genere="2"', 'Genere="9"'))
    const store = join(dir, 'rotto.db')
    const r = run(['import', bad, '--store', store, '--json'], {env})
    assert.equal(r.code, 2)
    const [f] = r.json().flussi
    assert.equal(f.status, 'refused')
    assert.equal(f.code, 'IMPORT_NOT_CONFORMING')
    assert.match(f.reason, /Genere \(NOT_IN_LIST\)/)
    assert.equal(run(['status', '--json', '--store', store], {env}).json().submissions.length, 0)
  })

  it('reads a signed .p7m of a flusso and the file transport’s signed zips; a .p7m whose content was altered is refused', () => {
    const [xml] = xmlFiles(otherTool)
    const signed = run(['sign', xml, '--json'], {env})
    assert.equal(signed.code, 0, signed.stderr)
    const p7m = `${xml}.p7m`
    const store = join(dir, 'firmati.db')
    const one = run(['import', p7m, '--store', store, '--json'], {env}).json()
    assert.deepEqual([one.imported, one.flussi[0].id_flusso], [1, xml.split('/').pop()!.replace(/\.xml$/, '')])
    // the same flusso, plain: already there
    assert.equal(run(['import', xml, '--store', store, '--json'], {env}).json().unchanged, 1)
    const altered = Buffer.from(readFileSync(p7m))
    const at = altered.indexOf('CodiceFiscale="')
    altered[at + 15] = altered[at + 15] === 0x41 ? 0x42 : 0x41
    const bad = join(dir, 'alterato.xml.p7m')
    writeFileSync(bad, altered)
    const refused = run(['import', bad, '--store', store, '--json'], {env})
    assert.equal(refused.code, 2)
    assert.equal(refused.json().flussi[0].code, 'IMPORT_SIGNATURE_INVALID')

    const portal = join(dir, 'portale-altro')
    const sent = run(['submit', file, '--transport', 'file', '--out', portal, '--json', '--store', join(dir, 'portale.db')], {env})
    assert.equal(sent.code, 0, sent.stderr)
    const zips = sent.json().exported.map((e: {signed: string}) => e.signed)
    const fromZips = run(['import', ...zips, '--store', join(dir, 'da-zip.db'), '--json'], {env}).json()
    assert.equal(fromZips.prestazioni, 40)
    assert.equal(fromZips.refused, 0)
  })

  it('takes the portal’s esiti from a spreadsheet (--esiti): refused flussi are recorded as rejected, accepted ones keep their acquisition code', () => {
    const files = xmlFiles(otherTool).slice(0, 2)
    const ids = files.map((f) => f.split('/').pop()!.replace(/\.xml$/, ''))
    const esiti = join(dir, 'esiti-portale.csv')
    writeFileSync(esiti, `id_flusso;codice_esito;id_acquisizione_siuss;descrizione_esito\n${ids[0]};OK;9001;\n${ids[1]};RICHIESTA_INVALIDA;;Flusso scartato dal portale\n`)
    const store = join(dir, 'esiti.db')
    const doc = run(['import', ...files, '--esiti', esiti, '--store', store, '--json'], {env}).json()
    assert.deepEqual(doc.flussi.map((f: {state: string}) => f.state), ['accepted', 'rejected'])
    const first = run(['status', ids[0], '--store', store, '--json'], {env}).json()
    assert.equal(first.id_acquisizione_siuss, '9001')
    const second = run(['status', ids[1], '--store', store, '--json'], {env}).json()
    assert.deepEqual([second.state, second.esito, second.descrizione_esito], ['rejected', 'RICHIESTA_INVALIDA', 'Flusso scartato dal portale'])
  })

  it('--dry-run says what would be imported and leaves the store untouched', () => {
    const r = run(['import', ...xmlFiles(otherTool), '--dry-run', '--json'], {env})
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.json().imported, xmlFiles(otherTool).length)
    // nothing recorded: the store was not even created (status says so), or holds no submission
    const status = run(['status', '--json'], {env})
    if (status.code === 1) assert.equal(status.json().error.code, 'STORE_NOT_FOUND')
    else assert.equal(status.json().submissions.length, 0)
  })

  it('flussi built by another tool, imported; then a changed export sends exactly the C of the imported data and the I of the new one', () => {
    const imported = run(['import', ...xmlFiles(otherTool), '--json'], {env}).json()
    assert.equal(imported.prestazioni, 40)
    assert.equal(imported.refused, 0)
    const again = run(['import', ...xmlFiles(otherTool), '--json'], {env}).json()
    assert.deepEqual([again.imported, again.unchanged], [0, imported.imported], 'importing twice changes nothing')

    // two rows corrected in the management software, the rest as before
    const changed: PsRow[] = rows.map((row, i) => (i === 3 || i === 17 ? {...row, DenominazionePrestazione: `${row.DenominazionePrestazione} - rettifica`} : row))
    const changedFile = join(dir, 'export-rettificato.csv')
    writeCsv(changedFile, changed)
    const r = run(['submit', changedFile, '--transport', 'file', '--out', join(dir, 'portale'), '--json'], {env})
    assert.equal(r.code, 0, r.stdout.slice(0, 2000) + r.stderr)
    const doc = r.json()
    assert.deepEqual({replace: doc.plan.replace, unchanged: doc.plan.unchanged, insert: doc.plan.insert}, {replace: 2, unchanged: 38, insert: 0})

    const db = new Database(env.CASELLARIO_STORE, {readonly: true})
    const pairs = db
      .prepare(
        `SELECT c.xml AS cancellation, r.xml AS imported FROM records r JOIN records c ON c.id_flusso = r.cancelled_by AND c.identity = r.identity
         WHERE r.cancelled_by IN (SELECT id_flusso FROM flussi WHERE submission_id = ?)`,
      )
      .all(doc.submission) as Array<{cancellation: Buffer; imported: Buffer}>
    const operations = db.prepare('SELECT operation, sum(prestazioni) AS n FROM flussi WHERE submission_id = ? GROUP BY operation').all(doc.submission)
    db.close()
    assert.deepEqual(operations, [{operation: 'C', n: 2}, {operation: 'I', n: 2}])
    assert.equal(pairs.length, 2)
    for (const {cancellation, imported: held} of pairs) {
      const c = readFlusso(Buffer.from(`<Flusso xmlns="http://inps.it/Casellario">${cancellation}</Beneficiario></Flusso>`), PS).records[0]
      const h = readFlusso(Buffer.from(`<Flusso xmlns="http://inps.it/Casellario">${held}</Beneficiario></Flusso>`), PS).records[0]
      assert.equal(c[TIPO_OPERAZIONE], 'C')
      assert.deepEqual({...c, [TIPO_OPERAZIONE]: ''}, {...h, [TIPO_OPERAZIONE]: ''}, 'the cancellation carries the imported data')
      assert.equal(cancellation.toString('utf8').replace(/ TipoOperazione="C"/, ''), held.toString('utf8').replace(/ TipoOperazione="[IC]"/, ''), 'byte for byte')
    }
  })
})
