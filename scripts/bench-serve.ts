/**
 * The `serve` part of npm run bench (DESIGN §11): p50/p99 latency of `GET /flussi?limit=100` with 50
 * concurrent clients on loopback, over a store of 100,000 queued flussi (target p99 < 50 ms).
 * The store is made by the real CLI (`submit --transport waas`), cached in .bench/.
 */
import {spawn, spawnSync} from 'node:child_process'
import {existsSync, writeFileSync} from 'node:fs'
import {Agent, get} from 'node:http'
import {join} from 'node:path'

import Database from 'better-sqlite3'
import {exportJWK, generateKeyPair, SignJWT} from 'jose'

const CLIENTS = 50
const REQUESTS_PER_CLIENT = 40
const AUDIENCE = 'bench-audience'

export async function benchServe(root: string, benchDir: string, csv: string, env: NodeJS.ProcessEnv): Promise<{flussi: number; p50: number; p99: number; requests: number}> {
  const store = join(benchDir, 'serve-store.db')
  const count = (): number => {
    if (!existsSync(store)) return 0
    const db = new Database(store, {readonly: true})
    try {
      return db.prepare("SELECT count(*) FROM flussi WHERE state IN ('queued', 'delivered')").pluck().get() as number
    } finally {
      db.close()
    }
  }
  if (count() < 100_000) {
    const r = spawnSync(process.execPath, [join(root, 'bin', 'run.js'), 'submit', csv, '--transport', 'waas', '--store', store, '--json'], {cwd: root, env, encoding: 'utf8', maxBuffer: 1 << 28})
    if (r.status !== 0) throw new Error(`submit --transport waas exited ${r.status}: ${r.stderr.slice(0, 500)}`)
  }
  const flussi = count()
  const {publicKey, privateKey} = await generateKeyPair('RS256')
  const jwks = join(benchDir, 'jwks.json')
  writeFileSync(jwks, JSON.stringify({keys: [{...(await exportJWK(publicKey)), kid: 'bench', alg: 'RS256'}]}))
  const now = Math.floor(Date.now() / 1000)
  const token = await new SignJWT({client_id: 'bench'})
    .setProtectedHeader({alg: 'RS256', kid: 'bench', typ: 'at+jwt'})
    .setIssuer('interop.pagopa.it')
    .setAudience(AUDIENCE)
    .setSubject('bench')
    .setIssuedAt(now)
    .setNotBefore(now)
    .setJti('bench')
    .setExpirationTime(now + 3600)
    .sign(privateKey)

  const child = spawn(process.execPath, [join(root, 'bin', 'run.js'), 'serve', '--port', '0', '--host', '127.0.0.1', '--json', '--jwks', jwks, '--audience', AUDIENCE, '--rate-limit', '1000000', '--store', store], {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'ignore'],
  })
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = ''
      child.stdout!.on('data', (d) => {
        out += d
        if (out.includes('\n')) resolve(JSON.parse(out).url)
      })
      child.on('exit', (code) => reject(new Error(`serve exited ${code}`)))
    })
    const db = new Database(store, {readonly: true})
    const [first, last] = db.prepare("SELECT min(ts_flusso), max(ts_flusso) FROM flussi").raw().get() as [number, number]
    db.close()
    // a lean client (node:http, keep-alive, body drained not parsed): the figure is the server's
    const agent = new Agent({keepAlive: true, maxSockets: CLIENTS})
    const one = (): Promise<number> =>
      new Promise((resolve, reject) => {
        // INPS pages from where it stopped: any point of the queue
        const since = first - 1 + Math.floor(Math.random() * (last - first - 100))
        const start = process.hrtime.bigint()
        get(`${url}/flussi?since=${since}&limit=100`, {agent, headers: {authorization: `Bearer ${token}`}}, (res) => {
          if (res.statusCode !== 200) reject(new Error(`GET /flussi answered ${res.statusCode}`))
          res.on('data', () => {})
          res.on('end', () => resolve(Number(process.hrtime.bigint() - start) / 1e6))
        }).on('error', reject)
      })
    // warm-up: the 50 clients connect and pull once (steady state is measured, not connection setup)
    await Promise.all(Array.from({length: CLIENTS}, () => one()))
    const latencies: number[] = []
    await Promise.all(
      Array.from({length: CLIENTS}, async () => {
        for (let i = 0; i < REQUESTS_PER_CLIENT; i++) latencies.push(await one())
      }),
    )
    latencies.sort((a, b) => a - b)
    const at = (q: number): number => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]
    return {flussi, p50: at(0.5), p99: at(0.99), requests: latencies.length}
  } finally {
    child.kill('SIGTERM')
  }
}
