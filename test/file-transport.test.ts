import assert from 'node:assert/strict'
import {readdirSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

// jszip comes with exceljs (a dev-time writer of fixtures); the product reads zips with its own reader
import JSZip from 'jszip'

import {run, tempDir, userEnv, xmllint} from './support/cli.js'
import {psRows, writeCsv} from './support/ps-data.js'
import {makePki, mustOpenssl, PASSPHRASE} from './support/pki.js'

/**
 * The file transport (DESIGN §8.3): flussi for the INPS web portal, zipped and signed, tracked as
 * `exported` until the operator records what the portal said.
 */
describe('submit --transport file: signed zips for the INPS portal, outcome recorded by the operator', function () {
  this.timeout(180_000)
  const dir = tempDir()
  const pki = makePki()
  const env = userEnv(join(dir, 'user'), {CASELLARIO_P12: pki.p12.modern, CASELLARIO_P12_PASSPHRASE: PASSPHRASE})
  const out = join(dir, 'da-caricare')
  const file = join(dir, 'export.csv')
  let doc: any

  before(() => {
    writeCsv(file, psRows(3, 400))
    const r = run(['submit', file, '--transport', 'file', '--out', out, '--max-size', '64', '--json'], {env})
    assert.equal(r.code, 0, r.stderr)
    doc = r.json()
  })

  it('writes one signed zip per upload flusso, 0600, and nothing else: no plain XML, no unsigned zip', () => {
    assert.ok(doc.flussi > 1, 'the 64 KB cap splits the export')
    assert.equal(doc.exported.length, doc.flussi)
    const names = readdirSync(out).sort()
    assert.deepEqual(names.filter((n) => !n.endsWith('.zip.p7m')), [])
    assert.equal(names.filter((n) => n.endsWith('.zip.p7m')).length, doc.flussi)
    for (const e of doc.exported) assert.equal(statSync(e.signed).mode & 0o777, 0o600)
  })

  it('each .p7m verifies with openssl against the ente CA, and holds the zip whose XML passes the official XSD', async () => {
    for (const e of doc.exported) {
      const zip = join(dir, 'verified.zip')
      mustOpenssl(dir, ['cms', '-verify', '-binary', '-inform', 'DER', '-in', e.signed, '-CAfile', join(pki.dir, 'ca.pem'), '-out', zip])
      const archive = await JSZip.loadAsync(readFileSync(zip))
      assert.deepEqual(Object.keys(archive.files), [`${e.id_flusso}.xml`])
      const xml = join(dir, `${e.id_flusso}.xml`)
      writeFileSync(xml, await archive.file(`${e.id_flusso}.xml`)!.async('nodebuffer'))
      const lint = xmllint([xml])
      assert.ok(lint.ok, lint.output)
    }
  })

  it('status shows the flussi as exported until the operator records the portal’s esito', () => {
    const before = run(['status', doc.submission, '--json'], {env}).json()
    assert.deepEqual(before.states, {exported: doc.flussi})
    assert.equal(before.pending, doc.flussi)

    const [first, second] = doc.exported.map((e: {id_flusso: string}) => e.id_flusso)
    assert.equal(run(['status', first, '--set-esito', 'OK', '--json'], {env}).json().state, 'accepted')
    const rejected = run(['status', second, '--set-esito', 'RICHIESTA_INVALIDA', '--reason', 'Errore di prova segnalato dal portale', '--json'], {env})
    assert.equal(rejected.code, 4)
    assert.equal(rejected.json().descrizione_esito, 'Errore di prova segnalato dal portale')

    const after = run(['status', doc.submission, '--json'], {env})
    assert.equal(after.code, 4)
    const s = after.json()
    assert.equal(s.states.accepted, 1)
    assert.equal(s.rejected[0].id_flusso, second)
    const report = join(dir, 'respinte.csv')
    const r = run(['report', doc.submission, '--rejected', report, '--json'], {env})
    assert.equal(r.json().rows, s.rejected[0].rows.length)
  })

  it('a repeated export sends only its changes: cancellations in their own file first, then insertions', () => {
    const own = userEnv(join(dir, 'other-user'), {CASELLARIO_P12: pki.p12.modern, CASELLARIO_P12_PASSPHRASE: PASSPHRASE})
    const folder = join(dir, 'altro-comune')
    const rows = [...psRows(4, 300)]
    const first = join(dir, 'export-1.csv')
    writeCsv(first, rows)
    const sent = run(['submit', first, '--transport', 'file', '--out', folder, '--json'], {env: own}).json()
    // the operator uploads them and records the portal's outcome
    for (const e of sent.exported) assert.equal(run(['status', e.id_flusso, '--set-esito', 'OK'], {env: own}).code, 0)
    const same = run(['submit', first, '--transport', 'file', '--out', folder, '--json'], {env: own}).json()
    assert.deepEqual([same.flussi, same.plan.unchanged], [0, 300])

    // a beneficiary with several prestazioni: change the second one only
    const person = rows.findIndex((r, i) => i > 0 && r.CodiceFiscale === rows[i - 1].CodiceFiscale)
    rows[person] = {...rows[person], DenominazionePrestazione: `${rows[person].DenominazionePrestazione} - rettifica`}
    const changed = join(dir, 'export-2.csv')
    writeCsv(changed, rows)
    const r = run(['submit', changed, '--transport', 'file', '--out', folder, '--json'], {env: own})
    assert.equal(r.code, 0, r.stderr)
    const doc = r.json()
    assert.deepEqual([doc.plan.replace, doc.plan.unchanged], [1, 299])
    assert.equal(doc.flussi, 2)
    const [cancellation, insertion] = doc.exported.map((e: {id_flusso: string}) => e.id_flusso).sort()
    const detail = (id: string): any => run(['status', id, '--json'], {env: own}).json()
    assert.deepEqual(detail(cancellation).rows, [person + 2])
    assert.deepEqual(detail(insertion).rows, [person + 2])
  })

  it('says so when --set-esito names a flusso the store does not have', () => {
    const r = run(['status', 'H501.PS.20260101.0000001', '--set-esito', 'OK', '--json'], {env})
    assert.equal(r.code, 1)
    assert.equal(r.json().error.code, 'NOT_FOUND')
  })
})
