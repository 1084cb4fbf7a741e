import {chmodSync, closeSync, existsSync, mkdirSync, openSync} from 'node:fs'
import {dirname, join} from 'node:path'

import Database from 'better-sqlite3'

import {UsageError} from '../errors/index.js'

/**
 * The local store (DESIGN §9): the source of truth for progressives, flussi and their states.
 * SQLite in WAL mode; every state change is one transaction; file 0600 in a 0700 folder.
 * Schema changes are numbered migrations, applied in order inside a transaction.
 */

const MIGRATIONS: string[] = [
  // 1: progressives and built flussi
  `CREATE TABLE progressives (
     ente TEXT NOT NULL, flow TEXT NOT NULL, day TEXT NOT NULL, last INTEGER NOT NULL,
     PRIMARY KEY (ente, flow, day)
   ) WITHOUT ROWID;
   CREATE TABLE flussi (
     id_flusso TEXT PRIMARY KEY,
     ente TEXT NOT NULL,
     flow TEXT NOT NULL,
     packaging TEXT NOT NULL,
     state TEXT NOT NULL,
     file TEXT,
     sha256 TEXT,
     beneficiari INTEGER NOT NULL,
     prestazioni INTEGER NOT NULL,
     source_file TEXT,
     source_sha256 TEXT,
     created_at TEXT NOT NULL,
     updated_at TEXT NOT NULL
   );
   CREATE TABLE events (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     at TEXT NOT NULL,
     id_flusso TEXT,
     event TEXT NOT NULL,
     detail TEXT
   );`,
]

export interface BuiltFlusso {
  idFlusso: string
  ente: string
  flow: string
  packaging: string
  file: string
  sha256: string
  beneficiari: number
  prestazioni: number
  sourceFile?: string
  sourceSha256?: string
}

export class Store {
  readonly db: Database.Database

  private constructor(readonly path: string) {
    this.db = new Database(path)
    this.db.pragma('journal_mode = WAL')
    this.db.pragma('busy_timeout = 10000')
    this.db.pragma('foreign_keys = ON')
    this.migrate()
  }

  /** Opens (creating with private permissions) the store at `path`. */
  static open(path: string): Store {
    if (path.startsWith('postgres://') || path.startsWith('postgresql://')) {
      throw new UsageError('STORE_POSTGRES_UNSUPPORTED', 'Lo store PostgreSQL non è ancora disponibile in questa versione: usa un file SQLite.', {
        suggestions: ['Togli CASELLARIO_STORE o indica un percorso di file, es. --store ./casellario.db'],
      })
    }
    const dir = dirname(path)
    if (!existsSync(dir)) mkdirSync(dir, {recursive: true, mode: 0o700})
    if (!existsSync(path)) closeSync(openSync(path, 'a', 0o600))
    chmodSync(path, 0o600)
    try {
      return new Store(path)
    } catch (error) {
      throw new UsageError('STORE_UNAVAILABLE', `Impossibile aprire lo store ${path}: ${(error as Error).message}`)
    }
  }

  static defaultPath(dataDir: string): string {
    return join(dataDir, 'casellario.db')
  }

  private migrate(): void {
    const version = this.db.pragma('user_version', {simple: true}) as number
    for (let v = version; v < MIGRATIONS.length; v++) {
      this.db.transaction(() => {
        this.db.exec(MIGRATIONS[v])
        this.db.pragma(`user_version = ${v + 1}`)
      }).immediate()
    }
  }

  /**
   * Reserves `count` progressives for ente/flow/day and returns the first. IMMEDIATE takes the
   * write lock before reading, so two concurrent builds never get the same number.
   */
  reserveProgressives(ente: string, flow: string, day: string, count: number): number {
    return this.db
      .transaction((): number => {
        const row = this.db.prepare('SELECT last FROM progressives WHERE ente = ? AND flow = ? AND day = ?').get(ente, flow, day) as {last: number} | undefined
        const first = (row?.last ?? 0) + 1
        this.db
          .prepare('INSERT INTO progressives (ente, flow, day, last) VALUES (?, ?, ?, ?) ON CONFLICT (ente, flow, day) DO UPDATE SET last = excluded.last')
          .run(ente, flow, day, first + count - 1)
        return first
      })
      .immediate()
  }

  /** Records the flussi of one build, all in one transaction. */
  recordBuilt(flussi: BuiltFlusso[]): void {
    const now = new Date().toISOString()
    const insert = this.db.prepare(
      `INSERT INTO flussi (id_flusso, ente, flow, packaging, state, file, sha256, beneficiari, prestazioni, source_file, source_sha256, created_at, updated_at)
       VALUES (?, ?, ?, ?, 'built', ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    const event = this.db.prepare(`INSERT INTO events (at, id_flusso, event, detail) VALUES (?, ?, 'built', ?)`)
    this.db.transaction(() => {
      for (const f of flussi) {
        insert.run(f.idFlusso, f.ente, f.flow, f.packaging, f.file, f.sha256, f.beneficiari, f.prestazioni, f.sourceFile ?? null, f.sourceSha256 ?? null, now, now)
        event.run(now, f.idFlusso, JSON.stringify({file: f.file, sha256: f.sha256}))
      }
    })()
  }

  close(): void {
    this.db.close()
  }
}
