import {chmodSync, closeSync, existsSync, mkdirSync, openSync} from 'node:fs'
import {dirname, join} from 'node:path'

import {hostname} from 'node:os'

import {engineNow} from '../clock/index.js'
import {privateSqliteTemp} from '../runtime/private-temp.js'
import {BugError, UsageError} from '../errors/index.js'
import type {Db, Statement} from './db.js'
import {displayLocation, isPostgresLocation, pgConfig} from './postgres-config.js'
import {PgDb, PgError} from './postgres.js'
import {postgresError} from './postgres-errors.js'
import {migrationSql, type Migration} from './schema.js'
import {SqliteDb} from './sqlite-db.js'

/**
 * The store (DESIGN §9): the source of truth for progressives, flussi and their states. SQLite in
 * WAL mode (file 0600 in a 0700 folder), or PostgreSQL shared by several runners: one class, one
 * set of statements written for both, over `Db` (db.ts). Every state change is one transaction.
 * Schema changes are numbered migrations, the same on both (schema.ts translates the DDL),
 * applied in order inside a transaction.
 */

const MIGRATIONS: Migration[] = [
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
  // 2: submissions, their flussi's content and delivery, records with source rows, esiti cursors
  `CREATE TABLE submissions (
     id TEXT PRIMARY KEY,
     flow TEXT NOT NULL,
     ente TEXT NOT NULL,
     codice_ente TEXT NOT NULL,
     denominazione_ente TEXT,
     transport TEXT NOT NULL,
     endpoint TEXT,
     source_file TEXT,
     source_sha256 TEXT,
     rows INTEGER NOT NULL,
     valid INTEGER NOT NULL,
     errors INTEGER NOT NULL,
     created_at TEXT NOT NULL
   );
   CREATE INDEX submissions_source ON submissions (source_sha256, flow, ente, transport);
   ALTER TABLE flussi ADD COLUMN submission_id TEXT REFERENCES submissions (id);
   ALTER TABLE flussi ADD COLUMN xml BLOB;
   ALTER TABLE flussi ADD COLUMN ts_flusso INTEGER;
   ALTER TABLE flussi ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE flussi ADD COLUMN ricevuta TEXT;
   ALTER TABLE flussi ADD COLUMN esito TEXT;
   ALTER TABLE flussi ADD COLUMN esito_descrizione TEXT;
   ALTER TABLE flussi ADD COLUMN id_acquisizione TEXT;
   ALTER TABLE flussi ADD COLUMN ts_acquisizione INTEGER;
   CREATE INDEX flussi_submission ON flussi (submission_id, state, id_flusso);
   CREATE INDEX flussi_state ON flussi (state);
   CREATE TABLE records (
     id_flusso TEXT NOT NULL REFERENCES flussi (id_flusso),
     seq INTEGER NOT NULL,
     source_row INTEGER NOT NULL,
     PRIMARY KEY (id_flusso, seq)
   ) WITHOUT ROWID;
   CREATE TABLE cursors (endpoint TEXT PRIMARY KEY, since INTEGER NOT NULL);`,
  // 3: what INPS holds, per record: identity, content fingerprint, operation, the sent bytes (DESIGN §9)
  `ALTER TABLE records ADD COLUMN identity TEXT;
   ALTER TABLE records ADD COLUMN fingerprint TEXT;
   ALTER TABLE records ADD COLUMN op TEXT NOT NULL DEFAULT 'I';
   ALTER TABLE records ADD COLUMN period TEXT;
   ALTER TABLE records ADD COLUMN header_length INTEGER;
   ALTER TABLE records ADD COLUMN xml BLOB;
   ALTER TABLE records ADD COLUMN cancelled_by TEXT;
   CREATE INDEX records_identity ON records (identity);
   ALTER TABLE flussi ADD COLUMN operation TEXT NOT NULL DEFAULT 'I';`,
  // 4: WaaS pulls flussi by ts_flusso (strictly increasing from now on), each entry serialised once
  `CREATE INDEX flussi_ts ON flussi (ts_flusso);
   ALTER TABLE flussi ADD COLUMN entry BLOB;
   CREATE UNIQUE INDEX flussi_waas_ts ON flussi (ts_flusso) WHERE entry IS NOT NULL;`,
  // 5: esiti for flussi this store never had, once per (id_flusso, esito): found by key, never by a scan of the log
  `CREATE TABLE unknown_esiti (
     id_flusso TEXT NOT NULL,
     esito TEXT NOT NULL,
     received_at TEXT NOT NULL,
     PRIMARY KEY (id_flusso, esito)
   );`,
  // 6: the audit trail (who, which command) kept append-only; purged flussi (DESIGN §13)
  [
    `ALTER TABLE events ADD COLUMN command TEXT;
     ALTER TABLE events ADD COLUMN operatore TEXT;
     ALTER TABLE events ADD COLUMN submission_id TEXT;
     CREATE INDEX events_at ON events (at);
     CREATE INDEX events_flusso ON events (id_flusso)`,
    {
      sqlite: `CREATE TRIGGER events_no_update BEFORE UPDATE ON events BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
     CREATE TRIGGER events_no_delete BEFORE DELETE ON events BEGIN SELECT RAISE(ABORT, 'events are append-only'); END`,
      postgres: `CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'events are append-only'; END $$;
     CREATE TRIGGER events_no_update BEFORE UPDATE ON events FOR EACH ROW EXECUTE FUNCTION events_append_only();
     CREATE TRIGGER events_no_delete BEFORE DELETE ON events FOR EACH ROW EXECUTE FUNCTION events_append_only()`,
    },
    `ALTER TABLE flussi ADD COLUMN purged_at TEXT;
     CREATE INDEX flussi_purgeable ON flussi (updated_at) WHERE purged_at IS NULL AND state IN ('accepted', 'rejected', 'cancelled');`,
  ],
  // 7: several runners on one store: who is handing an undelivered flusso over, until when (ms)
  `ALTER TABLE flussi ADD COLUMN claimed_by TEXT;
   ALTER TABLE flussi ADD COLUMN claim_until INTEGER;`,
  // 8: the ente is a dimension of everything (DESIGN §9): WaaS pages per ente, unknown esiti and esiti cursors per ente
  `CREATE INDEX flussi_waas_ente_ts ON flussi (ente, ts_flusso) WHERE entry IS NOT NULL;
   CREATE INDEX submissions_ente ON submissions (ente, created_at);
   ALTER TABLE unknown_esiti RENAME TO unknown_esiti_6;
   CREATE TABLE unknown_esiti (
     ente TEXT NOT NULL DEFAULT '',
     id_flusso TEXT NOT NULL,
     esito TEXT NOT NULL,
     received_at TEXT NOT NULL,
     PRIMARY KEY (ente, id_flusso, esito)
   );
   INSERT INTO unknown_esiti (ente, id_flusso, esito, received_at) SELECT '', id_flusso, esito, received_at FROM unknown_esiti_6;
   DROP TABLE unknown_esiti_6;
   ALTER TABLE cursors RENAME TO cursors_6;
   CREATE TABLE cursors (
     ente TEXT NOT NULL DEFAULT '',
     endpoint TEXT NOT NULL,
     since INTEGER NOT NULL,
     PRIMARY KEY (ente, endpoint)
   );
   INSERT INTO cursors (ente, endpoint, since) SELECT '', endpoint, since FROM cursors_6;
   DROP TABLE cursors_6;`,
  // 9: what push sends next (flussiToSend), in order: without the operation in the index, every
  // batch read and sorted all the submission's unsent flussi, and checked each for cancellations
  // still to send — a push of 100k flussi took a minute per batch of 100
  `CREATE INDEX flussi_outgoing ON flussi (submission_id, operation, state, id_flusso);`,
]

/** How long a runner's claim on undelivered flussi lasts before another runner may take them over (ms). */
export function claimLeaseMs(): number {
  const ms = Number(process.env.CASELLARIO_CLAIM_LEASE_MS)
  return Number.isFinite(ms) && ms > 0 ? ms : 5 * 60_000
}

/** progressives a PostgreSQL transaction takes at once when it asks for them one by one */
const PROGRESSIVE_BLOCK = 500

/** PostgreSQL advisory lock held while ts_flusso is allocated: WaaS flussi commit in ts_flusso order. */
const TS_FLUSSO_LOCK = 0x63617365

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

