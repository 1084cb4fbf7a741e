import {randomBytes} from 'node:crypto'
import {join} from 'node:path'

import type {Db} from '../../src/store/db.js'
import {isPostgresLocation, pgConfig} from '../../src/store/postgres-config.js'
import {PgDb} from '../../src/store/postgres.js'
import {SqliteDb} from '../../src/store/sqlite-db.js'

/**
 * The store suites run on both stores (DESIGN §9): a SQLite file, and a PostgreSQL database of
 * their own on 127.0.0.1:5432 (trust auth, user postgres or root), created for the test and
 * dropped after the run. CASELLARIO_TEST_STORES=sqlite (or postgres) narrows a run to one.
 */

export type Backend = 'sqlite' | 'postgres'
export const STORE_BACKENDS: Backend[] = (process.env.CASELLARIO_TEST_STORES ?? 'sqlite,postgres').split(',').map((b) => b.trim() as Backend)

const HOST = process.env.CASELLARIO_TEST_PGHOST ?? '127.0.0.1'
const PORT = process.env.CASELLARIO_TEST_PGPORT ?? '5432'
const created: string[] = []
let admin: {db: PgDb; user: string} | undefined

/** A connection to the server's `postgres` database as whichever of the usual superusers answers. */
function adminDb(): {db: PgDb; user: string} {
  if (admin) return admin
  const users = [...new Set([process.env.PGUSER, 'postgres', 'root'].filter((u): u is string => Boolean(u)))]
  let last: unknown
  for (const user of users) {
    try {
      admin = {db: new PgDb(pgConfig(`postgres://${user}@${HOST}:${PORT}/postgres?sslmode=disable`, {}), 'test admin'), user}
      return admin
    } catch (error) {
      last = error
    }
  }
  throw new Error(`no PostgreSQL on ${HOST}:${PORT} for the store tests (${(last as Error)?.message})`)
}

/** A new, empty PostgreSQL database for one test: its URL (no password: trust auth on loopback). */
export function freshPostgres(): string {
  const {db, user} = adminDb()
  const name = `casellario_test_${randomBytes(6).toString('hex')}`
  db.exec(`CREATE DATABASE ${name}`)
  created.push(name)
  return `postgres://${user}@${HOST}:${PORT}/${name}?sslmode=disable`
}

/** Where a test's store is on `backend`: a file in `dir`, or a database of its own. */
export function storeFor(backend: Backend, dir: string): string {
  return backend === 'sqlite' ? join(dir, 'store.db') : freshPostgres()
}

/** Drops the databases the tests created (their connections are cut first). */
export function dropTestDatabases(): void {
  if (!admin) return
  for (const name of created.splice(0)) admin.db.exec(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
}

const readers = new Map<string, Db>()

/**
 * Rows of `sql` read from a store the way another process would: a SQLite file read-only (never
 * created: undefined while it does not exist), a PostgreSQL database through its own connection.
 */
export function queryStore<T = Record<string, unknown>>(location: string, sql: string, ...params: unknown[]): T[] | undefined {
  if (isPostgresLocation(location)) {
    let db = readers.get(location)
    if (!db) readers.set(location, (db = new PgDb(pgConfig(location, {}), 'test reader')))
    try {
      return db.prepare(sql).all(...params) as T[]
    } catch {
      return undefined // the schema is being created
    }
  }
  let db: SqliteDb
  try {
    db = new SqliteDb(location, {readonly: true, fileMustExist: true})
  } catch {
    return undefined
  }
  try {
    return db.prepare(sql).all(...params) as T[]
  } catch {
    return undefined
  } finally {
    db.close()
  }
}

/** Closes the readers of a store (before its database is dropped). */
export function closeReaders(): void {
  for (const db of readers.values()) db.close()
  readers.clear()
}

// mocha: once every file has run, the databases go
if (typeof after === 'function') {
  after(() => {
    closeReaders()
    dropTestDatabases()
    admin?.db.close()
    admin = undefined
  })
}
