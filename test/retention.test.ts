import assert from 'node:assert/strict'
import {existsSync, readFileSync, rmSync, statSync} from 'node:fs'
import {join} from 'node:path'

import Database from 'better-sqlite3'

import {run, tempDir, userEnv} from './support/cli.js'
import {psRows, writeCsv, type PsRow} from './support/ps-data.js'

/**
 * DESIGN §13 as the ente's DPO and a cron job see it: a submission gets its esiti, a year later
 * `purge` reduces it, and the database file no longer holds anyone's codice fiscale, name or the
 * XML sent — while status, re-exports and the audit trail still work.
 */

describe('purge and audit: personal data goes, tracking and the trail stay', function () {
  this.timeout(300_000)
  const dir = tempDir()
  const env = userEnv(join(dir, 'ente'))
  const file = join(dir, 'export.csv')
  const rows: PsRow[] = [...psRows(41, 12)]
  let submission: string
  let flussi: string[]

  /** Every file of the store (WAL and shared memory included), as bytes. */
  const storeBytes = (): Buffer => Buffer.concat(['', '-wal', '-shm'].map((s) => `${env.CASELLARIO_STORE}${s}`).filter(existsSync).map((p) => readFileSync(p)))
  const personalData = (bytes: Buffer): string[] => {
    const found: string[] = []
    for (const r of rows) {
      for (const value of [r.CodiceFiscale, r.Cognome, r.Nome]) {
        // a name as typed and as the XML writer escapes it
        for (const form of new Set([value, value.replaceAll("'", '&apos;')])) if (form.length >= 4 && bytes.includes(form)) found.push(form === r.CodiceFiscale ? 'a codice fiscale' : `a name (${form.length} chars)`)
      }
    }
    for (const tag of ['<Beneficiario', '<Flusso', 'PrestazioniSociali']) if (bytes.includes(tag)) found.push(tag)
    return found
  }

  before(() => {
    writeCsv(file, rows)
    const r = run(['submit', file, '--endpoint', 'sandbox', '--wait', '60s', '--json'], {env})
    assert.equal(r.code, 0, r.stdout.slice(0, 1000) + r.stderr)
    const doc = r.json()
    assert.equal(doc.states.accepted, 12)
    submission = doc.submission
    const db = new Database(env.CASELLARIO_STORE, {readonly: true})
    flussi = db.prepare('SELECT id_flusso FROM flussi ORDER BY id_flusso').pluck().all() as string[]
    db.close()
    assert.ok(personalData(storeBytes()).length > 0, 'before the purge the store holds what was sent')
  })
  after(() => rmSync(dir, {recursive: true, force: true}))

  it('counts what it would reduce with --dry-run, and changes nothing', () => {
    const before = storeBytes()
    const r = run(['purge', '--older-than', '0d', '--dry-run', '--json'], {env})
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual({flussi: r.json().flussi, records: r.json().records, dry_run: r.json().dry_run}, {flussi: 12, records: 12, dry_run: true})
    assert.equal(personalData(storeBytes()).length, personalData(before).length)
  })

  it('keeps everything younger than the retention period (13 months by default)', () => {
    const r = run(['purge', '--json'], {env})
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.json().older_than, '13m')
    assert.equal(r.json().flussi, 0)
    assert.ok(personalData(storeBytes()).length > 0)
  })

  it('--older-than 0d leaves no codice fiscale, name or XML of the purged flussi in the database file', () => {
    const r = run(['purge', '--older-than', '0d', '--json'], {env})
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.json().flussi, 12)
    assert.equal(r.json().records, 12)
    assert.equal(r.json().checkpointed, true)
    assert.deepEqual(personalData(storeBytes()), [])
    assert.equal(statSync(env.CASELLARIO_STORE).mode & 0o777, 0o600)
    // the key that keeps purged identities recognisable lives outside the store, private
    assert.equal(statSync(join(env.XDG_CONFIG_HOME, 'casellario', 'identity.key')).mode & 0o777, 0o600)
    // a second run finds nothing left to do
    assert.equal(run(['purge', '--older-than', '0d', '--json'], {env}).json().flussi, 0)
  })

  it('still lists the submission with its esiti in status', () => {
    const r = run(['status', '--json'], {env})
    assert.equal(r.code, 0, r.stderr)
    const s = r.json().submissions.find((x: {submission: string}) => x.submission === submission)
    assert.ok(s, 'the submission is still listed')
    assert.deepEqual(s.states, {accepted: 12})
    const one = run(['status', flussi[0], '--json'], {env}).json()
    assert.equal(one.esito, 'OK')
  })

  it('recognises the same export as already submitted: nothing is sent', () => {
    const r = run(['submit', file, '--endpoint', 'sandbox', '--json'], {env})
    assert.equal(r.code, 0, r.stdout.slice(0, 1000) + r.stderr)
    const doc = r.json()
    assert.equal(doc.already_submitted, true)
    assert.equal(doc.plan.unchanged, 12)
    assert.equal(doc.plan.insert + doc.plan.replace, 0)
    assert.equal(doc.flussi, 0)
    assert.equal(doc.sent, 0)
  })

  it('refuses to change or cancel a purged prestazione, saying why and that the INPS portal can', () => {
    const changed = rows.map((r, i) => (i === 0 ? {...r, DenominazionePrestazione: `${r.DenominazionePrestazione} - rettifica`} : r))
    const corrected = join(dir, 'rettifica.csv')
    writeCsv(corrected, changed)
    const r = run(['submit', corrected, '--endpoint', 'sandbox', '--json'], {env})
    assert.equal(r.code, 2, r.stdout.slice(0, 1000))
    const doc = r.json()
    const finding = doc.findings.find((f: {code: string}) => f.code === 'PURGED_NOT_CANCELLABLE')
    assert.equal(finding.row, 2)
    assert.match(finding.message, /purge.*portale INPS/s)
    assert.equal(doc.flussi, 0, 'nothing sent for the purged row')
    assert.equal(doc.plan.unchanged, 11)

    const first = rows[0]
    const cancel = run(
      [
        'cancel', '--codice-fiscale', first.CodiceFiscale, '--codice-prestazione', first.CodicePrestazione, '--protocollo-domanda', first.ProtocolloDomanda,
        ...(first.DataInizioPrestazione ? ['--data-inizio', first.DataInizioPrestazione] : ['--data-erogazione', first.DataErogazionePrestazione]), '--endpoint', 'sandbox', '--json',
      ],
      {env},
    )
    assert.equal(cancel.code, 1, cancel.stdout)
    assert.equal(cancel.json().error.code, 'PURGED_NOT_CANCELLABLE')
    assert.match(cancel.json().error.message, /portale INPS/)
    assert.ok(!cancel.stdout.includes(first.CodiceFiscale), 'the codice fiscale is not repeated back')
  })

  it('audit shows every transition of every flusso — who, when, which command and source file — and no beneficiary data', () => {
    const out = join(dir, 'audit.json')
    const r = run(['audit', '--since', '2000-01-01', '--out', out, '--json'], {env})
    assert.equal(r.code, 0, r.stderr)
    assert.equal(statSync(out).mode & 0o777, 0o600)
    const text = readFileSync(out, 'utf8')
    assert.deepEqual(personalData(Buffer.from(text)), [])
    const {events} = JSON.parse(text) as {events: Array<Record<string, string | null>>}
    assert.equal(r.json().events, events.length)
    const sha = r.json() && events.find((e) => e.transizione === 'submission')!.sha256_origine
    for (const id of flussi) {
      const trail = events.filter((e) => e.id_flusso === id)
      assert.deepEqual(
        trail.map((e) => e.transizione),
        ['built', 'sending', 'sent', 'accepted', 'purged'],
        id,
      )
      for (const e of trail) {
        assert.equal(e.operatore, env.CASELLARIO_CF_OPERATORE)
        assert.equal(e.ente, 'H501')
        assert.equal(e.invio, submission)
        assert.equal(e.file_origine, 'export.csv')
        assert.equal(e.sha256_origine, sha)
        assert.match(e.quando!, /^\d{4}-\d{2}-\d{2}T/)
      }
      assert.deepEqual([...new Set(trail.map((e) => e.comando))], ['submit', 'purge'])
    }
    const csv = join(dir, 'audit.csv')
    assert.equal(run(['audit', '--since', '2000-01-01', '--ente', 'H501', '--out', csv], {env}).code, 0)
    assert.match(readFileSync(csv, 'utf8'), /^\uFEFFid;quando;operatore;comando;ente;invio;id_flusso;transizione;file_origine;sha256_origine;dettaglio\r\n/)
    assert.equal(run(['audit', '--since', '2000-01-01', '--ente', 'Z999', '--out', csv, '--json'], {env}).json().events, 0)
  })

  it('keeps the event log append-only', () => {
    const db = new Database(env.CASELLARIO_STORE)
    try {
      assert.throws(() => db.prepare("UPDATE events SET event = 'x'").run(), /append-only/)
      assert.throws(() => db.prepare('DELETE FROM events').run(), /append-only/)
    } finally {
      db.close()
    }
  })
})