/**
 * A flusso's life (DESIGN §9). `sending`: handed to the endpoint, answer not yet recorded (a
 * resend is safe: id_flusso is the idempotency key). `conflict`: the endpoint holds different
 * content under this id, a person must look. A record is in exactly one flusso and shares its state.
 */
export const FLUSSO_STATES = ['built', 'signed', 'queued', 'delivered', 'sending', 'sent', 'exported', 'accepted', 'rejected', 'conflict', 'cancelled'] as const
export type FlussoState = (typeof FLUSSO_STATES)[number]
/** waiting for the endpoint's esito */
export const AWAITING_ESITO: readonly FlussoState[] = ['sending', 'sent', 'queued', 'delivered', 'exported']
export const FINAL_STATES: readonly FlussoState[] = ['accepted', 'rejected', 'cancelled']
/** not yet handed to the endpoint (or handed without a recorded answer) */
export const UNDELIVERED_STATES: readonly FlussoState[] = ['built', 'signed', 'sending']
/** refused by the endpoint: a submission with one exits 4 */
export const REFUSED_STATES: readonly FlussoState[] = ['rejected', 'conflict']

export interface SubmissionInit {
  id: string
  flow: string
  ente: string
  /** Belfiore code: WaaS `codice_ente` */
  codiceEnte: string
  denominazioneEnte?: string
  transport: 'push' | 'waas' | 'file'
  endpoint?: string
  sourceFile?: string
  sourceSha256?: string
  rows: number
  valid: number
  errors: number
}

export interface Submission extends SubmissionInit {
  createdAt: string
  /** flussi per state */
  states: Partial<Record<FlussoState, number>>
  flussi: number
}

export interface QueuedFlusso {
  idFlusso: string
  submissionId: string
  ente: string
  flow: string
  packaging: string
  state: FlussoState
  xml?: Buffer
  /** waas: the OpenAPI `Flusso` entry, UTF-8 JSON, as `GET /flussi` hands it out (instead of `xml`) */
  entry?: Buffer
  file?: string
  sha256: string
  tsFlusso: number
  beneficiari: number
  prestazioni: number
  sourceFile?: string
  sourceSha256?: string
  /** spreadsheet rows of its records, in order */
  rows: number[]
  /** I insertion, C cancellation (DESIGN §9) */
  operation?: 'I' | 'C'
  /** per record, parallel to `rows`: what delta detection needs later */
  details?: RecordDetail[]
}

/** A record as INPS receives it: its identity, fingerprint, and the exact bytes sent. */
export interface RecordDetail {
  identity: string
  fingerprint: string
  op: 'I' | 'C'
  /** year of the prestazione: `--cancel-missing` stays within the periods of the new export */
  period: string
  /** Beneficiario opening + the record element, UTF-8, as sent */
  header: Buffer
  record: Buffer
  /** the accepted record this C cancels */
  cancels?: {idFlusso: string; seq: number}
}

/** The version of a prestazione INPS has or will have: the latest insertion not cancelled nor refused. */
export interface LiveRecord {
  idFlusso: string
  seq: number
  /** keyed (see `keyed`) when the flusso was purged */
  fingerprint: string
  state: FlussoState
  period: string
  /** empty when the flusso was purged: the bytes sent are gone, so it can no longer be cancelled from here */
  header: Buffer
  record: Buffer
  purged: boolean
}

/** Who acts on the store, for the audit trail (DESIGN §13): the command and the operator's codice fiscale. */
export interface Actor {
  command: string
  operatore?: string
}

/** One line of the audit trail: never a beneficiary's data, only ids, codes and hashes. */
export interface AuditEvent {
  id: number
  at: string
  operatore: string | null
  command: string | null
  ente: string | null
  submission: string | null
  idFlusso: string | null
  event: string
  sourceFile: string | null
  sourceSha256: string | null
  detail: string | null
}

export interface OutgoingFlusso {
  idFlusso: string
  xml: Buffer
  sha256: string
  tsFlusso: number
  state: FlussoState
}

export interface EsitoUpdate {
  idFlusso: string
  codiceEsito: string
  descrizione?: string
  idAcquisizione?: string
  /** ms */
  tsAcquisizione: number
}

export interface WaasPage {
  count: number
  /** the OpenAPI `Flusso` entries, UTF-8 JSON, separated by commas */
  entries: Buffer
  /** the page covers ts_flusso in (since, last] */
  since: number
  last: number
  /** the ente (codice) whose flussi the page holds: ts_flusso is shared by every ente, pages are not */
  ente: string
}

export interface FlussoRow {
  idFlusso: string
  submissionId: string | null
  /** the ente (codice) it belongs to */
  ente: string
  state: FlussoState
  flow: string
  packaging: string
  file: string | null
  sha256: string | null
  beneficiari: number
  prestazioni: number
  attempts: number
  ricevuta: string | null
  esito: string | null
  esitoDescrizione: string | null
  idAcquisizione: string | null
  tsAcquisizione: number | null
  createdAt: string
  updatedAt: string
}

export interface RowOutcome {
  row: number
  idFlusso: string
  state: FlussoState
  esito: string | null
  esitoDescrizione: string | null
}

/**
 * An insertion INPS has or will have (records `r` of flussi `f`, with `c` the flusso of a
 * cancellation of it): not refused, not taken back by a cancellation that was not refused.
 */
const LIVE_INSERTION = `r.op = 'I' AND f.state NOT IN ('rejected', 'conflict', 'cancelled') AND (r.cancelled_by IS NULL OR c.state IN ('rejected', 'conflict'))`

function isIncreasing(csv: string): boolean {
  let previous = -Infinity
  for (const part of csv.split(',')) {
    const n = Number(part)
    if (!(n > previous)) return false
    previous = n
  }
  return true
}

function sqlList(states: readonly FlussoState[]): string {
  return states.map((s) => `'${s}'`).join(', ')
}

const FLUSSO_COLUMNS = `id_flusso AS idFlusso, submission_id AS submissionId, ente, state, flow, packaging, file, sha256, beneficiari, prestazioni,
  attempts, ricevuta, esito, esito_descrizione AS esitoDescrizione, id_acquisizione AS idAcquisizione,
  ts_acquisizione AS tsAcquisizione, created_at AS createdAt, updated_at AS updatedAt`

export class Store {
  /** who claims undelivered flussi in this process (host, pid, a random part) */
  readonly runner = `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`

  private constructor(
    /** the location as given (a path, or a PostgreSQL URL/key-value string: never printed as is) */
    readonly path: string,
    readonly db: Db,
    readonly?: boolean,
  ) {
    if (db instanceof SqliteDb) {
      if (!readonly) db.pragma('journal_mode = WAL')
      db.pragma('busy_timeout = 10000')
      db.pragma('foreign_keys = ON')
    }
    if (!readonly) this.migrate()
    else if (this.schemaVersion() < MIGRATIONS.length) {
      this.db.close()
      throw new UsageError(
        'STORE_OUTDATED',
        {
          it: `Lo store ${displayLocation(path)} è di una versione precedente: va aggiornato prima di una prova a vuoto.`,
          en: `The store ${displayLocation(path)} is from an earlier version: it must be upgraded before a dry run.`,
        },
        {suggestions: [{it: 'casellario status   (aggiorna lo store)', en: 'casellario status   (upgrades the store)'}]},
      )
    }
  }

  /**
   * Opens (creating with private permissions) the store at `path`: a SQLite file, or a PostgreSQL
   * database (`postgres://…` or libpq key/value pairs). `readonly` (a dry run) never writes: a
   * SQLite store that does not exist yet is an empty one in memory.
   */
  static open(path: string, opts: {readonly?: boolean} = {}): Store {
    if (isPostgresLocation(path)) return Store.openPostgres(path, opts)
    if (opts.readonly) return existsSync(path) ? new Store(path, new SqliteDb(path, {readonly: true}), true) : new Store(':memory:', new SqliteDb(':memory:'))
    const dir = dirname(path)
    if (!existsSync(dir)) mkdirSync(dir, {recursive: true, mode: 0o700})
    if (!existsSync(path)) closeSync(openSync(path, 'a', 0o600))
    chmodSync(path, 0o600)
    try {
      return new Store(path, new SqliteDb(path))
    } catch (error) {
      throw new UsageError('STORE_UNAVAILABLE', {
        it: `Impossibile aprire lo store ${displayLocation(path)}: ${(error as Error).message}`,
        en: `Cannot open the store ${displayLocation(path)}: ${(error as Error).message}`,
      })
    }
  }

