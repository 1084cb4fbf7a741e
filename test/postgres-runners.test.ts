import assert from 'node:assert/strict'
import type {ChildProcess} from 'node:child_process'
import {join} from 'node:path'

import {run, runAsync, startService, tempDir, userEnv} from './support/cli.js'
import {AUDIENCE, pdndKey, PURPOSE, signVoucher} from './support/pdnd.js'
import {psRows, writeCsv} from './support/ps-data.js'
import {startSandboxProcess, type SandboxProcess} from './support/sandbox.js'
import {submitKilledWhen} from './support/store.js'
import {freshPostgres, queryStore} from './support/stores.js'

/**
 * An Ambito or a software house (DESIGN §9): several runners, on several machines, share one
 * PostgreSQL store. Here each runner is its own process with its own HOME (as another machine
 * would be); only the database and the endpoint are shared.
 */

describe('four submit runners at once on one PostgreSQL, an endpoint failing 20 % of the time, one of them killed', function () {
  this.timeout(600_000)
  const dir = tempDir()
  const ROWS = 120
  const files = [0, 1, 2, 3].map((i) => join(dir, `export-${i}.csv`))
  let store: string
  let sandbox: SandboxProcess
  const runner = (i: number): Record<string, string> => userEnv(join(dir, `runner-${i}`), {...sandbox.env, CASELLARIO_STORE: store})

  before(async () => {
    store = freshPostgres()
    files.forEach((file, i) => writeCsv(file, psRows(200 + i, ROWS)))
    // every answer takes a while: the kill lands with a batch at the endpoint
    sandbox = await startSandboxProcess(dir, ['--faults', '0.2', '--latency', '150'])
  })
  after(async () => sandbox?.stop())

  it('accepts every prestazione exactly once under one id, and another machine sees them all accepted', async () => {
    const byFile = (s: Record<string, number>): number => (s[`${files[3]}:sending`] ?? 0) + (s[`${files[3]}:sent`] ?? 0)
    const [killed, ...others] = await Promise.all([
      submitKilledWhen(files[3], runner(3), (s) => byFile(s) > 0, "source_file || ':' || state"),
      ...[0, 1, 2].map((i) => runAsync(['submit', files[i], '--wait', '60s', '--json'], {env: runner(i)})),
    ])
    assert.ok(killed.killed, `the fourth runner was killed mid-delivery: ${JSON.stringify(killed.seen)}`)
    for (const r of others) assert.equal(r.code, 0, r.stdout.slice(0, 2000) + r.stderr)
    const again = await runAsync(['submit', files[3], '--wait', '60s', '--json'], {env: runner(3)})
    assert.equal(again.code, 0, again.stdout.slice(0, 2000) + again.stderr)

    // a runner that finished early may have left esiti unread: any runner's sync reads them
    for (let i = 0; i < 10; i++) {
      const sync = run(['sync', '--json'], {env: runner(i % 4)})
      assert.equal(sync.code, 0, sync.stderr)
      if (sync.json().endpoints.length === 0) break
      await new Promise((r) => setTimeout(r, 500))
    }

    const total = files.length * ROWS
    const stats = await sandbox.stats()
    assert.equal(stats.counters.conflicts ?? 0, 0, 'no id_flusso ever came with different content')
    assert.deepEqual(stats.byEsito, {OK: total}, 'no prestazione was sent under a second id (INPS would refuse it as held)')
    assert.equal(stats.received, total)
    assert.equal(stats.held, total)

    const accepted = queryStore<{id_flusso: string}>(store, "SELECT id_flusso FROM flussi WHERE state = 'accepted' ORDER BY id_flusso")!.map((r) => r.id_flusso)
    assert.deepEqual(accepted, (await sandbox.received()).map((r) => r.id_flusso).sort())
    const [{rows}] = queryStore<{rows: number}>(store, "SELECT count(*) AS rows FROM records r JOIN flussi f USING (id_flusso) WHERE f.state = 'accepted'")!
    assert.equal(rows, total)

    // another machine: its own HOME, nothing in common but the database
    const status = run(['status', '--json'], {env: userEnv(join(dir, 'elsewhere'), {CASELLARIO_STORE: store})})
    assert.equal(status.code, 0, status.stderr)
    const submissions = status.json().submissions as Array<{states: Record<string, number>}>
    assert.equal(
      submissions.reduce((n, s) => n + (s.states.accepted ?? 0), 0),
      total,
    )
    assert.ok(submissions.every((s) => Object.keys(s.states).every((state) => state === 'accepted')), JSON.stringify(submissions.map((s) => s.states)))
  })
})

