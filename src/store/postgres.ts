import {createHash} from 'node:crypto'
import {createRequire} from 'node:module'
import {MessageChannel, receiveMessageOnPort, Worker} from 'node:worker_threads'

import type pg from 'pg'

import type {Db, RunResult, Statement} from './db.js'
import {passwordFromPassfile, type PgConnectionConfig} from './postgres-config.js'
import {isConnectionLost, postgresError} from './postgres-errors.js'
import type {Item, ItemResult, Reply, Request} from './postgres-worker.js'

/**
 * PostgreSQL behind the store's synchronous `Db` (DESIGN §9): the `pg` driver runs on a worker
 * thread; this thread posts a request and sleeps on shared memory (Atomics.wait) until the worker
 * has answered, then takes the answer with receiveMessageOnPort. The whole engine keeps its
 * synchronous, transactional store calls on either database.
 *
 * Writes inside a transaction whose result nobody reads are not waited for one by one: they are
 * queued and sent together with the next read, the commit, or every PIPELINE statements (a failure
 * among them fails the transaction, exactly as it would have failed it one at a time).
 */

// built code runs the built worker; tests run the sources under tsx, registered again on the worker's thread
const FROM_SOURCES = import.meta.url.endsWith('.ts')
const WORKER = new URL(FROM_SOURCES ? './postgres-worker.ts' : './postgres-worker.js', import.meta.url)
/** a worker that never answers its first request (it could not start) is given up after this */
const START_DEADLINE_MS = 60_000
const PIPELINE = 2000
const CURSOR_ROWS = 1000

export class PgError extends Error {
  constructor(
    message: string,
    /** SQLSTATE (e.g. 23505) or the socket's code (ECONNREFUSED) */
    readonly code: string | undefined,
  ) {
    super(message)
    this.name = 'PgError'
  }
}

/** `?` → `$n` (outside quotes), camelCase aliases quoted (PostgreSQL folds unquoted names to lower case). */
export function toPostgres(sql: string): string {
  let out = ''
  let n = 0
  let quote: string | undefined
  for (let i = 0; i < sql.length; i++) {
    const c = sql[i]
    if (quote) {
      if (c === quote) quote = undefined
      out += c
    } else if (c === "'" || c === '"') {
      quote = c
      out += c
    } else if (c === '?') out += `$${++n}`
    else out += c
  }
  return out.replace(/\bAS\s+([a-z]+[A-Z]\w*)\b/g, 'AS "$1"')
}

interface Lazy {
  changes?: number
  error?: Error
}

export class PgDb implements Db {
  readonly dialect = 'postgres' as const
  private readonly worker: Worker
  private readonly port: MessageChannel['port1']
  private readonly flag = new Int32Array(new SharedArrayBuffer(4))
  private pending: Item[] = []
  private lazies: Array<Lazy | undefined> = []
  private depth = 0
  private closed = false
  private readonly translated = new Map<string, string>()
  private pool: pg.Pool | undefined

  constructor(
    private readonly config: PgConnectionConfig,
    /** the location as it may be shown (no password) */
    private readonly shown: string,
  ) {
    const {port1, port2} = new MessageChannel()
    this.port = port1
    const workerData = {port: port2, flag: this.flag, config}
    const transferList = [port2]
    this.worker = FROM_SOURCES
      ? new Worker(`import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(WORKER.href)}) })`, {eval: true, workerData, transferList})
      : new Worker(WORKER, {workerData, transferList})
    // the worker must never keep a finished command alive
    this.worker.unref()
    try {
      this.call({op: 'connect'}, START_DEADLINE_MS)
    } catch (error) {
      this.closed = true
      this.port.close()
      void this.worker.terminate()
      throw postgresError(error, shown)
    }
  }

  get inTransaction(): boolean {
    return this.depth > 0
  }