  private static openPostgres(location: string, opts: {readonly?: boolean}): Store {
    const shown = displayLocation(location)
    let db: PgDb
    try {
      db = new PgDb(pgConfig(location), shown)
    } catch (error) {
      throw postgresError(error, shown)
    }
    try {
      return new Store(location, db, opts.readonly)
    } catch (error) {
      db.close()
      throw error instanceof PgError ? postgresError(error, shown) : error
    }
  }

  static defaultPath(dataDir: string): string {
    return join(dataDir, 'casellario.db')
  }

  /** Whether this store is PostgreSQL (shared by several runners) rather than a SQLite file. */
  get shared(): boolean {
    return this.db.dialect === 'postgres'
  }

  private schemaVersion(): number {
    if (this.db instanceof SqliteDb) return this.db.pragma('user_version', true) as number
    const table = this.db.prepare(`SELECT to_regclass('schema_version') IS NOT NULL`).pluck().get() as number
    return table ? ((this.db.prepare('SELECT version FROM schema_version').pluck().get() as number | undefined) ?? 0) : 0
  }

  private migrate(): void {
    if (this.schemaVersion() >= MIGRATIONS.length) return
    const dialect = this.db.dialect
    this.db.transaction(() => {
      // several runners may start on a new database at once: one migrates, the others wait and see it done
      if (dialect === 'postgres') {
        this.db.exec(`SELECT pg_advisory_xact_lock(${TS_FLUSSO_LOCK - 1}); CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)`)
      }
      for (let v = this.schemaVersion(); v < MIGRATIONS.length; v++) {
        this.db.exec(migrationSql(MIGRATIONS[v], dialect))
        if (this.db instanceof SqliteDb) this.db.pragma(`user_version = ${v + 1}`)
        else this.db.exec(`DELETE FROM schema_version; INSERT INTO schema_version (version) VALUES (${v + 1})`)
      }
    }, true)
  }

  /**
   * Reserves `count` progressives for ente/flow/day and returns the first. IMMEDIATE takes the
   * write lock before reading, so two concurrent builds never get the same number.
   */
  reserveProgressives(ente: string, flow: string, day: string, count: number): number {
    return this.transaction(() => this.takeProgressives(ente, flow, day, count))
  }

  /**
   * reserveProgressives for a caller already inside a write transaction. One statement allocates
   * inside the database (the row stays locked until commit): two runners on one PostgreSQL never
   * get the same number.
   */
  takeProgressives(ente: string, flow: string, day: string, count: number): number {
    // PostgreSQL, one at a time inside a transaction (queueing a submission's flussi): a block is
    // allocated once and handed out here, its unused tail given back before commit (the row stays
    // locked meanwhile, so nobody took past it): one round trip per block, not per flusso
    if (this.shared && count === 1 && this.db.inTransaction) {
      const key = `${ente}\u0000${flow}\u0000${day}`
      let block = this.progressiveBlocks.get(key)
      if (!block || block.next > block.last) {
        const last = this.allocateProgressives(ente, flow, day, PROGRESSIVE_BLOCK)
        block = {ente, flow, day, next: last - PROGRESSIVE_BLOCK + 1, last}
        this.progressiveBlocks.set(key, block)
      }
      return block.next++
    }
    return this.allocateProgressives(ente, flow, day, count) - count + 1
  }

  /** Blocks of progressives taken in the current transaction (PostgreSQL), by ente/flow/day. */
  private readonly progressiveBlocks = new Map<string, {ente: string; flow: string; day: string; next: number; last: number}>()

  /** Before commit: what the blocks did not use goes back (nobody can have taken past it: the row is locked). */
  private returnProgressives(): void {
    const giveBack = this.prepare('UPDATE progressives SET last = ? WHERE ente = ? AND flow = ? AND day = ? AND last = ?')
    for (const b of this.progressiveBlocks.values()) if (b.next <= b.last) giveBack.run(b.next - 1, b.ente, b.flow, b.day, b.last)
    this.progressiveBlocks.clear()
  }

  /** Moves the progressive of ente/flow/day on by `count` in one statement; returns the new last. */
  private allocateProgressives(ente: string, flow: string, day: string, count: number): number {
    return this.prepare(
      'INSERT INTO progressives (ente, flow, day, last) VALUES (?, ?, ?, ?) ON CONFLICT (ente, flow, day) DO UPDATE SET last = progressives.last + ? RETURNING last',
    )
      .pluck()
      .get(ente, flow, day, count, count) as number
  }

