/**
 * `npm run bench -- --serve-pg` (DESIGN §11): p50/p99 of `GET /flussi?limit=100` with 50 concurrent
 * clients over 1,000 enti × 1,000 queued flussi in PostgreSQL, two `serve` processes sharing the
 * database (the clients split between them, as behind a load balancer) — and, beside it, one
 * `serve` over the same flussi in a SQLite store. The flussi are written straight into the stores
 * (schema by the store's own migrations): queueing a million through the CLI would measure submit.
 * The PostgreSQL server: CASELLARIO_BENCH_PG (default postgres://postgres@127.0.0.1:5432), database
 * casellario_bench, kept between runs like .bench/.
 *   --enti N --per-ente N   a smaller queue (default 1000 × 1000)
 */
import {spawn, type ChildProcess} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'

import {pgConfig} from '../src/store/postgres-config.js'
import {PgDb} from '../src/store/postgres.js'
import {SqliteDb} from '../src/store/sqlite-db.js'
import {Store} from '../src/store/sqlite.js'
import {benchVoucher, RawClient} from './bench-serve.js'

const CLIENTS = 50
const REQUESTS_PER_CLIENT = 40
const AUDIENCE = 'bench-audience'
/** first ts_flusso of the queue (ms) */
const BASE_TS = Date.UTC(2026, 11, 1)

/** The path INPS pulls one ente's flussi from: each ente is its own e-service, on its own path (serve --enti). */
export function flussiPath(base: string, ente: string, since: number, limit: number): string {
  return `${base}/${ente}/flussi?since=${since}&limit=${limit}`
}

const enteCode = (e: number): string => `B${String(e).padStart(4, '0')}`

interface Figures {
  flussi: number
  requests: number
  p50: number
  p99: number
}

export async function benchServePg(root: string, benchDir: string, args: string[], env: NodeJS.ProcessEnv): Promise<{postgres: Figures; sqlite: Figures; enti: number; perEnte: number}> {
  const opt = (name: string, fallback: number): number => Number(args[args.indexOf(name) + 1] || fallback) || fallback
  const enti = args.includes('--enti') ? opt('--enti', 1000) : 1000
  const perEnte = args.includes('--per-ente') ? opt('--per-ente', 1000) : 1000
  const server = (process.env.CASELLARIO_BENCH_PG ?? 'postgres://postgres@127.0.0.1:5432').replace(/\/+$/, '')
  const database = `casellario_bench_${enti}x${perEnte}_v2`
  const pgUrl = `${server}/${database}?sslmode=disable`
  const sqlitePath = join(benchDir, `${database}.db`)
  // one flusso's entry about the size of a real one-prestazione entry (~1.5 KB, as submit --transport waas writes it)
  const flusso = randomBytes(1050).toString('base64')

  const admin = new PgDb(pgConfig(`${server}/postgres?sslmode=disable`), 'bench')
  if (!admin.prepare('SELECT 1 FROM pg_database WHERE datname = ?').pluck().get(database)) admin.exec(`CREATE DATABASE ${database}`)
  admin.close()
  fill(pgUrl, enti, perEnte, flusso)
  fill(sqlitePath, enti, perEnte, flusso)

  const token = await benchVoucher(join(benchDir, 'jwks-pg.json'), AUDIENCE)
  const postgres = await measure(root, env, [pgUrl, pgUrl], token.jwks, token.token, enti, perEnte)
  const sqlite = await measure(root, env, [sqlitePath], token.jwks, token.token, enti, perEnte)
  return {postgres, sqlite, enti, perEnte}
}