  /** One request, answered synchronously. */
  call(request: Request, deadlineMs?: number): Extract<Reply, {ok: true}> {
    if (this.closed) throw new PgError('the PostgreSQL connection is closed', '08003')
    Atomics.store(this.flag, 0, 0)
    this.port.postMessage(request)
    const deadline = deadlineMs === undefined ? Infinity : Date.now() + deadlineMs
    for (;;) {
      if (Date.now() > deadline) throw new PgError('the PostgreSQL driver did not answer (timeout)', 'ETIMEDOUT')
      const message = receiveMessageOnPort(this.port)
      if (message) {
        const reply = message.message as Reply
        if (!reply.ok) {
          // the server went away mid-run: the same typed error as when it cannot be reached at all
          if (isConnectionLost(reply.error.code)) throw postgresError(reply.error, this.shown)
          throw Object.assign(new PgError(reply.error.message, reply.error.code), {at: reply.error.at})
        }
        return reply
      }
      Atomics.wait(this.flag, 0, 0, 1000)
      Atomics.store(this.flag, 0, 0)
    }
  }

  /** Sends what is queued (and `last`, whose result is returned). */
  batch(last?: Item): ItemResult | undefined {
    const items = last ? [...this.pending, last] : this.pending
    const lazies = this.lazies
    this.pending = []
    this.lazies = []
    if (items.length === 0) return undefined
    let results: ItemResult[]
    try {
      results = this.call({op: 'batch', items}).results!
    } catch (error) {
      for (const l of lazies) if (l) l.error = error as Error
      throw error
    }
    for (const [i, l] of lazies.entries()) if (l) l.changes = results[i].changes ?? 0
    return last ? results.at(-1) : undefined
  }

  queue(item: Item, lazy?: Lazy): void {
    this.pending.push(item)
    this.lazies.push(lazy)
    if (this.pending.length >= PIPELINE) this.batch()
  }

  sql(text: string): string {
    let sql = this.translated.get(text)
    if (sql === undefined) this.translated.set(text, (sql = toPostgres(text)))
    return sql
  }

  prepare(sql: string): Statement {
    return new PgStatement(this, this.sql(sql))
  }

  exec(sql: string): void {
    if (this.depth > 0) this.queue({sql, mode: 'exec'})
    else this.batch({sql, mode: 'exec'})
  }

  transaction<T>(fn: () => T): T {
    const savepoint = `s${this.depth}`
    this.queue({sql: this.depth === 0 ? 'BEGIN' : `SAVEPOINT ${savepoint}`, mode: 'exec'})
    this.depth++
    let result: T
    try {
      result = fn()
      this.depth--
      if (this.depth === 0) this.batch({sql: 'COMMIT', mode: 'exec'})
      else this.queue({sql: `RELEASE SAVEPOINT ${savepoint}`, mode: 'exec'})
    } catch (error) {
      this.depth = Math.max(0, this.depth - 1)
      if (this.depth === 0) {
        this.pending = []
        this.lazies = []
        try {
          this.batch({sql: 'ROLLBACK', mode: 'exec'})
        } catch {
          // the connection is gone: the server rolls back by itself
        }
      } else {
        try {
          this.batch({sql: `ROLLBACK TO SAVEPOINT ${savepoint}`, mode: 'exec'})
        } catch {
          // the outer transaction fails as a whole
        }
      }
      throw error
    }
    return result
  }

  /**
   * A read this thread does not wait for (serve answering many clients): on a small connection pool
   * of this thread's own, so it sees what is committed and never runs inside this thread's
   * transaction. Not through the worker: a page of 150 KB would be decoded there, copied to this
   * thread and copied again, with two threads' turns between the answer and the client.
   */
  async queryAsync(sql: string, params: unknown[]): Promise<{fields: string[]; rows: unknown[][]}> {
    if (this.closed) throw new PgError('the PostgreSQL connection is closed', '08003')
    this.pool ??= this.openPool()
    try {
      const text = this.sql(sql)
      const r = await this.pool.query({name: statementName(text), text, values: params, rowMode: 'array'})
      return {fields: r.fields.map((f) => f.name), rows: r.rows as unknown[][]}
    } catch (error) {
      const e = error as Error & {code?: string}
      throw isConnectionLost(e.code) ? postgresError(e, this.shown) : new PgError(e.message, e.code)
    }
  }