  /** Records the flussi of one build, all in one transaction. */
  recordBuilt(flussi: BuiltFlusso[]): void {
    const now = engineNow().toISOString()
    const insert = this.prepare(
      `INSERT INTO flussi (id_flusso, ente, flow, packaging, state, file, sha256, beneficiari, prestazioni, source_file, source_sha256, created_at, updated_at)
       VALUES (?, ?, ?, ?, 'built', ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    this.transaction(() => {
      for (const f of flussi) {
        insert.run(f.idFlusso, f.ente, f.flow, f.packaging, f.file, f.sha256, f.beneficiari, f.prestazioni, f.sourceFile ?? null, f.sourceSha256 ?? null, now, now)
        this.event(f.idFlusso, 'built', {file: f.file, sha256: f.sha256}, now)
      }
    })
  }

  /**
   * A prepared statement, compiled once per connection: queueing a million flussi runs the same
   * few statements a million times. Each call site has its own SQL text, so a statement's mode
   * (pluck, raw) is always the one that site sets.
   */
  private prepare(sql: string): Statement {
    let statement = this.statements.get(sql)
    if (!statement) this.statements.set(sql, (statement = this.db.prepare(sql)))
    return statement
  }

  private readonly statements = new Map<string, Statement>()

  /** Runs `fn` in one write transaction (the lock is taken first: no upgrade deadlocks). */
  transaction<T>(fn: () => T): T {
    if (this.db.inTransaction) return this.db.transaction(fn, true)
    try {
      return this.db.transaction(() => {
        const result = fn()
        this.returnProgressives()
        return result
      }, true)
    } finally {
      this.progressiveBlocks.clear()
    }
  }

  private event(idFlusso: string | null, event: string, detail?: unknown, at = engineNow().toISOString(), submissionId: string | null = null): void {
    this.prepare('INSERT INTO events (at, id_flusso, event, detail, command, operatore, submission_id) VALUES (?, ?, ?, ?, ?, ?, ?)').run(
      at, idFlusso, event, detail === undefined ? null : JSON.stringify(detail), this.actor.command, this.actor.operatore ?? null, submissionId,
    )
  }

  private actor: Actor = {command: 'casellario'}

  /** Who the following events are recorded for (the audit trail). */
  setActor(actor: Actor): void {
    this.actor = actor
  }

  currentActor(): Actor {
    return this.actor
  }

  /** Call inside `transaction`, with the submission's flussi: they appear together or not at all. */
  insertSubmission(s: SubmissionInit): void {
    this
      .prepare(
        `INSERT INTO submissions (id, flow, ente, codice_ente, denominazione_ente, transport, endpoint, source_file, source_sha256, rows, valid, errors, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(s.id, s.flow, s.ente, s.codiceEnte, s.denominazioneEnte ?? null, s.transport, s.endpoint ?? null, s.sourceFile ?? null, s.sourceSha256 ?? null, s.rows, s.valid, s.errors, engineNow().toISOString())
    this.event(null, 'submission', {id: s.id, transport: s.transport, endpoint: s.endpoint, valid: s.valid, errors: s.errors}, undefined, s.id)
  }

  /** Call inside `transaction`. */
  insertFlusso(f: QueuedFlusso): void {
    const now = engineNow().toISOString()
    this.prepare(
      `INSERT INTO flussi (id_flusso, ente, flow, packaging, state, file, sha256, beneficiari, prestazioni, source_file, source_sha256, created_at, updated_at, submission_id, xml, ts_flusso, entry, operation)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      f.idFlusso, f.ente, f.flow, f.packaging, f.state, f.file ?? null, f.sha256, f.beneficiari, f.prestazioni, f.sourceFile ?? null, f.sourceSha256 ?? null, now, now,
      f.submissionId, f.xml ?? null, f.tsFlusso, f.entry ?? null, f.operation ?? 'I',
    )
    const record = this.prepare(
      'INSERT INTO records (id_flusso, seq, source_row, identity, fingerprint, op, period, header_length, xml) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    )
    const cancel = this.prepare('UPDATE records SET cancelled_by = ? WHERE id_flusso = ? AND seq = ?')
    for (let i = 0; i < f.rows.length; i++) {
      const d = f.details?.[i]
      record.run(f.idFlusso, i, f.rows[i], d?.identity ?? null, d?.fingerprint ?? null, d?.op ?? 'I', d?.period ?? null, d ? d.header.length : null, d ? Buffer.concat([d.header, d.record]) : null)
      if (d?.cancels) cancel.run(f.idFlusso, d.cancels.idFlusso, d.cancels.seq)
    }
    this.event(f.idFlusso, f.state, {submission: f.submissionId, sha256: f.sha256})
  }

  submission(id: string): Submission | undefined {
    const row = this
      .prepare(
        `SELECT id, flow, ente, codice_ente AS codiceEnte, denominazione_ente AS denominazioneEnte, transport, endpoint, source_file AS sourceFile,
                source_sha256 AS sourceSha256, rows, valid, errors, created_at AS createdAt FROM submissions WHERE id = ?`,
      )
      .get(id) as Omit<Submission, 'states' | 'flussi'> | undefined
    if (!row) return undefined
    const states: Submission['states'] = {}
    let flussi = 0
    for (const c of this.prepare('SELECT state, count(*) AS n FROM flussi WHERE submission_id = ? GROUP BY state').all(id) as Array<{state: FlussoState; n: number}>) {
      states[c.state] = c.n
      flussi += c.n
    }
    return {...nullsToUndefined(row), states, flussi}
  }

  /** Submissions, newest first. */
  submissions(filter: {since?: string; state?: FlussoState; limit?: number; ente?: string} = {}): Submission[] {
    const ids = this
      .prepare(
        `SELECT s.id FROM submissions s WHERE (CAST(? AS TEXT) IS NULL OR s.created_at >= ?) AND (CAST(? AS TEXT) IS NULL OR s.ente = ?)
           AND (CAST(? AS TEXT) IS NULL OR EXISTS (SELECT 1 FROM flussi f WHERE f.submission_id = s.id AND f.state = ?))
         ORDER BY s.created_at DESC, s.rowid DESC LIMIT ?`,
      )
      .all(filter.since ?? null, filter.since ?? null, filter.ente ?? null, filter.ente ?? null, filter.state ?? null, filter.state ?? null, filter.limit ?? 1000) as Array<{id: string}>
    return ids.map(({id}) => this.submission(id)!)
  }

  /**
   * Submissions of `ente` (when given) to this destination with flussi not yet handed over (built or
   * sending) that this runner may take: not claimed by another runner whose lease is still running.
   * Oldest first. A run resumes only its own ente's: another ente's flussi would go out under this
   * run's credentials and signature.
   */
  undeliveredSubmissions(transport: string, endpoint: string | undefined, ente?: string): Submission[] {
    this.releaseClaimsOfDeadRunners()
    const ids = this
      .prepare(
        `SELECT s.id FROM submissions s WHERE s.transport = ? AND s.endpoint IS NOT DISTINCT FROM ? AND (CAST(? AS TEXT) IS NULL OR s.ente = ?)
           AND EXISTS (SELECT 1 FROM flussi f WHERE f.submission_id = s.id AND f.state IN ('built', 'sending')
                         AND (f.claim_until IS NULL OR f.claim_until < ? OR f.claimed_by = ?))
         ORDER BY s.created_at, s.rowid`,
      )
      .pluck()
      .all(transport, endpoint ?? null, ente ?? null, ente ?? null, Date.now(), this.runner) as string[]
    return ids.map((id) => this.submission(id)!)
  }

  /**
   * Flussi of a submission with this operation still to hand to the endpoint, in id order, after
   * `afterId`, claimed for this runner until the lease runs out: whichever runner delivers takes
   * them (PostgreSQL: FOR UPDATE SKIP LOCKED, so two runners never take the same flusso), and a
   * runner killed mid-delivery leaves them to the next one once its lease has expired. Insertions
   * wait while the submission's cancellations are not all handed over.
   */
  flussiToSend(submissionId: string, operation: 'I' | 'C', afterId: string, limit: number): OutgoingFlusso[] {
    return this.transaction(() => {
      const now = Date.now()
      const rows = this.prepare(
        `SELECT id_flusso AS idFlusso, xml, sha256, ts_flusso AS tsFlusso, state FROM flussi f
         WHERE submission_id = ? AND operation = ? AND state IN ('built', 'sending') AND id_flusso > ?
           AND (claim_until IS NULL OR claim_until < ? OR claimed_by = ?)
           AND (operation = 'C' OR NOT EXISTS (SELECT 1 FROM flussi c WHERE c.submission_id = f.submission_id AND c.operation = 'C' AND c.state IN ('built', 'sending')))
         ORDER BY id_flusso LIMIT ?${this.shared ? ' FOR UPDATE SKIP LOCKED' : ''}`,
      ).all(submissionId, operation, afterId, now, this.runner, limit) as OutgoingFlusso[]
      this.claim(rows.map((r) => r.idFlusso), now)
      return rows
    })
  }

  /**
   * Claims of runners on this machine whose process is gone (killed) end now, not when their lease
   * runs out: a run started again right after a kill resumes at once, as on a single machine it always did.
   */
  private releaseClaimsOfDeadRunners(): void {
    const host = `${hostname()}:`
    const claimants = this.prepare(
      `SELECT DISTINCT claimed_by FROM flussi WHERE state IN ('built', 'sending') AND claim_until >= ? AND substr(claimed_by, 1, ?) = ?`,
    )
      .pluck()
      .all(Date.now(), host.length, host) as string[]
    const release = this.prepare(`UPDATE flussi SET claim_until = NULL WHERE claimed_by = ? AND state IN ('built', 'sending')`)
    for (const claimant of claimants) {
      const pid = Number(claimant.slice(host.length).split(':')[0])
      if (pid === process.pid || !Number.isInteger(pid) || processAlive(pid)) continue
      release.run(claimant)
    }
  }

  /** Claims (or renews the claim on) these flussi for this runner. Call inside `transaction`. */
  private claim(ids: string[], now = Date.now()): void {
    const update = this.prepare('UPDATE flussi SET claimed_by = ?, claim_until = ? WHERE id_flusso = ?')
    for (const id of ids) update.run(this.runner, now + claimLeaseMs(), id)
  }

  /**
   * The live version of a prestazione: its latest insertion whose flusso was not refused and
   * that no cancellation (other than a refused one) has taken back.
   */
  /** The flusso whose cancellation of this prestazione INPS accepted, if any (the latest). */
  acceptedCancellation(identity: string): string | undefined {
    return this.prepare(
      `SELECT r.id_flusso FROM records r JOIN flussi f ON f.id_flusso = r.id_flusso
       WHERE r.identity IN (?, ?) AND r.op = 'C' AND f.state = 'accepted' ORDER BY f.rowid DESC LIMIT 1`,
    )
      .pluck()
      .get(identity, this.keyed(identity)) as string | undefined
  }

  liveRecord(identity: string): LiveRecord | undefined {
    // a purged flusso keeps its records' identity keyed: both forms are looked up through the index
    const row = this
      .prepare(
        `SELECT r.id_flusso AS idFlusso, r.seq, r.fingerprint, f.state, r.period, r.header_length AS headerLength, r.xml, f.purged_at IS NOT NULL AS purged
         FROM records r JOIN flussi f ON f.id_flusso = r.id_flusso LEFT JOIN flussi c ON c.id_flusso = r.cancelled_by
         WHERE r.identity IN (?, ?) AND ${LIVE_INSERTION}
         ORDER BY f.rowid DESC, r.seq DESC LIMIT 1`,
      )
      .get(identity, this.keyed(identity)) as (Omit<LiveRecord, 'header' | 'record' | 'purged'> & {headerLength: number | null; xml: Buffer | null; purged: number}) | undefined
    if (!row) return undefined
    const {headerLength, xml, purged, ...rest} = row
    if (xml === null) return {...rest, header: Buffer.alloc(0), record: Buffer.alloc(0), purged: true}
    return {...rest, header: xml.subarray(0, headerLength!), record: xml.subarray(headerLength!), purged: purged === 1}
  }

  /**
   * Identities of this ente and flow with a live version in one of `periods` that are not in
   * `present` (a temporary table of the identities of the new export). Purged flussi are left out:
   * their identities are keyed, and their records can no longer be cancelled from here anyway.
   */
  liveIdentitiesMissingFrom(present: string, scope: {ente: string; flow: string; transport: string; endpoint?: string}, periods: string[]): string[] {
    if (periods.length === 0) return []
    return this
      .prepare(
        `SELECT DISTINCT r.identity FROM records r JOIN flussi f ON f.id_flusso = r.id_flusso JOIN submissions s ON s.id = f.submission_id
           LEFT JOIN flussi c ON c.id_flusso = r.cancelled_by
         WHERE f.ente = ? AND f.flow = ? AND s.transport = ? AND s.endpoint IS NOT DISTINCT FROM ? AND r.identity IS NOT NULL
           AND r.period IN (${periods.map(() => '?').join(',')}) AND ${LIVE_INSERTION} AND f.purged_at IS NULL
           AND NOT EXISTS (SELECT 1 FROM ${present} p WHERE p.identity = r.identity)
         ORDER BY r.identity`,
      )
      .pluck()
      .all(scope.ente, scope.flow, scope.transport, scope.endpoint ?? null, ...periods) as string[]
  }

  /**
   * The next ts_flusso (ms): never before `now`, always after every flusso already recorded, so
   * that INPS paging by `since` can never skip or repeat one. Call inside a write transaction.
   */
  nextTsFlusso(now: number): number {
    // PostgreSQL: runners allocate one after the other and commit in that order (the lock is held
    // until commit), so a reader paging by `since` never sees a later ts_flusso before an earlier one
    if (this.shared) this.prepare(`SELECT pg_advisory_xact_lock(${TS_FLUSSO_LOCK})`).get()
    const last = (this.prepare('SELECT max(ts_flusso) FROM flussi').pluck().get() as number | null) ?? 0
    return Math.max(now, last + 1)
  }

  /**
   * WaaS `GET /flussi`: the entries of flussi queued for INPS after `since` (ms), oldest first,
   * already joined by commas (one buffer from SQLite: no per-entry copies on the hot path). Only
   * the flussi of `ente` (its codice): each ente is its own e-service, and a page never carries
   * another ente's flussi (DESIGN §9).
   */
  waasPage(since: number, limit: number, ente: string): WaasPage {
    if (this.shared) return pgPage(this.prepare(WAAS_PAGE_PG).raw().all(ente, since, limit) as PgPageRow[], since, ente)
    const page = (ordered: boolean): string =>
      `SELECT count(*), max(ts_flusso), group_concat(ts_flusso), CAST(group_concat(entry, ','${ordered ? ' ORDER BY ts_flusso' : ''}) AS BLOB)
       FROM (SELECT ts_flusso, entry FROM flussi WHERE ente = ? AND ts_flusso > ? AND entry IS NOT NULL ORDER BY ts_flusso LIMIT ?)`
    let [count, last, order, entries] = this.prepare(page(false)).raw().get(ente, since, limit) as [number, number | null, string | null, Buffer | null]
    if (count === 0 || last === null || entries === null) return {count: 0, entries: Buffer.alloc(0), since, last: since, ente}
    // SQLite concatenates in the subquery's order in practice, but only promises it with ORDER BY
    // (which costs a sort of the entries): the cheap form is used when the order is checked right
    if (!isIncreasing(order!)) [count, last, order, entries] = this.prepare(page(true)).raw().get(ente, since, limit) as [number, number, string, Buffer]
    return {count, entries: entries!, since, last: last!, ente}
  }

  /**
   * waasPage without holding up the caller's thread while PostgreSQL answers (serve: many clients at
   * once, the event loop free meanwhile); SQLite answers in place.
   */
  async waasPageAsync(since: number, limit: number, ente: string): Promise<WaasPage> {
    if (!(this.db instanceof PgDb)) return this.waasPage(since, limit, ente)
    const {rows} = await this.db.queryAsync(WAAS_PAGE_PG, [ente, since, limit])
    return pgPage(rows as PgPageRow[], since, ente)
  }

  /**
   * Pulled by INPS: the WaaS flussi of the page's ente with ts_flusso in (since, last] go `queued` →
   * `delivered` (later states are kept), one statement and one event per page (or run of pages)
   * pulled, whatever its size. Another ente's flussi in the same range were not in the page and stay queued.
   */
  markDelivered(pages: Array<{since: number; last: number; ente: string}>): void {
    // `+state`: the range on ts_flusso must drive the search, not the (huge) set of queued flussi
    // (SQLite's unary plus; PostgreSQL's planner takes the range by itself)
    const update = this.prepare(
      `UPDATE flussi SET state = 'delivered', updated_at = ? WHERE ente = ? AND ts_flusso > ? AND ts_flusso <= ? AND entry IS NOT NULL AND ${this.shared ? 'state' : '+state'} = 'queued'`,
    )
    this.transaction(() => {
      const now = engineNow().toISOString()
      for (const p of pages) {
        const {changes} = update.run(now, p.ente, p.since, p.last)
        if (changes > 0) this.event(null, 'delivered', {ente: p.ente, ts_from: p.since, ts_to: p.last, flussi: changes}, now)
      }
    })
  }

  /**
   * Moves flussi to `to` from one of `from`, with an event each, in one transaction; a flusso
   * already elsewhere (an esito read meanwhile) is left alone. `attempt` counts a hand-over.
   */
  private transition(items: Array<{idFlusso: string; detail?: Record<string, string>; ricevuta?: string}>, to: FlussoState, from: readonly FlussoState[], attempt = false): void {
    const update = this.prepare(
      `UPDATE flussi SET state = ?, updated_at = ?, ricevuta = coalesce(?, ricevuta)${attempt ? ', attempts = attempts + 1' : ''}
       WHERE id_flusso = ? AND state IN (${sqlList(from)})`,
    )
    this.transaction(() => {
      const now = engineNow().toISOString()
      for (const item of items) if (update.run(to, now, item.ricevuta ?? null, item.idFlusso).changes) this.event(item.idFlusso, to, item.detail, now)
    })
  }

  /**
   * An esito for a flusso this store does not know: kept once, so INPS need not retry it forever.
   * The unique key makes a repeat a no-op found through the index (the event log is never scanned).
   */
  recordUnknownEsito(idFlusso: string, codiceEsito: string, ente?: string): void {
    const at = engineNow().toISOString()
    if (this.prepare('INSERT INTO unknown_esiti (ente, id_flusso, esito, received_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING').run(ente ?? '', idFlusso, codiceEsito, at).changes === 0) return
    this.event(null, 'esito-unknown', {id_flusso: idFlusso, esito: codiceEsito, ...(ente ? {ente} : {})}, at)
  }

  /** Of these WaaS flussi of `ente`, the ones still `queued` (INPS has not pulled them), with their ts_flusso. */
  queuedForWaas(ids: string[], ente: string): Array<{idFlusso: string; tsFlusso: number; reoffered: boolean}> {
    const statement = this.prepare(
      `SELECT id_flusso AS idFlusso, ts_flusso AS tsFlusso, EXISTS (SELECT 1 FROM events e WHERE e.id_flusso = f.id_flusso AND e.event = 'requeued') AS reoffered
       FROM flussi f WHERE id_flusso = ? AND ente = ? AND state = 'queued' AND entry IS NOT NULL`,
    )
    const queued: Array<{idFlusso: string; tsFlusso: number; reoffered: boolean}> = []
    for (const id of ids) {
      const row = statement.get(id, ente) as {idFlusso: string; tsFlusso: number; reoffered: number} | undefined
      if (row) queued.push({...row, reoffered: row.reoffered === 1})
    }
    return queued
  }

  /**
   * Identities of insertions sent to this destination whose bytes contain every one of `needles`
   * (rendered attributes such as ` ProtocolloDomanda="12356Mari"`): how `cancel` finds a prestazione.
   */
  identitiesContaining(scope: {ente: string; flow: string; transport: string; endpoint?: string}, needles: string[]): string[] {
    return this
      .prepare(
        `SELECT DISTINCT r.identity FROM records r JOIN flussi f ON f.id_flusso = r.id_flusso JOIN submissions s ON s.id = f.submission_id
         WHERE f.ente = ? AND f.flow = ? AND s.transport = ? AND s.endpoint IS NOT DISTINCT FROM ? AND r.op = 'I' AND r.identity IS NOT NULL
           ${needles.map(() => (this.shared ? "AND position(convert_to(?, 'UTF8') in r.xml) > 0" : 'AND instr(CAST(r.xml AS TEXT), ?) > 0')).join(' ')}
         ORDER BY r.identity`,
      )
      .pluck()
      .all(scope.ente, scope.flow, scope.transport, scope.endpoint ?? null, ...needles) as string[]
  }

  /** Before a request: from now on the endpoint may have them. */
  markSending(ids: string[]): void {
    this.transaction(() => {
      this.claim(ids)
      this.transition(ids.map((idFlusso) => ({idFlusso})), 'sending', ['built', 'sending'], true)
    })
  }

  /** The endpoint's receipts; a later state (an esito already read) is never moved back. */
  markReceived(receipts: Array<{idFlusso: string; stato: string}>): void {
    this.transition(receipts.map((r) => ({idFlusso: r.idFlusso, ricevuta: r.stato, detail: {ricevuta: r.stato}})), 'sent', ['built', 'sending'])
  }

  /** The endpoint refused a flusso outright (409 conflict, 400 invalid entry). */
  markRefused(idFlusso: string, state: 'conflict' | 'rejected', code: string, detail?: string): void {
    this.transaction(() => {
      const now = engineNow().toISOString()
      this
        .prepare(`UPDATE flussi SET state = ?, esito = ?, esito_descrizione = ?, updated_at = ? WHERE id_flusso = ? AND state IN ('built', 'sending', 'sent')`)
        .run(state, code, detail ?? null, now, idFlusso)
      this.event(idFlusso, state, {code}, now)
    })
  }

  /** File transport: the files are in the operator's hands. */
  markExported(ids: string[]): void {
    this.transition(ids.map((idFlusso) => ({idFlusso})), 'exported', ['built', 'signed'])
  }

  /**
   * Esiti read from the endpoint (or recorded by the operator), with the new cursor, in one
   * transaction. Idempotent: an esito already applied changes nothing; an older one never
   * overrides a newer one. Returns how many were for flussi this store knows.
   */
  applyEsiti(
    esiti: EsitoUpdate[],
    opts: {cursor?: {endpoint: string; since: number}; scope?: {transport: string; endpoint?: string; ente?: string}; recordUnknown?: boolean} = {},
  ): {applied: number; unknown: string[]; changed: Array<{idFlusso: string; state: FlussoState}>} {
    // an esito is for the flusso this store handed to that destination; a conflict's esito is
    // about the other content the endpoint holds under the same id, never about ours. With an
    // ente in the scope, another ente's flusso is unknown here: never changed, only recorded
    const ente = opts.scope?.ente
    const scope = opts.scope ? `AND submission_id IN (SELECT id FROM submissions WHERE transport = ? AND endpoint IS NOT DISTINCT FROM ?)${ente === undefined ? '' : ' AND ente = ?'}` : ''
    const scopeArgs = opts.scope ? [opts.scope.transport, opts.scope.endpoint ?? null, ...(ente === undefined ? [] : [ente])] : []
    const update = this.prepare(
      `UPDATE flussi SET state = ?, esito = ?, esito_descrizione = ?, id_acquisizione = ?, ts_acquisizione = ?, updated_at = ?
       WHERE id_flusso = ? AND state NOT IN ('cancelled', 'conflict') AND (ts_acquisizione IS NULL OR ts_acquisizione < ?) ${scope}`,
    )
    const known = this.prepare(`SELECT 1 FROM flussi WHERE id_flusso = ? ${scope}`).pluck()
    let applied = 0
    const unknown: string[] = []
    const changed: Array<{idFlusso: string; state: FlussoState}> = []
    this.transaction(() => {
      const now = engineNow().toISOString()
      for (const e of esiti) {
        if (!known.get(e.idFlusso, ...scopeArgs)) {
          unknown.push(e.idFlusso)
          if (opts.recordUnknown) this.recordUnknownEsito(e.idFlusso, e.codiceEsito, ente)
          continue
        }
        const state: FlussoState = e.codiceEsito === 'OK' ? 'accepted' : 'rejected'
        if (update.run(state, e.codiceEsito, e.descrizione ?? null, e.idAcquisizione ?? null, e.tsAcquisizione, now, e.idFlusso, e.tsAcquisizione, ...scopeArgs).changes) {
          this.event(e.idFlusso, state, {esito: e.codiceEsito, idAcquisizione: e.idAcquisizione}, now)
          changed.push({idFlusso: e.idFlusso, state})
        }
        applied++
      }
      const cursor = opts.cursor
      if (cursor) this.prepare('INSERT INTO cursors (ente, endpoint, since) VALUES (?, ?, ?) ON CONFLICT (ente, endpoint) DO UPDATE SET since = excluded.since').run(ente ?? '', cursor.endpoint, cursor.since)
    })
    return {applied, unknown, changed}
  }

  /**
   * Where the last reading of esiti from this endpoint stopped (ms): for one ente (`sync --ente`),
   * or for the whole store. Each reading keeps its own cursor, so one ente's never skips another's.
   */
  esitiCursor(endpoint: string, ente?: string): number {
    return (this.prepare('SELECT since FROM cursors WHERE ente = ? AND endpoint = ?').pluck().get(ente ?? '', endpoint) as number | undefined) ?? 0
  }

  flusso(idFlusso: string): FlussoRow | undefined {
    return this.prepare(`SELECT ${FLUSSO_COLUMNS} FROM flussi WHERE id_flusso = ?`).get(idFlusso) as FlussoRow | undefined
  }

  flussiOf(submissionId: string): FlussoRow[] {
    return this.prepare(`SELECT ${FLUSSO_COLUMNS} FROM flussi WHERE submission_id = ? ORDER BY id_flusso`).all(submissionId) as FlussoRow[]
  }

  /** Number of flussi of these submissions still waiting for an esito. */
  awaitingEsito(submissionIds: string[]): number {
    if (submissionIds.length === 0) return 0
    const placeholders = submissionIds.map(() => '?').join(',')
    return this.prepare(`SELECT count(*) FROM flussi WHERE submission_id IN (${placeholders}) AND state IN (${sqlList(AWAITING_ESITO)})`).pluck().get(...submissionIds) as number
  }

  /** Endpoints with flussi (of `ente`, when given) waiting for an esito (what `sync` reads from). */
  endpointsAwaitingEsito(ente?: string): string[] {
    return this
      .prepare(
        `SELECT DISTINCT s.endpoint FROM submissions s JOIN flussi f ON f.submission_id = s.id
         WHERE s.transport = 'push' AND f.state IN (${sqlList(AWAITING_ESITO)}) AND (CAST(? AS TEXT) IS NULL OR s.ente = ?)`,
      )
      .pluck()
      .all(ente ?? null, ente ?? null) as string[]
  }

  /** The enti (codici) this store holds submissions or flussi of, in order. */
  enti(): string[] {
    return this.prepare('SELECT ente FROM submissions UNION SELECT ente FROM flussi ORDER BY 1').pluck().all() as string[]
  }

  /**
   * The ente as this store spells it: `code` compared without regard to case (a code configured in
   * lower case by an earlier version is the same ente); `code` itself when the store has none.
   */
  enteNamed(code: string): string {
    return (
      (this.prepare('SELECT ente FROM submissions WHERE upper(ente) = upper(?) UNION SELECT ente FROM flussi WHERE upper(ente) = upper(?) ORDER BY 1 LIMIT 1').pluck().get(code, code) as string | undefined) ?? code
    )
  }

  /**
   * enteNamed for many codes at once: one pass over the store's enti instead of one scan of every
   * flusso per code (`serve --enti` with a thousand enti on a store of a million flussi).
   */
  entiNamed(codes: readonly string[]): Map<string, string> {
    const spelling = new Map<string, string>()
    // in the order enteNamed picks among spellings of one ente (ORDER BY 1): the first one wins
    for (const ente of this.prepare('SELECT DISTINCT ente FROM submissions UNION SELECT DISTINCT ente FROM flussi ORDER BY 1').pluck().all() as string[]) {
      const key = ente.toUpperCase()
      if (!spelling.has(key)) spelling.set(key, ente)
    }
    return new Map(codes.map((code) => [code, spelling.get(code.toUpperCase()) ?? code]))
  }

  /** The ente (codice) a flusso or a submission belongs to. */
  enteOf(id: string): string | undefined {
    return (this.prepare('SELECT ente FROM flussi WHERE id_flusso = ? UNION ALL SELECT ente FROM submissions WHERE id = ?').pluck().get(id, id) as string | undefined) ?? undefined
  }

  /** The last identity (Belfiore, denominazione) recorded for an ente's submissions: what `cancel --ente` sends under. */
  enteIdentity(ente: string): {codice: string; belfiore: string; denominazione?: string} | undefined {
    const row = this.prepare(
      `SELECT ente AS codice, codice_ente AS belfiore, denominazione_ente AS denominazione FROM submissions WHERE ente = ? ORDER BY created_at DESC LIMIT 1`,
    ).get(ente) as {codice: string; belfiore: string; denominazione: string | null} | undefined
    return row && {codice: row.codice, belfiore: row.belfiore, denominazione: row.denominazione ?? undefined}
  }

  /** Each spreadsheet row of a submission with its flusso's state, in row order. */
  rowOutcomes(submissionId: string, states?: readonly FlussoState[]): IterableIterator<RowOutcome> {
    const filter = states ? `AND f.state IN (${sqlList(states)})` : ''
    return this
      .prepare(
        `SELECT r.source_row AS row, f.id_flusso AS idFlusso, f.state, f.esito, f.esito_descrizione AS esitoDescrizione
         FROM records r JOIN flussi f ON f.id_flusso = r.id_flusso WHERE f.submission_id = ? ${filter} ORDER BY r.source_row`,
      )
      .iterate(submissionId) as IterableIterator<RowOutcome>
  }

  /** Spreadsheet rows of a flusso's records, in order. */
  rowsOf(idFlusso: string): number[] {
    return this.prepare('SELECT source_row FROM records WHERE id_flusso = ? ORDER BY seq').pluck().all(idFlusso) as number[]
  }

  events(idFlusso: string): Array<{at: string; event: string; detail: unknown}> {
    return (this.prepare('SELECT at, event, detail FROM events WHERE id_flusso = ? ORDER BY id').all(idFlusso) as Array<{at: string; event: string; detail: string | null}>).map(
      (e) => ({...e, detail: e.detail === null ? undefined : JSON.parse(e.detail)}),
    )
  }

  // --- WaaS: flussi offered again after INPS's ERRORE_GENERICO ------------------------------

  /**
   * Puts rejected WaaS flussi back in the queue with a new ts_flusso (their entry rewritten to
   * carry it), each at most `maxRetries` times; beyond that they stay rejected. Every step is an
   * event (`requeued`, `requeue-exhausted`), so `status ID` shows it. Returns the flussi requeued.
   */
  requeueWaas(ids: string[], maxRetries: number): string[] {
    const requeued: string[] = []
    const retries = this.prepare(`SELECT count(*) FROM events WHERE id_flusso = ? AND event = 'requeued'`).pluck()
    const current = this.prepare(`SELECT entry FROM flussi WHERE id_flusso = ? AND state = 'rejected' AND entry IS NOT NULL`).pluck()
    const update = this.prepare(`UPDATE flussi SET state = 'queued', ts_flusso = ?, entry = ?, updated_at = ? WHERE id_flusso = ?`)
    this.transaction(() => {
      const now = engineNow().toISOString()
      for (const id of ids) {
        const entry = current.get(id) as Buffer | undefined
        if (!entry) continue
        const done = retries.get(id) as number
        if (done >= maxRetries) {
          this.event(id, 'requeue-exhausted', {retries: done}, now)
          continue
        }
        const ts = this.nextTsFlusso(engineNow().getTime())
        const doc = JSON.parse(entry.toString('utf8')) as Record<string, unknown>
        doc.ts_flusso = new Date(ts).toISOString()
        update.run(ts, Buffer.from(JSON.stringify(doc)), now, id)
        this.event(id, 'requeued', {after: 'ERRORE_GENERICO', retry: done + 1, of: maxRetries}, now)
        requeued.push(id)
      }
    })
    return requeued
  }

  // --- import (flussi sent before casellario) ---------------------------------------------

  /**
   * A flusso name taken elsewhere (an imported flusso): the day's progressive moves past it, so
   * casellario never gives the same name to another flusso. Call inside `transaction`.
   */
  progressiveUsed(ente: string, flow: string, day: string, progressive: number): void {
    this.prepare('INSERT INTO progressives (ente, flow, day, last) VALUES (?, ?, ?, ?) ON CONFLICT (ente, flow, day) DO UPDATE SET last = CASE WHEN excluded.last > progressives.last THEN excluded.last ELSE progressives.last END').run(
      ente,
      flow,
      day,
      progressive,
    )
  }

  /** Where the live insertion with this identity is, for an imported cancellation of it. */
  liveInsertion(identity: string): {idFlusso: string; seq: number} | undefined {
    const live = this.liveRecord(identity)
    return live && {idFlusso: live.idFlusso, seq: live.seq}
  }

  // --- retention (DESIGN §13): purge and the audit trail ---

  private identityKey: ((hex: string) => string) | undefined

  /** The keyed hash purged records keep instead of their identity and fingerprint (see retention/key.ts). */
  useIdentityKey(keyed: (hex: string) => string): void {
    this.identityKey = keyed
  }

  /** `hex` under the identity key; `hex` itself when there is no key (nothing was purged with one). */
  keyed(hex: string): string {
    return this.identityKey ? this.identityKey(hex) : hex
  }

  /** Delta detection needs the key once anything was purged: without it, purged prestazioni would look new. */
  requireIdentityKeyIfPurged(): void {
    if (this.identityKey || !this.prepare('SELECT 1 FROM flussi WHERE purged_at IS NOT NULL LIMIT 1').get()) return
    throw new UsageError(
      'IDENTITY_KEY_MISSING',
      {
        it: 'Lo store contiene flussi ridotti da "casellario purge", ma manca la chiave con cui ne sono state cifrate le identità: senza, le prestazioni già inviate sembrerebbero nuove.',
        en: 'The store holds flussi reduced by "casellario purge", but the key their identities were hashed with is missing: without it, prestazioni already sent would look new.',
      },
      {
        suggestions: [
          {
            it: 'Ripristina il file identity.key nella cartella di configurazione (dal backup), oppure imposta CASELLARIO_IDENTITY_KEY.',
            en: 'Restore identity.key in the settings folder (from the backup), or set CASELLARIO_IDENTITY_KEY.',
          },
        ],
      },
    )
  }

  /** Flussi a purge would reduce: final esito, last change before `before` (ISO), not purged yet. */
  purgeable(before: string, ente?: string): {flussi: number; records: number} {
    const row = this.prepare(
      `SELECT count(*) AS flussi, coalesce(sum((SELECT count(*) FROM records r WHERE r.id_flusso = f.id_flusso)), 0) AS records
       FROM flussi f WHERE ${PURGEABLE}`,
    ).get(before, ente ?? null, ente ?? null) as {flussi: number; records: number}
    return row
  }

  /**
   * Reduces up to `limit` purgeable flussi to what tracking needs (DESIGN §13): the XML and the WaaS
   * entry go, each record's bytes go, its identity and fingerprint become keyed hashes; states,
   * esiti, ids and the audit trail stay. One transaction per call, with deleted bytes overwritten.
   */
  purgeBatch(before: string, ente: string | undefined, limit: number): {flussi: number; records: number} {
    if (!this.identityKey) throw new BugError('IDENTITY_KEY_MISSING', {it: 'purge senza chiave delle identità.', en: 'purge without the identity key.'})
    if (this.db instanceof SqliteDb) this.db.pragma('secure_delete = ON')
    return this.transaction(() => {
      const now = engineNow().toISOString()
      const ids = this.prepare(`SELECT id_flusso FROM flussi f WHERE ${PURGEABLE} ORDER BY updated_at LIMIT ?`).pluck().all(before, ente ?? null, ente ?? null, limit) as string[]
      const records = this.prepare('SELECT seq, identity, fingerprint FROM records WHERE id_flusso = ?')
      const reduce = this.prepare('UPDATE records SET identity = ?, fingerprint = ?, xml = NULL, header_length = NULL WHERE id_flusso = ? AND seq = ?')
      const flusso = this.prepare('UPDATE flussi SET xml = NULL, entry = NULL, esito_descrizione = ?, purged_at = ? WHERE id_flusso = ?')
      const description = this.prepare('SELECT esito_descrizione FROM flussi WHERE id_flusso = ?').pluck()
      let count = 0
      for (const id of ids) {
        for (const r of records.all(id) as Array<{seq: number; identity: string | null; fingerprint: string | null}>) {
          reduce.run(r.identity === null ? null : this.keyed(r.identity), r.fingerprint === null ? null : this.keyed(r.fingerprint), id, r.seq)
          count++
        }
        flusso.run(withoutCodiciFiscali(description.get(id) as string | null), now, id)
        this.event(id, 'purged', undefined, now)
      }
      return {flussi: ids.length, records: count}
    })
  }

  /**
   * After a purge: the database rewritten (VACUUM: every state change of the past left old copies of
   * rows in free space inside pages, which deleting does not reach), then the WAL folded into the
   * file and truncated, so no old page survives. Returns false when a reader kept the WAL alive.
   */
  compact(tempDir: string): boolean {
    // VACUUM copies the whole database through a temporary file: in the private folder, not $TMPDIR
    if (!(this.db instanceof SqliteDb)) {
      // PostgreSQL reuses the space of old row versions once vacuumed; the server's disk is its own
      // one statement at a time: several in one message would be one transaction block, where VACUUM cannot run
      this.db.exec('VACUUM flussi')
      this.db.exec('VACUUM records')
      return true
    }
    privateSqliteTemp(this.db.native, tempDir)
    this.db.exec('VACUUM')
    const [result] = this.db.pragma('wal_checkpoint(TRUNCATE)') as Array<{busy: number}>
    return result?.busy === 0
  }

  /** The audit trail since `since` (ISO), oldest first, optionally for one ente. */
  auditTrail(since: string, ente?: string): IterableIterator<AuditEvent> {
    return this
      .prepare(
        `SELECT e.id, e.at, e.operatore, e.command, coalesce(f.ente, s.ente) AS ente, coalesce(f.submission_id, e.submission_id) AS submission,
                e.id_flusso AS idFlusso, e.event, coalesce(f.source_file, s.source_file) AS sourceFile, coalesce(f.source_sha256, s.source_sha256) AS sourceSha256, e.detail
         FROM events e LEFT JOIN flussi f ON f.id_flusso = e.id_flusso LEFT JOIN submissions s ON s.id = coalesce(f.submission_id, e.submission_id)
         WHERE e.at >= ? AND (CAST(? AS TEXT) IS NULL OR coalesce(f.ente, s.ente) = ?) ORDER BY e.id`,
      )
      .iterate(since, ente ?? null, ente ?? null) as IterableIterator<AuditEvent>
  }

  /** `serve`: a store read over and over by the service (SQLite: mapped, a bigger cache, short lock waits). */
  tuneForServing(): void {
    if (!(this.db instanceof SqliteDb)) return
    // pulls read the same pages over and over: map the store instead of copying pages through read()
    this.db.pragma('mmap_size = 1073741824')
    this.db.pragma('cache_size = -32768')
    // a long submit holds the write lock: a pull must not freeze the service waiting for it
    this.db.pragma('busy_timeout = 2000')
  }

  /** Whether the store answers (one indexed row, never a count: /status must stay instant). */
  ping(): void {
    this.prepare('SELECT 1 FROM flussi LIMIT 1').pluck().get()
  }

  /**
   * A private scratch set of identities for delta detection (temporary: this connection only, gone
   * when it closes), emptied. `remember` tells whether the identity is new; `firstRow` where it was.
   * `table` is the name to use in `liveIdentitiesMissingFrom`.
   */
  identityScratch(): {table: string; remember: (identity: string, row: number) => {readonly isNew: boolean}; firstRow: (identity: string) => number | undefined} {
    if (this.shared) this.db.exec('CREATE TEMP TABLE IF NOT EXISTS delta_present (identity TEXT PRIMARY KEY, source_row BIGINT NOT NULL); DELETE FROM delta_present')
    else {
      // one identity a row: on a million rows the temporary table outgrows any cache; a small one keeps memory flat
      this.db.exec('PRAGMA temp.cache_size = -2000')
      this.db.exec('CREATE TEMP TABLE IF NOT EXISTS delta_present (identity TEXT PRIMARY KEY, source_row INTEGER NOT NULL) WITHOUT ROWID; DELETE FROM temp.delta_present')
    }
    const table = this.shared ? 'pg_temp.delta_present' : 'temp.delta_present'
    const remember = this.prepare(`INSERT INTO ${table} (identity, source_row) VALUES (?, ?) ON CONFLICT DO NOTHING`)
    const firstRow = this.prepare(`SELECT source_row FROM ${table} WHERE identity = ?`).pluck()
    return {
      table,
      // read `isNew` after the next read of the store: on PostgreSQL both travel in one round trip
      remember: (identity, row) => {
        const result = remember.run(identity, row)
        return {
          get isNew() {
            return result.changes > 0
          },
        }
      },
      firstRow: (identity) => firstRow.get(identity) as number | undefined,
    }
  }

  close(): void {
    this.db.close()
  }
}

/**
 * A WaaS page on PostgreSQL: the entries as text (bytea would travel hex-encoded: twice the bytes,
 * decoded on the way), one row each, joined here. Not string_agg: PostgreSQL builds and sends one
 * value of 150 KB at about twice the CPU of the same bytes as rows (measured: pgbench, 1000 × 1000).
 */
const WAAS_PAGE_PG = `SELECT ts_flusso, convert_from(entry, 'UTF8') FROM flussi WHERE ente = ? AND ts_flusso > ? AND entry IS NOT NULL ORDER BY ts_flusso LIMIT ?`
type PgPageRow = [number, string]

function pgPage(rows: PgPageRow[], since: number, ente: string): WaasPage {
  if (rows.length === 0) return {count: 0, entries: Buffer.alloc(0), since, last: since, ente}
  // written straight into one buffer: no joined 150 KB string to build, encode and collect
  let size = rows.length - 1
  for (const row of rows) size += Buffer.byteLength(row[1])
  const entries = Buffer.allocUnsafe(size)
  let at = 0
  for (const [i, row] of rows.entries()) {
    if (i > 0) entries[at++] = 0x2c
    at += entries.write(row[1], at)
  }
  return {count: rows.length, entries, since, last: rows.at(-1)![0], ente}
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Flussi `f` a purge takes (parameters: before, ente, ente). */
const PURGEABLE = `f.purged_at IS NULL AND f.state IN ('accepted', 'rejected', 'cancelled') AND f.updated_at < ? AND (CAST(? AS TEXT) IS NULL OR f.ente = ?)`

/** An esito's description may quote a codice fiscale: a purged flusso keeps the text without it. */
function withoutCodiciFiscali(text: string | null): string | null {
  return text === null ? null : text.replace(/[A-Za-z]{6}[0-9LMNPQRSTUVlmnpqrstuv]{2}[A-Za-z][0-9LMNPQRSTUVlmnpqrstuv]{2}[A-Za-z][0-9LMNPQRSTUVlmnpqrstuv]{3}[A-Za-z]|\b\d{11}\b/g, '[codice fiscale]')
}

function nullsToUndefined<T extends object>(row: T): T {
  return Object.fromEntries(Object.entries(row).map(([k, v]) => [k, v === null ? undefined : v])) as T
}
