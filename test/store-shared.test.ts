import assert from 'node:assert/strict'
import {chmodSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {displayLocation, isPostgresLocation, passwordFromPassfile, pgConfig} from '../src/store/postgres-config.js'
import {Store} from '../src/store/sqlite.js'
import {run, tempDir, userEnv} from './support/cli.js'
import {STORE_BACKENDS, storeFor} from './support/stores.js'

/**
 * One store, several runners (DESIGN §9): progressives and undelivered flussi are handed out by the
 * store itself, so two runners never take the same. Each runner here is a Store of its own, as a
 * process on another machine would have.
 */

for (const backend of STORE_BACKENDS)
  describe(`two runners on one store take undelivered flussi by claim and lease (${backend})`, function () {
    this.timeout(60_000)
    const lease = process.env.CASELLARIO_CLAIM_LEASE_MS
    let location: string
    let a: Store
    let b: Store

    before(() => {
      location = storeFor(backend, tempDir())
      a = Store.open(location)
      b = Store.open(location)
      a.transaction(() => {
        a.insertSubmission({id: 's1', flow: 'ps', ente: 'H501', codiceEnte: 'H501', transport: 'push', endpoint: 'https://hub.example', rows: 3, valid: 3, errors: 0})
        for (const n of [1, 2, 3]) {
          a.insertFlusso({idFlusso: `H501.PS.20261201.${n}`, submissionId: 's1', ente: 'H501', flow: 'ps', packaging: 'cooperazione', state: 'built', xml: Buffer.from(`x${n}`), sha256: '-', tsFlusso: n, beneficiari: 1, prestazioni: 1, rows: [n]})
        }
      })
    })
    after(() => {
      a?.close()
      b?.close()
      if (lease === undefined) delete process.env.CASELLARIO_CLAIM_LEASE_MS
      else process.env.CASELLARIO_CLAIM_LEASE_MS = lease
    })

    it('gives distinct progressives to each runner', () => {
      const taken = [a.reserveProgressives('H501', 'PS', '20261201', 5), b.reserveProgressives('H501', 'PS', '20261201', 3), a.reserveProgressives('H501', 'PS', '20261201', 1)]
      assert.deepEqual(taken, [1, 6, 9])
    })

    it('never hands a claimed flusso to another runner while the lease runs, and hands it over once it has run out', async () => {
      process.env.CASELLARIO_CLAIM_LEASE_MS = '1500'
      const first = a.flussiToSend('s1', 'I', '', 2)
      assert.deepEqual(first.map((f) => f.idFlusso), ['H501.PS.20261201.1', 'H501.PS.20261201.2'])
      assert.deepEqual(b.flussiToSend('s1', 'I', '', 100).map((f) => f.idFlusso), ['H501.PS.20261201.3'], 'only what nobody holds')
      const c = Store.open(location)
      assert.deepEqual(c.flussiToSend('s1', 'I', '', 100), [], 'nothing left for a third runner')
      assert.deepEqual(c.undeliveredSubmissions('push', 'https://hub.example'), [], 'nor a submission to resume')
      c.close()
      a.markSending(first.map((f) => f.idFlusso))
      assert.deepEqual(b.undeliveredSubmissions('push', 'https://hub.example').map((s) => s.id), ['s1'], 'a runner resumes what it holds')
      // the runner holding 1 and 2 dies: after the lease, another runner takes them over
      await new Promise((r) => setTimeout(r, 1700))
      assert.deepEqual(
        b.flussiToSend('s1', 'I', '', 100).map((f) => [f.idFlusso, f.state]),
        [
          ['H501.PS.20261201.1', 'sending'],
          ['H501.PS.20261201.2', 'sending'],
          ['H501.PS.20261201.3', 'built'],
        ],
      )
      assert.deepEqual(a.flussiToSend('s1', 'I', '', 100), [], 'the first runner, back, finds them taken')
      b.markReceived(['1', '2', '3'].map((n) => ({idFlusso: `H501.PS.20261201.${n}`, stato: 'RICEVUTO'})))
      assert.deepEqual(a.undeliveredSubmissions('push', 'https://hub.example'), [])
    })
  })

for (const backend of STORE_BACKENDS)
  describe(`retention on the store: purge keeps tracking, the audit trail stays append-only (${backend})`, function () {
    this.timeout(60_000)

    it('reduces an accepted flusso to keyed identities, finds it again by them, and refuses to delete events', () => {
      const store = Store.open(storeFor(backend, tempDir()))
      const identity = 'a'.repeat(64)
      store.transaction(() => {
        store.insertSubmission({id: 's', flow: 'ps', ente: 'H501', codiceEnte: 'H501', transport: 'push', endpoint: 'e', rows: 1, valid: 1, errors: 0})
        store.insertFlusso({
          idFlusso: 'H501.PS.20200101.1', submissionId: 's', ente: 'H501', flow: 'ps', packaging: 'cooperazione', state: 'sent', xml: Buffer.from('x'), sha256: '-', tsFlusso: 1,
          beneficiari: 1, prestazioni: 1, rows: [7],
          details: [{identity, fingerprint: 'b'.repeat(64), op: 'I', period: '2020', header: Buffer.from('<B>'), record: Buffer.from('<R ProtocolloDomanda="X1"/>')}],
        })
      })
      store.applyEsiti([{idFlusso: 'H501.PS.20200101.1', codiceEsito: 'OK', tsAcquisizione: 5}])
      assert.deepEqual(store.identitiesContaining({ente: 'H501', flow: 'ps', transport: 'push', endpoint: 'e'}, [' ProtocolloDomanda="X1"']), [identity])
      assert.equal(store.liveRecord(identity)?.purged, false)
      store.useIdentityKey((hex) => `k${hex.slice(1)}`)
      assert.deepEqual(store.purgeBatch('2999-01-01', undefined, 10), {flussi: 1, records: 1})
      assert.equal(store.compact(tempDir()), true)
      assert.equal(store.liveRecord(identity)?.purged, true)
      assert.deepEqual([...store.rowOutcomes('s')].map((r) => [r.row, r.state]), [[7, 'accepted']])
      assert.deepEqual([...store.auditTrail('2000-01-01')].map((e) => e.event), ['submission', 'sent', 'accepted', 'purged'])
      assert.throws(() => store.db.exec('DELETE FROM events'), /append-only/)
      store.close()
    })
  })

describe('a PostgreSQL store that cannot be reached or entered', function () {
  this.timeout(60_000)
  const env = userEnv(tempDir())

  it('says the server does not answer, exits 3, and never shows the password', () => {
    const r = run(['status', '--json', '--store', 'postgres://siuss:segreta@127.0.0.1:1/casellario'], {env})
    assert.equal(r.code, 3, r.stdout + r.stderr)
    assert.equal(r.json().error.code, 'STORE_UNREACHABLE')
    assert.doesNotMatch(r.stdout + r.stderr, /segreta/)
    assert.match(r.json().error.message, /siuss:\*\*\*@127\.0\.0\.1:1/)
  })

  it('says the database does not exist (exit 1), also with libpq key/value settings', () => {
    const r = run(['status', '--json'], {env: {...env, CASELLARIO_STORE: 'host=127.0.0.1 port=5432 dbname=casellario_nessuno user=postgres password=segreta sslmode=disable'}})
    assert.equal(r.code, 1, r.stdout + r.stderr)
    assert.equal(r.json().error.code, 'STORE_DATABASE_MISSING')
    assert.doesNotMatch(r.stdout + r.stderr, /segreta/)
  })

  it('takes the password from PGPASSWORD, never from the saved configuration', () => {
    // given with its password, the location is saved without it, with a warning saying where it goes
    const r = run(['config', 'set', 'store', 'postgres://siuss:segreta@db.example/casellario', '--json'], {env})
    assert.equal(r.code, 0, r.stdout + r.stderr)
    assert.equal(r.json().value, 'postgres://siuss@db.example/casellario')
    assert.deepEqual(r.json().warnings.map((w: {code: string}) => w.code), ['STORE_PASSWORD_NOT_SAVED'])
    assert.match(r.json().warnings[0].message, /PGPASSWORD/)
    assert.doesNotMatch(r.stdout + r.stderr, /segreta/)
    const kv = run(['config', 'set', 'store', 'host=db.example dbname=casellario user=siuss password=segreta sslmode=require', '--lang', 'en'], {env})
    assert.equal(kv.code, 0, kv.stderr)
    assert.match(kv.stderr, /Warning \[STORE_PASSWORD_NOT_SAVED\]: The database password was not saved .*PGPASSWORD/)
    assert.match(kv.stdout, /store = host=db\.example dbname=casellario user=siuss sslmode=require/)
    assert.doesNotMatch(kv.stdout + kv.stderr + run(['config', 'list', '--json'], {env}).stdout, /segreta/)
    // a password as a query parameter, or with an unencoded @ or space in it: none of it is kept
    for (const [given, saved] of [
      ['postgres://siuss@db.example/casellario?sslmode=require&password=segreta', 'postgres://siuss@db.example/casellario?sslmode=require'],
      ['postgres://siuss:seg@reta@db.example/casellario', 'postgres://siuss@db.example/casellario'],
      ['postgres://siuss:segreta e lunga@db.example/casellario', 'postgres://siuss@db.example/casellario'],
    ]) {
      const set = run(['config', 'set', 'store', given, '--json'], {env})
      assert.equal(set.json().value, saved, given)
      assert.equal(set.json().warnings[0].code, 'STORE_PASSWORD_NOT_SAVED')
      assert.doesNotMatch(set.stdout + set.stderr, /segreta|reta@/)
    }
    assert.equal(run(['config', 'set', 'store', 'password=segreta', '--json'], {env}).json().error.code, 'CONFIG_VALUE_INVALID')
    assert.doesNotMatch(run(['config', 'list'], {env: {...env, CASELLARIO_STORE: 'postgres://siuss:segreta@db.example/casellario'}}).stdout, /segreta/)
  })

  it('refuses a server whose certificate cannot be verified with sslmode=verify-full', () => {
    // the local server speaks no TLS or an unverifiable one: either way, no connection without verification
    const r = run(['status', '--json', '--store', 'postgres://postgres@127.0.0.1:5432/postgres?sslmode=verify-full'], {env})
    assert.equal(r.code, 1, r.stdout + r.stderr)
    assert.match(r.json().error.code, /^STORE_(TLS_FAILED|UNAVAILABLE)$/)
  })
})

describe('a PostgreSQL location read as libpq reads it', () => {
  it('takes a URL or key/value pairs, and fills the gaps from PG* variables', () => {
    assert.ok(isPostgresLocation('postgresql://db/x') && isPostgresLocation('host=db dbname=x') && !isPostgresLocation('./store.db'))
    const url = pgConfig('postgres://siuss@db.example:6432/casellario', {PGPASSWORD: 'dal-env'})
    assert.deepEqual([url.host, url.port, url.user, url.database, url.password, url.ssl], ['db.example', 6432, 'siuss', 'casellario', 'dal-env', false])
    const kv = pgConfig("host=db.example dbname='casel lario' sslmode=require", {PGUSER: 'op', PGPORT: '5433'})
    assert.deepEqual([kv.host, kv.port, kv.user, kv.database], ['db.example', 5433, 'op', 'casel lario'])
    assert.deepEqual(kv.ssl, {rejectUnauthorized: false}, 'require: encrypted, not verified')
    assert.deepEqual(pgConfig('postgres://db/x?sslmode=verify-full', {}).ssl, {rejectUnauthorized: true})
    assert.equal(pgConfig('postgres://db/x', {PGSSLMODE: 'disable'}).ssl, false)
  })

  it('never shows a password, in a URL or in key/value pairs', () => {
    assert.equal(displayLocation('postgres://siuss:segreta@db/x'), 'postgres://siuss:***@db/x')
    assert.equal(displayLocation("host=db password='se greta' dbname=x"), 'host=db password=*** dbname=x')
  })

  it('finds a missing password in the password file (0600), as libpq does', async () => {
    const file = join(tempDir(), 'pgpass')
    writeFileSync(file, 'db.example:5432:casellario:siuss:dal-file\n')
    chmodSync(file, 0o600)
    assert.equal(await passwordFromPassfile(pgConfig('postgres://siuss@db.example/casellario', {}), {PGPASSFILE: file}), 'dal-file')
    assert.equal(await passwordFromPassfile(pgConfig('postgres://altro@db.example/casellario', {}), {PGPASSFILE: file}), undefined)
  })
})

describe('the default store needs no database server', function () {
  this.timeout(60_000)
  it('is a SQLite file in the data folder', () => {
    const dir = tempDir()
    const env = userEnv(dir)
    delete env.CASELLARIO_STORE
    const r = run(['status', '--json'], {env})
    assert.equal(r.code, 0, r.stderr)
    assert.ok(Store.open(join(dir, 'data', 'casellario', 'casellario.db'), {readonly: true}))
  })
})
