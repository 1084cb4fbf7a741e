import type {Dialect} from './db.js'

/**
 * The one place where the two databases' DDL differ (DESIGN §9). Migrations are written once, in
 * SQLite's words; for PostgreSQL they are translated: INTEGER is 64-bit (BIGINT), BLOB is BYTEA,
 * AUTOINCREMENT is BIGSERIAL, WITHOUT ROWID has no meaning, and the tables the store orders by
 * insertion (`rowid`) get that column explicitly. A statement no translation can express (a
 * trigger) is written for each database: `{sqlite, postgres}`.
 */

export type DialectSql = Record<Dialect, string>
export type Migration = string | Array<string | DialectSql>

/** Tables that SQLite gives an implicit rowid and the store orders by it. */
const ROWID_TABLES = ['flussi', 'submissions']

export function toPostgresDdl(sql: string): string {
  return sql
    .replace(/\bINTEGER PRIMARY KEY AUTOINCREMENT\b/g, 'BIGSERIAL PRIMARY KEY')
    .replace(/\bINTEGER\b/g, 'BIGINT')
    .replace(/\bBLOB\b/g, 'BYTEA')
    .replace(/\)\s*WITHOUT ROWID/g, ')')
    .replace(new RegExp(`CREATE TABLE (${ROWID_TABLES.join('|')}) \\(`, 'g'), 'CREATE TABLE $1 (\n     rowid BIGSERIAL NOT NULL,')
}

/** A migration's SQL for one database. */
export function migrationSql(migration: Migration, dialect: Dialect): string {
  const parts = typeof migration === 'string' ? [migration] : migration
  return parts.map((part) => (typeof part === 'string' ? (dialect === 'postgres' ? toPostgresDdl(part) : part) : part[dialect])).join(';\n')
}