/** Queues enti × perEnte flussi (ts_flusso interleaved across enti, as many runners would) unless already there. */
function fill(location: string, enti: number, perEnte: number, flusso: string): void {
  const store = Store.open(location)
  const have = store.db.prepare("SELECT count(*) FROM flussi WHERE entry IS NOT NULL AND state IN ('queued', 'delivered')").pluck().get() as number
  if (have >= enti * perEnte) {
    // a previous run's pulls marked them delivered: queued again, the figures compare like for like
    store.db.exec("UPDATE flussi SET state = 'queued' WHERE state = 'delivered'")
    store.close()
    return
  }
  store.db.exec('DELETE FROM flussi')
  const started = Date.now()
  const now = new Date().toISOString()
  const chunk = 50
  for (let from = 1; from <= enti; from += chunk) {
    const to = Math.min(enti, from + chunk - 1)
    if (store.db instanceof SqliteDb || store.db.dialect === 'sqlite') {
      const insert = store.db.prepare(
        `INSERT INTO flussi (id_flusso, ente, flow, packaging, state, sha256, beneficiari, prestazioni, created_at, updated_at, ts_flusso, entry, operation)
         VALUES (?, ?, 'ps', 'cooperazione', 'queued', '-', 1, 1, ?, ?, ?, ?, 'I')`,
      )
      store.transaction(() => {
        for (let e = from; e <= to; e++) {
          for (let n = 1; n <= perEnte; n++) {
            const ente = enteCode(e)
            const ts = BASE_TS + (n - 1) * enti + e
            const id = `${ente}.PS.20261201.${n}`
            insert.run(id, ente, now, now, ts, Buffer.from(JSON.stringify({codice_ente: ente, id_flusso: id, tipo: 'PS_PSA_SINA', ts_flusso: new Date(ts).toISOString(), flusso})))
          }
        }
      })
    } else {
      // PostgreSQL writes a chunk of enti in one statement
      store.db.exec(
        `INSERT INTO flussi (id_flusso, ente, flow, packaging, state, sha256, beneficiari, prestazioni, created_at, updated_at, ts_flusso, entry, operation)
         SELECT c || '.PS.20261201.' || n, c, 'ps', 'cooperazione', 'queued', '-', 1, 1, '${now}', '${now}', t,
                convert_to('{"codice_ente":"' || c || '","id_flusso":"' || c || '.PS.20261201.' || n || '","tipo":"PS_PSA_SINA","ts_flusso":"'
                  || to_char(to_timestamp(t / 1000.0) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') || '","flusso":"${flusso}"}', 'UTF8'), 'I'
         FROM (SELECT 'B' || lpad(e::text, 4, '0') AS c, n, ${BASE_TS}::bigint + (n - 1) * ${enti} + e AS t
               FROM generate_series(${from}, ${to}) e, generate_series(1, ${perEnte}) n) q`,
      )
    }
    process.stderr.write(`\r${location.startsWith('postgres') ? 'PostgreSQL' : 'SQLite'}: ${to * perEnte} flussi queued (${Math.round((Date.now() - started) / 1000)} s)`)
  }
  process.stderr.write('\n')
  if (store.shared) store.db.exec('VACUUM ANALYZE flussi')
  store.close()
}


function startServe(root: string, env: NodeJS.ProcessEnv, store: string, jwks: string, entiFile: string): Promise<{child: ChildProcess; url: string}> {
  const child = spawn(process.execPath, [join(root, 'bin', 'run.js'), 'serve', '--port', '0', '--host', '127.0.0.1', '--json', '--jwks', jwks, '--enti', entiFile, '--rate-limit', '1000000', '--store', store], {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'ignore'],
  })
  return new Promise((resolve, reject) => {
    let out = ''
    child.stdout!.on('data', (d) => {
      out += d
      if (out.includes('\n')) resolve({child, url: JSON.parse(out).url})
    })
    child.on('exit', (code) => reject(new Error(`serve exited ${code}`)))
  })
}

/** 50 keep-alive clients spread over the serve processes (one per store location given), INPS-like pulls from anywhere in the queue. */
async function measure(root: string, env: NodeJS.ProcessEnv, stores: string[], jwks: string, token: string, enti: number, perEnte: number): Promise<Figures> {
  // every ente on its own path, all trusting the bench's voucher audience
  const entiFile = join(dirname(jwks), `enti-${enti}.json`)
  writeFileSync(entiFile, JSON.stringify(Object.fromEntries(Array.from({length: enti}, (_, e) => [enteCode(e + 1), {audience: AUDIENCE}]))))
  const serves = await Promise.all(stores.map((s) => startServe(root, env, s, jwks, entiFile)))
  try {
    const clients = await Promise.all(
      Array.from({length: CLIENTS}, async (_, i) => {
        const {hostname, port, pathname} = new URL(serves[i % serves.length].url)
        return {client: await RawClient.connect(hostname, Number(port)), base: pathname}
      }),
    )
    const total = enti * perEnte
    const one = ({client, base}: {client: RawClient; base: string}): Promise<number> => {
      const e = 1 + Math.floor(Math.random() * enti)
      const since = BASE_TS + Math.floor(Math.random() * (total - 100))
      return client.get(flussiPath(base, enteCode(e), since, 100), token)
    }
    for (let round = 0; round < 3; round++) await Promise.all(clients.map((c) => one(c)))
    const latencies: number[] = []
    await Promise.all(
      clients.map(async (c) => {
        for (let i = 0; i < REQUESTS_PER_CLIENT; i++) latencies.push(await one(c))
      }),
    )
    for (const c of clients) c.client.close()
    latencies.sort((a, b) => a - b)
    const at = (q: number): number => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]
    return {flussi: total, requests: latencies.length, p50: at(0.5), p99: at(0.99)}
  } finally {
    await Promise.all(
      serves.map(
        ({child}) =>
          new Promise<void>((resolve) => {
            child.once('exit', () => resolve())
            child.kill('SIGTERM')
          }),
      ),
    )
  }
}

