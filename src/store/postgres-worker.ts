import {createHash} from 'node:crypto'
import {workerData, type MessagePort} from 'node:worker_threads'

import pg from 'pg'
import Cursor from 'pg-cursor'

import {passwordFromPassfile, type PgConnectionConfig} from './postgres-config.js'

/**
 * The PostgreSQL side of the store's connection (see postgres.ts): one `pg` client on this thread
 * runs what the engine's thread asks, in order, and wakes it through shared memory when the answer
 * is posted. Statements are named (parsed once per connection); consecutive plain INSERTs of one
 * batch travel as multi-row INSERTs, so queueing a million records is not a million round trips.
 * Nothing here logs: errors go back with their SQLSTATE, never with parameters.
 */

export type Mode = 'run' | 'get' | 'all' | 'exec'
export interface Item {
  sql: string
  params?: unknown[]
  mode: Mode
}
export type Request =
  | {op: 'connect'}
  | {op: 'batch'; items: Item[]}
  | {op: 'open'; sql: string; params: unknown[]}
  | {op: 'read'; id: number; n: number}
  | {op: 'close-cursor'; id: number}
  | {op: 'close'}
export interface ItemResult {
  changes?: number
  fields?: string[]
  rows?: unknown[][]
}
export type Reply =
  | {ok: true; results?: ItemResult[]; id?: number; fields?: string[]; rows?: unknown[][]; done?: boolean}
  | {ok: false; error: {message: string; code?: string; at?: number}}

const {port, flag, config} = workerData as {port: MessagePort; flag: Int32Array; config: PgConnectionConfig}

// numbers as the engine keeps them (SQLite's INTEGER): counts and ms timestamps fit a double exactly
pg.types.setTypeParser(20, (v: string) => Number(v))
pg.types.setTypeParser(1700, (v: string) => Number(v))
pg.types.setTypeParser(16, (v: string) => (v === 't' ? 1 : 0))

let client: pg.Client | undefined
let broken: Error | undefined
let cursorClient: pg.Client | undefined
const cursors = new Map<number, Cursor>()
let nextCursor = 1

async function connected(): Promise<pg.Client> {
  if (broken) throw broken
  if (client) return client
  client = await open()
  return client
}

async function open(): Promise<pg.Client> {
  const c = new pg.Client({
    ...config,
    // a missing password comes from the password file, as libpq does
    password: config.password ?? (async () => (await passwordFromPassfile(config)) ?? ''),
  } as pg.ClientConfig)
  c.on('error', (error) => (broken = error))
  await c.connect()
  return c
}

function name(sql: string): string {
  return `c${createHash('sha1').update(sql).digest('hex').slice(0, 20)}`
}

function values(params: unknown[] | undefined): unknown[] {
  return (params ?? []).map((p) => (p instanceof Uint8Array && !Buffer.isBuffer(p) ? Buffer.from(p.buffer, p.byteOffset, p.byteLength) : p === undefined ? null : p))
}

/** `INSERT INTO t (a, b) VALUES ($1, $2)` with nothing else: rows of it can share one statement. */
const PLAIN_INSERT = /^\s*INSERT INTO\s+(\w+)\s*\(([^)]*)\)\s*VALUES\s*\(\s*\$1(\s*,\s*\$\d+)*\s*\)\s*$/i
const MAX_PARAMS = 60_000
const MAX_ROWS = 1000

async function runItems(c: pg.Client, items: Item[]): Promise<ItemResult[]> {
  const results: ItemResult[] = []
  let i = 0
  while (i < items.length) {
    const item = items[i]
    try {
      if (item.mode === 'run' && PLAIN_INSERT.test(item.sql)) {
        let j = i + 1
        const width = item.params?.length ?? 0
        const maxRows = Math.max(1, Math.min(MAX_ROWS, Math.floor(MAX_PARAMS / Math.max(1, width))))
        while (j < items.length && j - i < maxRows && items[j].mode === 'run' && items[j].sql === item.sql) j++
        if (j - i > 1) {
          const m = PLAIN_INSERT.exec(item.sql)!
          const rows: string[] = []
          const all: unknown[] = []
          for (let k = i; k < j; k++) {
            rows.push(`(${Array.from({length: width}, (_, n) => `$${all.length + n + 1}`).join(', ')})`)
            all.push(...values(items[k].params))
          }
          const sql = `INSERT INTO ${m[1]} (${m[2]}) VALUES ${rows.join(', ')}`
          await c.query({name: name(sql), text: sql, values: all})
          for (let k = i; k < j; k++) results.push({changes: 1})
          i = j
          continue
        }
      }
      if (item.mode === 'exec') {
        await c.query(item.sql)
        results.push({})
      } else {
        const r = await c.query({name: name(item.sql), text: item.sql, values: values(item.params), rowMode: 'array'})
        results.push(item.mode === 'run' ? {changes: r.rowCount ?? 0} : {changes: r.rowCount ?? 0, fields: r.fields.map((f) => f.name), rows: item.mode === 'get' ? r.rows.slice(0, 1) : r.rows})
      }
    } catch (error) {
      throw Object.assign(error as Error, {at: i})
    }
    i++
  }
  return results
}

async function handle(request: Request): Promise<Reply> {
  switch (request.op) {
    case 'connect':
      await connected()
      return {ok: true}
    case 'batch':
      return {ok: true, results: await runItems(await connected(), request.items)}
    case 'open': {
      // a long read streams on its own connection, so the store stays usable while it is read
      cursorClient ??= await open()
      const cursor = cursorClient.query(new Cursor(request.sql, values(request.params), {rowMode: 'array'}))
      const id = nextCursor++
      cursors.set(id, cursor)
      return {ok: true, id}
    }
    case 'read': {
      const cursor = cursors.get(request.id)!
      const rows = (await cursor.read(request.n)) as unknown[][]
      const fields = ((cursor as unknown as {_result?: {fields: Array<{name: string}>}})._result?.fields ?? []).map((f) => f.name)
      if (rows.length < request.n) {
        cursors.delete(request.id)
        await cursor.close()
        return {ok: true, rows, fields, done: true}
      }
      return {ok: true, rows, fields, done: false}
    }
    case 'close-cursor': {
      const cursor = cursors.get(request.id)
      cursors.delete(request.id)
      await cursor?.close()
      return {ok: true}
    }
    case 'close':
      for (const cursor of cursors.values()) await cursor.close().catch(() => undefined)
      await cursorClient?.end().catch(() => undefined)
      await client?.end().catch(() => undefined)
      client = undefined
      return {ok: true}
  }
}

port.on('message', (request: Request) => {
  handle(request)
    .catch((error: Error & {code?: string; at?: number}): Reply => ({ok: false, error: {message: error.message, code: error.code, at: error.at}}))
    .then((reply) => {
      port.postMessage(reply)
      Atomics.store(flag, 0, 1)
      Atomics.notify(flag, 0)
      if (request.op === 'close') port.close()
    })
})
