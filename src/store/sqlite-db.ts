import Database from 'better-sqlite3'

import type {Db, Statement} from './db.js'

/** SQLite behind the store's `Db`: better-sqlite3's statements already have its shape. */
export class SqliteDb implements Db {
  readonly dialect = 'sqlite' as const
  readonly native: Database.Database

  constructor(path: string, opts: {readonly?: boolean; fileMustExist?: boolean} = {}) {
    this.native = new Database(path, {readonly: opts.readonly === true, fileMustExist: opts.fileMustExist === true})
  }

  get inTransaction(): boolean {
    return this.native.inTransaction
  }

  prepare(sql: string): Statement {
    return this.native.prepare(sql) as unknown as Statement
  }

  exec(sql: string): void {
    this.native.exec(sql)
  }

  transaction<T>(fn: () => T, immediate = true): T {
    const tx = this.native.transaction(fn)
    return immediate ? tx.immediate() : tx()
  }

  pragma(text: string, simple = false): unknown {
    return this.native.pragma(text, {simple})
  }

  close(): void {
    this.native.close()
  }
}
