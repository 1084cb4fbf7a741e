import {chmodSync, closeSync, existsSync, openSync} from 'node:fs'

import Database from 'better-sqlite3'

/**
 * What the sandbox received, kept in its own SQLite file so that it outlives the process: a
 * later `sync --endpoint sandbox` reads the esiti of an earlier `submit`. Each entry's esito has
 * its own acquisition time, strictly increasing, so `GET /esiti?since` never skips one.
 */

export interface ReceivedEntry {
  idFlusso: string
  contentSha256: string
  tipo: string
  codiceEnte: string
  tsFlusso: string
  esito: string
  descrizione?: string
}

export interface StoredEsito {
  id_flusso: string
  tipo: string
  ts_flusso: string
  esito_at: number
  codice_esito: string
  descrizione_esito: string | null
  id_acquisizione_siuss: string | null
}

export class SandboxState {
  private readonly db: Database.Database

  constructor(path: string) {
    if (path !== ':memory:' && !existsSync(path)) closeSync(openSync(path, 'a', 0o600))
    if (path !== ':memory:') chmodSync(path, 0o600)
    this.db = new Database(path)
    this.db.pragma('journal_mode = WAL')
    this.db.pragma('busy_timeout = 10000')
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS received (
        id_flusso TEXT PRIMARY KEY,
        content_sha256 TEXT NOT NULL,
        tipo TEXT NOT NULL,
        codice_ente TEXT NOT NULL,
        ts_flusso TEXT NOT NULL,
        received_at INTEGER NOT NULL,
        esito_at INTEGER NOT NULL UNIQUE,
        codice_esito TEXT NOT NULL,
        descrizione_esito TEXT,
        id_acquisizione_siuss TEXT
      );
      CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, n INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS holdings (identity TEXT PRIMARY KEY, content TEXT NOT NULL, id_flusso TEXT NOT NULL);`)
  }

  /** How each id of a batch stands: new, the same content again, or different content. */
  classify(entries: Array<{idFlusso: string; contentSha256: string}>): Map<string, 'new' | 'duplicate' | 'conflict'> {
    const get = this.db.prepare('SELECT content_sha256 FROM received WHERE id_flusso = ?').pluck()
    const out = new Map<string, 'new' | 'duplicate' | 'conflict'>()
    for (const e of entries) {
      const known = get.get(e.idFlusso) as string | undefined
      out.set(e.idFlusso, known === undefined ? 'new' : known === e.contentSha256 ? 'duplicate' : 'conflict')
    }
    return out
  }

  /** Stores a batch's new entries, with their esiti due `delayMs` from now, in one transaction. */
  receive(entries: ReceivedEntry[], delayMs: number): void {
    const last = this.db.prepare('SELECT max(esito_at) FROM received').pluck()
    const insert = this.db.prepare(
      `INSERT INTO received (id_flusso, content_sha256, tipo, codice_ente, ts_flusso, received_at, esito_at, codice_esito, descrizione_esito, id_acquisizione_siuss)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id_flusso) DO NOTHING`,
    )
    this.db
      .transaction(() => {
        const now = Date.now()
        let at = Math.max(now + delayMs, ((last.get() as number | null) ?? 0) + 1)
        for (const e of entries) {
          const acquisition = e.esito === 'OK' ? String(100_000 + this.bump('acquisitions')) : null
          if (insert.run(e.idFlusso, e.contentSha256, e.tipo, e.codiceEnte, e.tsFlusso, now, at, e.esito, e.descrizione ?? null, acquisition).changes) at++
        }
      })
      .immediate()
  }

  /** Esiti already due, after `since` (ms), oldest first. */
  esiti(since: number, limit: number): StoredEsito[] {
    return this.db
      .prepare(
        `SELECT id_flusso, tipo, ts_flusso, esito_at, codice_esito, descrizione_esito, id_acquisizione_siuss FROM received
         WHERE esito_at > ? AND esito_at <= ? ORDER BY esito_at LIMIT ?`,
      )
      .all(since, Date.now(), limit) as StoredEsito[]
  }

  /** The prestazioni "INPS" holds after OK insertions and cancellations, by identity. */
  held(identity: string): string | undefined {
    return this.db.prepare('SELECT content FROM holdings WHERE identity = ?').pluck().get(identity) as string | undefined
  }

  hold(identity: string, content: string, idFlusso: string): void {
    this.db.prepare('INSERT INTO holdings (identity, content, id_flusso) VALUES (?, ?, ?) ON CONFLICT (identity) DO UPDATE SET content = excluded.content, id_flusso = excluded.id_flusso').run(identity, content, idFlusso)
  }

  release(identity: string): void {
    this.db.prepare('DELETE FROM holdings WHERE identity = ?').run(identity)
  }

  /** Runs `fn` in one write transaction. */
  atomically<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate()
  }

  bump(name: string, by = 1): number {
    return this.db.prepare('INSERT INTO counters (name, n) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET n = n + excluded.n RETURNING n').pluck().get(name, by) as number
  }

  /** Counts for tests and for the operator of `casellario sandbox`. */
  stats(): {received: number; held: number; byEsito: Record<string, number>; counters: Record<string, number>} {
    const byEsito: Record<string, number> = {}
    for (const r of this.db.prepare('SELECT codice_esito AS c, count(*) AS n FROM received GROUP BY codice_esito').all() as Array<{c: string; n: number}>) byEsito[r.c] = r.n
    const counters: Record<string, number> = {}
    for (const r of this.db.prepare('SELECT name, n FROM counters').all() as Array<{name: string; n: number}>) counters[r.name] = r.n
    return {
      received: (this.db.prepare('SELECT count(*) FROM received').pluck().get() as number) ?? 0,
      held: this.db.prepare('SELECT count(*) FROM holdings').pluck().get() as number,
      byEsito,
      counters,
    }
  }

  /** Every id received with the SHA-256 of its content. */
  received(): Array<{id_flusso: string; content_sha256: string; codice_esito: string}> {
    return this.db.prepare('SELECT id_flusso, content_sha256, codice_esito FROM received ORDER BY id_flusso').all() as Array<{id_flusso: string; content_sha256: string; codice_esito: string}>
  }

  close(): void {
    this.db.close()
  }
}