describe('two serve processes on one PostgreSQL, polled alternately', function () {
  this.timeout(300_000)
  const dir = tempDir()
  const jwks = join(dir, 'jwks.json')
  let store: string
  let env: Record<string, string>
  const serves: Array<{url: string; child: ChildProcess}> = []

  before(async () => {
    store = freshPostgres()
    env = userEnv(join(dir, 'ente'), {CASELLARIO_STORE: store})
    const file = join(dir, 'prestazioni.csv')
    writeCsv(file, psRows(93, 150))
    const r = run(['submit', file, '--transport', 'waas', '--json'], {env})
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.json().states.queued, 150)
  })
  after(() => serves.forEach((s) => s.child.kill('SIGKILL')))

  it('hands each flusso exactly once in ts_flusso order while a runner queues more, and both count the same deliveries', async () => {
    const key = await pdndKey(jwks)
    for (let i = 0; i < 2; i++) {
      const {doc, child} = await startService<{url: string}>(['serve', '--port', '0', '--host', '127.0.0.1', '--json', '--jwks', jwks, '--audience', AUDIENCE, '--purpose-id', PURPOSE], {
        ...env,
        HOME: join(dir, `serve-${i}`),
      })
      serves.push({url: doc.url, child})
    }
    const token = await signVoucher(key)
    // meanwhile another runner queues more flussi for the same ente
    const more = join(dir, 'altre.csv')
    writeCsv(more, psRows(94, 60))
    const queuing = runAsync(['submit', more, '--transport', 'waas', '--json'], {env: userEnv(join(dir, 'other-runner'), {CASELLARIO_STORE: store})})
    let queued = false
    void queuing.then(() => (queued = true))

    const seen: string[] = []
    let since = 0
    let last = 0
    for (let page = 0; page < 200; page++) {
      const serve = serves[page % 2]
      const r = await fetch(`${serve.url}/flussi?since=${since}&limit=7`, {headers: {authorization: `Bearer ${token}`}})
      assert.equal(r.status, 200)
      const body = (await r.json()) as {elenco_flussi: Array<{id_flusso: string; ts_flusso: string}>}
      for (const e of body.elenco_flussi) {
        const ts = Date.parse(e.ts_flusso)
        assert.ok(ts > last, `ts_flusso strictly increasing (${e.ts_flusso} after ${new Date(last).toISOString()})`)
        last = ts
        seen.push(e.id_flusso)
      }
      since = last
      if (body.elenco_flussi.length === 0) {
        if (queued && seen.length >= 210) break
        await new Promise((r) => setTimeout(r, 100))
      }
    }
    assert.equal((await queuing).code, 0)
    assert.equal(seen.length, 210)
    assert.equal(new Set(seen).size, 210)

    // a graceful stop writes every pending mark; then both processes' marks add up, none lost, none twice
    await Promise.all(serves.map((s) => new Promise((resolve) => (s.child.once('exit', resolve), s.child.kill('SIGTERM')))))
    serves.length = 0
    const [{delivered}] = queryStore<{delivered: number}>(store, "SELECT count(*) AS delivered FROM flussi WHERE state = 'delivered'")!
    assert.equal(delivered, 210)
    const marks = queryStore<{detail: string}>(store, "SELECT detail FROM events WHERE event = 'delivered'")!
    assert.equal(
      marks.reduce((n, m) => n + (JSON.parse(m.detail) as {flussi: number}).flussi, 0),
      210,
      'each flusso marked delivered by exactly one of the two processes',
    )
    const status = run(['status', '--json'], {env}).json() as {submissions: Array<{states: Record<string, number>}>}
    assert.equal(
      status.submissions.reduce((n, s) => n + (s.states.delivered ?? 0), 0),
      210,
    )
  })
})