  private openPool(): pg.Pool {
    const config = this.config
    // the driver is loaded here, when a PostgreSQL store is used (on SQLite it is 25 ms of every command's start)
    const {Pool, types} = createRequire(import.meta.url)('pg') as typeof pg
    const pool = new Pool({
      ...config,
      max: 4,
      // idle connections never keep a finished command alive
      allowExitOnIdle: true,
      password: config.password ?? (async () => (await passwordFromPassfile(config)) ?? ''),
      // the engine's numbers, as the worker reads them (SQLite's INTEGER), without touching pg's global parsers
      types: {getTypeParser: ((oid: number, format?: string) => (oid === 20 || oid === 1700 ? Number : oid === 16 ? (v: string) => (v === 't' ? 1 : 0) : types.getTypeParser(oid, format as 'text'))) as typeof pg.types.getTypeParser},
    } as pg.PoolConfig)
    // an idle connection the server drops: the next query opens another (or fails and says so)
    pool.on('error', () => undefined)
    return pool
  }

  /** Rows of a long read, a page at a time, on a connection of their own (outside any transaction). */
  *cursor(sql: string, params: unknown[]): Generator<{fields: string[]; row: unknown[]}> {
    const {id} = this.call({op: 'open', sql, params})
    let done = false
    try {
      while (!done) {
        const page = this.call({op: 'read', id: id!, n: CURSOR_ROWS})
        done = page.done === true
        for (const row of page.rows!) yield {fields: page.fields!, row}
      }
    } finally {
      if (!done && !this.closed) this.call({op: 'close-cursor', id: id!})
    }
  }

  close(): void {
    if (this.closed) return
    try {
      if (this.depth === 0) this.batch()
      this.call({op: 'close'})
    } finally {
      this.closed = true
      this.port.close()
      void this.pool?.end().catch(() => undefined)
      void this.worker.terminate()
    }
  }
}

/** Named statements are parsed once per connection (as the worker names them). */
function statementName(sql: string): string {
  return `c${createHash('sha1').update(sql).digest('hex').slice(0, 20)}`
}

function buffers(value: unknown): unknown {
  return value instanceof Uint8Array && !Buffer.isBuffer(value) ? Buffer.from(value.buffer, value.byteOffset, value.byteLength) : value
}

class PgStatement implements Statement {
  private plucked = false
  private rawRows = false

  constructor(
    private readonly db: PgDb,
    private readonly sql: string,
  ) {}

  pluck(toggle = true): Statement {
    this.plucked = toggle
    return this
  }

  raw(toggle = true): Statement {
    this.rawRows = toggle
    return this
  }

  private shape(fields: string[], row: unknown[]): unknown {
    if (this.plucked) return buffers(row[0])
    if (this.rawRows) return row.map(buffers)
    const o: Record<string, unknown> = {}
    for (let i = 0; i < fields.length; i++) o[fields[i]] = buffers(row[i])
    return o
  }

  run(...params: unknown[]): RunResult {
    if (!this.db.inTransaction) return {changes: this.db.batch({sql: this.sql, params, mode: 'run'})!.changes ?? 0}
    const lazy: Lazy = {}
    const db = this.db
    // sent later: a buffer the caller reuses for its next row (the pipeline does) must be copied now,
    // as SQLite binds it at once
    this.db.queue({sql: this.sql, params: params.map((p) => (p instanceof Uint8Array ? Buffer.from(p) : p)), mode: 'run'}, lazy)
    return {
      get changes(): number {
        if (lazy.changes === undefined && lazy.error === undefined) db.batch()
        if (lazy.error) throw lazy.error
        return lazy.changes!
      },
    }
  }

  get(...params: unknown[]): unknown {
    const r = this.db.batch({sql: this.sql, params, mode: 'get'})!
    return r.rows!.length === 0 ? undefined : this.shape(r.fields!, r.rows![0])
  }

  all(...params: unknown[]): unknown[] {
    const r = this.db.batch({sql: this.sql, params, mode: 'all'})!
    return r.rows!.map((row) => this.shape(r.fields!, row))
  }

  *iterate(...params: unknown[]): IterableIterator<unknown> {
    if (this.db.inTransaction) {
      yield* this.all(...params)
      return
    }
    this.db.batch()
    for (const {fields, row} of this.db.cursor(this.sql, params)) yield this.shape(fields, row)
  }
}
