import assert from 'node:assert/strict'
import type {ChildProcess} from 'node:child_process'
import {join} from 'node:path'

import Database from 'better-sqlite3'
import type {KeyLike} from 'jose'

import {run, startService, tempDir, userEnv} from './support/cli.js'
import {AUDIENCE, PURPOSE, pdndKey, signVoucher} from './support/pdnd.js'
import {psRows, writeCsv} from './support/ps-data.js'

/**
 * `serve` on a store that has lived for years (600k events in the log) facing what a confused or
 * hostile caller posts: unknown esiti in bulk, an esito for a flusso INPS never pulled, ids of
 * megabytes, deeply nested JSON. The service must stay responsive and change nothing it should not.
 */

const EVENTS = 600_000

describe('serve stays responsive and strict when esiti are wrong', function () {
  this.timeout(300_000)
  const dir = tempDir()
  const env = userEnv(join(dir, 'ente'))
  const jwks = join(dir, 'jwks.json')
  let key: KeyLike
  let serve: {url: string; child: ChildProcess; stderr: () => string}
  let queuedId: string

  const post = (body: string, token: string): Promise<Response> =>
    fetch(`${serve.url}/esiti`, {method: 'POST', headers: {'content-type': 'application/json', authorization: `Bearer ${token}`}, body})
  const esito = (idFlusso: string): Record<string, string> => ({
    id_flusso: idFlusso,
    tipo: 'PS_PSA_SINA',
    ts_flusso: '2026-01-01T10:00:00.000Z',
    ts_acquisizione: '2026-01-01T11:00:00.000Z',
    codice_esito: 'OK',
  })
  const counts = (): {events: number; unknown: number; states: Record<string, number>} => {
    const db = new Database(env.CASELLARIO_STORE, {readonly: true})
    try {
      const states = Object.fromEntries((db.prepare('SELECT state, count(*) FROM flussi GROUP BY state').raw().all() as Array<[string, number]>))
      return {events: db.prepare('SELECT count(*) FROM events').pluck().get() as number, unknown: db.prepare('SELECT count(*) FROM unknown_esiti').pluck().get() as number, states}
    } finally {
      db.close()
    }
  }

  before(async () => {
    key = await pdndKey(jwks)
    const file = join(dir, 'prestazioni.csv')
    writeCsv(file, psRows(7, 3))
    const r = run(['submit', file, '--transport', 'waas', '--json'], {env})
    assert.equal(r.code, 0, r.stderr)
    // years of history: 600k events, among them esiti for flussi this store never had
    const db = new Database(env.CASELLARIO_STORE)
    queuedId = db.prepare("SELECT id_flusso FROM flussi WHERE state = 'queued' ORDER BY id_flusso LIMIT 1").pluck().get() as string
    const insert = db.prepare('INSERT INTO events (at, id_flusso, event, detail) VALUES (?, ?, ?, ?)')
    db.transaction(() => {
      for (let i = 0; i < EVENTS; i++) {
        if (i % 10 === 0) insert.run('2025-01-01T00:00:00.000Z', null, 'esito-unknown', JSON.stringify({id_flusso: `Z${i % 9000}.PS.20250101.${String(i).padStart(7, '0')}`, esito: 'OK'}))
        else insert.run('2025-01-01T00:00:00.000Z', `H501.PS.20250101.${String(i).padStart(7, '0')}`, 'delivered', null)
      }
    })()
    db.close()
    const started = await startService<{url: string}>(['serve', '--port', '0', '--json', '--jwks', jwks, '--audience', AUDIENCE, '--purpose-id', PURPOSE, '--rate-limit', '100000'], env)
    serve = {url: started.doc.url, child: started.child, stderr: started.stderr}
  })
  after(() => serve?.child.kill('SIGKILL'))

  it('listens on 127.0.0.1 when no --host is given', () => {
    assert.match(serve.url, /^http:\/\/127\.0\.0\.1:\d+\//)
  })

  it('finds a repeated unknown esito through its unique key, never by scanning the event log', () => {
    const db = new Database(env.CASELLARIO_STORE, {readonly: true})
    const plan = db.prepare('EXPLAIN QUERY PLAN INSERT INTO unknown_esiti (id_flusso, esito, received_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING').all('x', 'OK', 'now') as Array<{detail: string}>
    const lookup = db.prepare('EXPLAIN QUERY PLAN SELECT 1 FROM unknown_esiti WHERE id_flusso = ? AND esito = ?').all('x', 'OK') as Array<{detail: string}>
    db.close()
    assert.ok(plan.every((p) => !/SCAN events/.test(p.detail)), JSON.stringify(plan))
    assert.match(lookup.map((p) => p.detail).join(' '), /USING (PRIMARY KEY|INDEX|COVERING INDEX)/)
  })

  it('answers 100 unknown esiti in one POST in under a second while GET /status stays under 100 ms', async () => {
    // timing on a shared 2-core machine: a round passes when both thresholds hold; three tries
    // absorb a noisy neighbour, while a service that scans 600k events fails every round by seconds
    const rounds: string[] = []
    for (let round = 0; round < 3; round++) {
      const token = await signVoucher(key)
      const body = JSON.stringify({elenco_esiti: Array.from({length: 100}, (_, i) => esito(`Z${round}${i}.PS.20260101.${String(i + 1).padStart(7, '0')}`))})
      const before = counts().unknown
      const t0 = performance.now()
      const posting = post(body, token).then((r) => ({status: r.status, ms: performance.now() - t0}))
      await new Promise((r) => setTimeout(r, 5))
      const s0 = performance.now()
      const status = await fetch(`${serve.url}/status`)
      const statusMs = performance.now() - s0
      const posted = await posting
      assert.equal(posted.status, 204)
      assert.equal(status.status, 200)
      assert.equal(counts().unknown, before + 100, 'each unknown esito kept once')
      rounds.push(`POST ${posted.ms.toFixed(0)} ms, /status ${statusMs.toFixed(0)} ms`)
      if (posted.ms < 1000 && statusMs < 100) break
    }
    console.log(`      ${rounds.join('; ')}`)
    const last = rounds.at(-1)!
    const [postMs, statusMs] = (last.match(/\d+/g) ?? []).map(Number)
    assert.ok(postMs < 1000 && statusMs < 100, rounds.join('; '))
  })

  it('keeps a repeated unknown esito once', async () => {
    const body = JSON.stringify({elenco_esiti: [esito('Z77.PS.20260101.0000001')]})
    const before = counts()
    for (let i = 0; i < 3; i++) assert.equal((await post(body, await signVoucher(key))).status, 204)
    const after = counts()
    assert.equal(after.unknown, before.unknown + 1)
    assert.equal(after.events, before.events + 1)
  })

  it('refuses an esito for a queued flusso INPS never pulled with 409, and changes nothing', async () => {
    const before = counts()
    const body = JSON.stringify({elenco_esiti: [esito('Z78.PS.20260101.0000001'), esito(queuedId)]})
    const r = await post(body, await signVoucher(key))
    assert.equal(r.status, 409)
    assert.match(r.headers.get('content-type')!, /application\/problem\+json/)
    const problem = (await r.json()) as {status: number; detail: string}
    assert.equal(problem.status, 409)
    assert.ok(problem.detail.includes(queuedId))
    assert.deepEqual(counts(), before, 'no state, esito or event recorded')
    assert.deepEqual(before.states, {queued: 3})
  })

  it('refuses a 4 MB id_flusso with 400 before storing anything', async () => {
    const before = counts()
    const r = await post(JSON.stringify({elenco_esiti: [esito(`Z1.PS.20260101.${'1'.repeat(4_000_000)}`)]}), await signVoucher(key))
    assert.equal(r.status, 400)
    assert.match(r.headers.get('content-type')!, /application\/problem\+json/)
    const problem = (await r.json()) as {detail: string}
    assert.ok(problem.detail.length < 300, 'the answer does not echo the id')
    assert.deepEqual(counts(), before)
  })

  it('refuses ids that do not follow the naming pattern, and JSON nested deeper than an ElencoEsiti', async () => {
    const before = counts()
    for (const id of ['', 'H501.PS.2026.0000001', 'H501.XX.20260101.0000001', 'Mario Rossi', 'H501.PS.20260101.0000001; DROP TABLE flussi']) {
      const r = await post(JSON.stringify({elenco_esiti: [esito(id)]}), await signVoucher(key))
      assert.equal(r.status, 400, id)
    }
    const nested = `{"elenco_esiti":[${'['.repeat(100_000)}${']'.repeat(100_000)}]}`
    const r = await post(nested, await signVoucher(key))
    assert.equal(r.status, 400)
    assert.match(((await r.json()) as {detail: string}).detail, /annidato/)
    assert.deepEqual(counts(), before)
  })

  it('logs the whole time of each request, and warns when exposed over plain HTTP', async () => {
    const lines = serve
      .stderr()
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l))
    const posts = lines.filter((l) => l.path?.endsWith('/esiti'))
    assert.ok(posts.length > 0)
    for (const l of posts) assert.ok(typeof l.ms === 'number' && typeof l.waited_ms === 'number', JSON.stringify(l))
    assert.ok(!serve.stderr().includes('Rossi'))
    const exposed = await startService<{url: string}>(['serve', '--port', '0', '--host', '0.0.0.0', '--json', '--jwks', jwks, '--audience', AUDIENCE, '--purpose-id', PURPOSE], env)
    try {
      await new Promise((r) => setTimeout(r, 200))
      assert.match(exposed.stderr(), /HTTP senza cifratura/)
    } finally {
      exposed.child.kill('SIGKILL')
    }
  })
})
