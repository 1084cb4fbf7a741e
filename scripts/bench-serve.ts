/**
 * The `serve` part of npm run bench (DESIGN §11): p50/p99 latency of `GET /flussi?limit=100` with 50
 * concurrent clients on loopback, over a store of 100,000 queued flussi (target p99 < 50 ms).
 * The store is made by the real CLI (`submit --transport waas`), cached in .bench/.
 */
import {spawn, spawnSync} from 'node:child_process'
import {existsSync, writeFileSync} from 'node:fs'
import {connect, type Socket} from 'node:net'
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
  const {jwks, token} = await benchVoucher(join(benchDir, 'jwks.json'), AUDIENCE)

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
    // 50 clients, each one keep-alive connection speaking HTTP/1.1 directly (like wrk): the figure is
    // the server's, not the cost of a full HTTP client library sharing the same two cores
    const {hostname, port, pathname} = new URL(url)
    const clients = await Promise.all(Array.from({length: CLIENTS}, () => RawClient.connect(hostname, Number(port))))
    const one = (client: RawClient): Promise<number> => {
      // INPS pages from where it stopped: any point of the queue
      const since = first - 1 + Math.floor(Math.random() * (last - first - 100))
      return client.get(`${pathname}/flussi?since=${since}&limit=100`, token)
    }
    // warm-up: every client pulls a few times (steady state is measured, not connection setup or JIT)
    for (let round = 0; round < 3; round++) await Promise.all(clients.map((c) => one(c)))
    const latencies: number[] = []
    await Promise.all(
      clients.map(async (c) => {
        for (let i = 0; i < REQUESTS_PER_CLIENT; i++) latencies.push(await one(c))
      }),
    )
    for (const c of clients) c.close()
    latencies.sort((a, b) => a - b)
    const at = (q: number): number => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]
    return {flussi, p50: at(0.5), p99: at(0.99), requests: latencies.length}
  } finally {
    // a graceful stop records the pending delivery marks: wait for it, or the next run would share the CPU
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve())
      child.kill('SIGTERM')
    })
  }
}

/** One keep-alive HTTP/1.1 connection: sends a GET, waits for the whole body (by Content-Length), times it. */
export class RawClient {
  private pending: {start: bigint; resolve: (ms: number) => void; reject: (e: Error) => void} | undefined
  private head = ''
  private remaining = -1

  private constructor(
    private readonly socket: Socket,
    private readonly host: string,
  ) {
    socket.on('data', (chunk) => this.receive(chunk))
    socket.on('error', (error) => this.pending?.reject(error))
  }

  static connect(host: string, port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, host, () => resolve(new RawClient(socket, host)))
      socket.setNoDelay(true)
      socket.once('error', reject)
    })
  }

  get(path: string, token: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.pending = {start: process.hrtime.bigint(), resolve, reject}
      this.head = ''
      this.remaining = -1
      this.socket.write(`GET ${path} HTTP/1.1\r\nHost: ${this.host}\r\nAuthorization: Bearer ${token}\r\nConnection: keep-alive\r\n\r\n`)
    })
  }

  close(): void {
    this.socket.end()
  }

  private receive(chunk: Buffer): void {
    let body = chunk
    if (this.remaining < 0) {
      this.head += chunk.toString('latin1')
      const end = this.head.indexOf('\r\n\r\n')
      if (end < 0) return
      const status = /^HTTP\/1\.1 (\d+)/.exec(this.head)?.[1]
      if (status !== '200') return this.pending?.reject(new Error(`GET /flussi answered ${status}`))
      this.remaining = Number(/\r\ncontent-length: (\d+)/i.exec(this.head)?.[1] ?? 0)
      body = chunk.subarray(chunk.length - (this.head.length - end - 4))
    }
    this.remaining -= body.length
    if (this.remaining <= 0 && this.pending) {
      const {start, resolve} = this.pending
      this.pending = undefined
      resolve(Number(process.hrtime.bigint() - start) / 1e6)
    }
  }
}

/** A PDND-like key set written to `jwksFile` and a voucher it verifies, for `audience` (one hour). */
export async function benchVoucher(jwksFile: string, audience: string): Promise<{jwks: string; token: string}> {
  const {publicKey, privateKey} = await generateKeyPair('RS256')
  writeFileSync(jwksFile, JSON.stringify({keys: [{...(await exportJWK(publicKey)), kid: 'bench', alg: 'RS256'}]}))
  const now = Math.floor(Date.now() / 1000)
  const token = await new SignJWT({client_id: 'bench'})
    .setProtectedHeader({alg: 'RS256', kid: 'bench', typ: 'at+jwt'})
    .setIssuer('interop.pagopa.it')
    .setAudience(audience)
    .setSubject('bench')
    .setIssuedAt(now)
    .setNotBefore(now)
    .setJti('bench')
    .setExpirationTime(now + 3600)
    .sign(privateKey)
  return {jwks: jwksFile, token}
}
