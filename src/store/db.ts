/**
 * The store's connection, whatever the database (DESIGN §9): SQLite through better-sqlite3, or
 * PostgreSQL through `pg` on a worker thread bridged synchronously (postgres.ts). The Store writes
 * one set of statements for both; the few dialect differences live in schema.ts and `dialect`.
 */

export type Dialect = 'sqlite' | 'postgres'

export interface RunResult {
  /** rows changed; on PostgreSQL reading it waits for the statement (until then it may be pipelined) */
  readonly changes: number
}

export interface Statement {
  run(...params: unknown[]): RunResult
  get(...params: unknown[]): unknown
  all(...params: unknown[]): unknown[]
  iterate(...params: unknown[]): IterableIterator<unknown>
  /** the first column only */
  pluck(toggle?: boolean): Statement
  /** rows as arrays */
  raw(toggle?: boolean): Statement
}

export interface Db {
  readonly dialect: Dialect
  prepare(sql: string): Statement
  /** statements without parameters, separated by semicolons */
  exec(sql: string): void
  /**
   * Runs `fn` in one transaction (nested: a savepoint). `immediate` (SQLite) takes the write lock
   * first; PostgreSQL locks rows as they are written, and the store takes explicit locks where
   * order matters (ts_flusso).
   */
  transaction<T>(fn: () => T, immediate?: boolean): T
  readonly inTransaction: boolean
  close(): void
}
