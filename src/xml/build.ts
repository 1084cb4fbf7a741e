import {createHash, randomBytes, type Hash} from 'node:crypto'
import {closeSync, existsSync, mkdirSync, openSync, readSync, renameSync, rmSync, writeSync} from 'node:fs'
import {basename, join, resolve} from 'node:path'

import Database from 'better-sqlite3'

import {UsageError} from '../errors/index.js'
import type {FlowSpec} from '../flows/model.js'
import type {Template} from '../mapping/index.js'
import type {Store} from '../store/sqlite.js'
import {validateFile, type Finding, type ValidationSummary} from '../validate/run.js'
import {compileFlussoWriter, type EnteIdentity, type FlussoWriter} from './writer.js'

/**
 * `build` (DESIGN §6): spreadsheet → XML flussi. Pass 1 validates and renders each valid
 * record to a private spool file in file order; pass 2 writes the flussi from the spool,
 * grouped by beneficiary in order of first appearance. When a beneficiary's rows are
 * scattered through the file, the spool is ordered through a temporary SQLite table, so
 * memory never holds the file.
 */

export type Packaging = 'upload' | 'cooperazione'

export interface BuildOptions {
  flow: FlowSpec
  template?: Template
  sheet?: string
  outDir: string
  packaging: Packaging
  /** upload packaging: cap on each file's size in bytes */
  maxBytes: number
  ente: EnteIdentity
  store: Store
  now?: Date
  onFinding: (finding: Finding) => void
}

export interface FlussoResult {
  id_flusso: string
  file: string
  beneficiari: number
  prestazioni: number
  sha256: string
}

export interface BuildResult {
  summary: ValidationSummary
  flussi: FlussoResult[]
}

const NOME_MAX = 50
const PROGRESSIVE_MAX = 9_999_999
const FLUSH_CHARS = 1 << 20

export async function buildFlussi(source: string, opts: BuildOptions): Promise<BuildResult> {
  const {flow, ente, outDir} = opts
  const day = romeDay(opts.now ?? new Date())
  const sample = nome(ente.codice, flow, day, 1)
  if (sample.length > NOME_MAX) {
    throw new UsageError('NOME_TOO_LONG', `Il codice ente "${ente.codice}" rende il nome del flusso più lungo di ${NOME_MAX} caratteri (${sample}).`)
  }
  mkdirSync(outDir, {recursive: true, mode: 0o700})
  const writer = compileFlussoWriter(flow)
  const spoolPath = join(outDir, `.casellario-build-${process.pid}-${randomBytes(4).toString('hex')}.spool`)
  const spool = new TextSink(spoolPath)
  const everyRecordHasHeader = opts.packaging === 'cooperazione'
  try {
    const summary = await validateFile(source, {
      flow,
      template: opts.template,
      sheet: opts.sheet,
      onFinding: opts.onFinding,
      onRecord: (r) => {
        const header = r.groupIsNew || everyRecordHasHeader ? writer.groupOpen(r.values) : ''
        spool.write(`${r.group}\t${header}\t${writer.record(r.values)}\n`)
      },
    })
    spool.close()
    if (summary.valid === 0) return {summary, flussi: []}
    const lines = summary.scattered && !everyRecordHasHeader ? orderedBySqlite(spoolPath, outDir) : readLines(spoolPath)
    const context: WriteContext = {...opts, writer, day, sourceFile: source === '-' ? undefined : resolve(source)}
    const flussi = opts.packaging === 'cooperazione' ? writeCooperazione(lines, summary.valid, context) : writeUpload(lines, context)
    return {summary, flussi}
  } finally {
    spool.close()
    rmSync(spoolPath, {force: true})
  }
}

interface WriteContext extends BuildOptions {
  writer: FlussoWriter
  day: string
  sourceFile?: string
}

/** Upload packaging: many beneficiari per file, each file under the size cap. */
function writeUpload(lines: Iterable<SpoolLine>, ctx: WriteContext): FlussoResult[] {
  const results: FlussoResult[] = []
  const closeLength = Buffer.byteLength(ctx.writer.groupClose) + Buffer.byteLength(ctx.writer.close)
  const groupClose = Buffer.from(ctx.writer.groupClose)
  let file: FlussoFile | undefined
  let group = -1
  let groupHeader = Buffer.alloc(0)
  const finish = (): void => {
    if (!file) return
    if (group >= 0) file.write(groupClose)
    results.push(file.finish(ctx.writer.close))
    file = undefined
  }
  const startFile = (): FlussoFile => {
    const progressive = ctx.store.reserveProgressives(ctx.ente.codice, ctx.flow.nameCode, ctx.day, 1)
    return new FlussoFile(ctx, progressive)
  }
  for (const line of lines) {
    const newGroup = line.group !== group
    const header = newGroup ? line.header : groupHeader
    const needed = line.record.length + header.length + closeLength
    if (file && file.prestazioni > 0 && file.bytes + needed > ctx.maxBytes) {
      finish()
      group = -1
    }
    if (!file) file = startFile()
    if (line.group !== group) {
      if (group >= 0) file.write(groupClose)
      group = line.group
      // the header is a view of the reader's buffer: keep a copy while the group may span files
      groupHeader = Buffer.from(header)
      file.write(header)
      file.beneficiari++
    }
    file.write(line.record)
    file.prestazioni++
  }
  finish()
  return results
}

/** Cooperazione packaging: exactly one beneficiario and one prestazione per flusso. */
function writeCooperazione(lines: Iterable<SpoolLine>, count: number, ctx: WriteContext): FlussoResult[] {
  if (count > PROGRESSIVE_MAX) throw new UsageError('TOO_MANY_FLUSSI', `Troppi flussi per un giorno (${count}).`)
  let progressive = ctx.store.reserveProgressives(ctx.ente.codice, ctx.flow.nameCode, ctx.day, count)
  const results: FlussoResult[] = []
  for (const line of lines) {
    const file = new FlussoFile(ctx, progressive++)
    file.write(line.header)
    file.write(line.record)
    file.write(ctx.writer.groupClose)
    file.beneficiari = 1
    file.prestazioni = 1
    results.push(file.finish(ctx.writer.close))
  }
  return results
}

export function nome(codice: string, flow: FlowSpec, day: string, progressive: number): string {
  return `${codice}.${flow.nameCode}.${day}.${String(progressive).padStart(7, '0')}`
}

/** The sending day as INPS sees it: the calendar day in Italy. */
export function romeDay(now: Date): string {
  const parts = new Intl.DateTimeFormat('en-CA', {timeZone: 'Europe/Rome', year: 'numeric', month: '2-digit', day: '2-digit'}).format(now)
  return parts.replaceAll('-', '')
}

/** One output flusso, written to `<nome>.xml.part` and renamed when complete; 0600. */
class FlussoFile {
  readonly idFlusso: string
  readonly path: string
  bytes = 0
  beneficiari = 0
  prestazioni = 0
  private readonly sink: TextSink
  private readonly ctx: WriteContext

  constructor(ctx: WriteContext, progressive: number) {
    if (progressive > PROGRESSIVE_MAX) throw new UsageError('TOO_MANY_FLUSSI', 'Progressivo giornaliero esaurito (9.999.999 flussi).')
    this.ctx = ctx
    this.idFlusso = nome(ctx.ente.codice, ctx.flow, ctx.day, progressive)
    this.path = join(ctx.outDir, `${this.idFlusso}.xml`)
    if (existsSync(this.path)) throw new UsageError('OUTPUT_EXISTS', `Il file ${this.path} esiste già: non lo sovrascrivo.`)
    this.sink = new TextSink(`${this.path}.part`, true)
    this.write(ctx.writer.open(this.idFlusso, ctx.ente))
  }

  write(data: Buffer | string): void {
    const buf = typeof data === 'string' ? Buffer.from(data) : data
    this.bytes += buf.length
    this.sink.write(buf)
  }

  finish(close: string): FlussoResult {
    this.write(close)
    // no fsync per file: the store keeps each file's SHA-256, and every later step checks it
    const sha256 = this.sink.close()
    renameSync(`${this.path}.part`, this.path)
    const result = {id_flusso: this.idFlusso, file: this.path, beneficiari: this.beneficiari, prestazioni: this.prestazioni, sha256}
    this.ctx.store.recordBuilt({
      idFlusso: this.idFlusso,
      ente: this.ctx.ente.codice,
      flow: this.ctx.flow.id,
      packaging: this.ctx.packaging,
      file: this.path,
      sha256,
      beneficiari: this.beneficiari,
      prestazioni: this.prestazioni,
      sourceFile: this.ctx.sourceFile,
    })
    return result
  }
}

/** Buffered synchronous writer for a private (0600) file, optionally hashing what it writes. */
class TextSink {
  private fd: number | undefined
  private parts: (Buffer | string)[] = []
  private pending = 0
  private readonly hash: Hash | undefined

  constructor(path: string, hashed = false) {
    this.fd = openSync(path, 'wx', 0o600)
    this.hash = hashed ? createHash('sha256') : undefined
  }

  /** Strings are converted once per flush; Buffers are copied (they may be views of a reused buffer). */
  write(data: Buffer | string): void {
    this.parts.push(data)
    this.pending += data.length
    if (this.pending >= FLUSH_CHARS) this.flush()
  }

  private flush(): void {
    if (this.parts.length === 0 || this.fd === undefined) return
    const buf = typeof this.parts[0] === 'string' ? Buffer.from((this.parts as string[]).join('')) : Buffer.concat(this.parts as Buffer[])
    this.parts = []
    this.pending = 0
    this.hash?.update(buf)
    let off = 0
    while (off < buf.length) off += writeSync(this.fd, buf, off)
  }

  /** Flushes and closes; returns the SHA-256 (hex) when hashing. */
  close(): string {
    if (this.fd === undefined) return ''
    this.flush()
    closeSync(this.fd)
    this.fd = undefined
    return this.hash?.digest('hex') ?? ''
  }
}

interface SpoolLine {
  group: number
  /** rendered Beneficiario opening (empty when the group continues) and PrestazioniSociali, UTF-8 */
  header: Buffer
  record: Buffer
}

const TAB = 9
const NL = 10

/**
 * The spool read back as bytes: lines `group TAB header TAB record LF`. Rendered XML never
 * contains a raw tab or newline (the writer escapes them), so the framing is unambiguous, and
 * pass 2 copies bytes to the output without decoding them again.
 */
function* readLines(path: string): Generator<SpoolLine> {
  const fd = openSync(path, 'r')
  try {
    let buf = Buffer.allocUnsafe(4 << 20)
    let filled = 0
    for (;;) {
      const n = readSync(fd, buf, filled, buf.length - filled, null)
      filled += n
      let start = 0
      for (let nl = buf.indexOf(NL, start); nl >= 0 && nl < filled; nl = buf.indexOf(NL, start)) {
        const a = buf.indexOf(TAB, start)
        const b = buf.indexOf(TAB, a + 1)
        let group = 0
        for (let i = start; i < a; i++) group = group * 10 + buf[i] - 48
        yield {group, header: buf.subarray(a + 1, b), record: buf.subarray(b + 1, nl)}
        start = nl + 1
      }
      if (n === 0) return
      // keep the incomplete line; grow when one line is larger than the buffer
      const rest = filled - start
      if (start === 0 && rest === buf.length) {
        const bigger = Buffer.allocUnsafe(buf.length * 2)
        buf.copy(bigger, 0, 0, rest)
        buf = bigger
      } else {
        const next = Buffer.allocUnsafe(buf.length)
        buf.copy(next, 0, start, filled)
        buf = next
      }
      filled = rest
    }
  } finally {
    closeSync(fd)
  }
}

/** Scattered beneficiaries: order the spool by (first appearance, file order) on disk. */
function* orderedBySqlite(spoolPath: string, outDir: string): Generator<SpoolLine> {
  const dbPath = join(outDir, `${basename(spoolPath)}.sqlite`)
  closeSync(openSync(dbPath, 'wx', 0o600))
  const db = new Database(dbPath)
  try {
    db.pragma('journal_mode = OFF')
    db.pragma('synchronous = OFF')
    db.pragma('cache_size = -16000') // 16 MB: the sort spills to disk beyond that
    db.exec('CREATE TABLE spool (g INTEGER NOT NULL, header BLOB NOT NULL, record BLOB NOT NULL)')
    const insert = db.prepare('INSERT INTO spool VALUES (?, ?, ?)')
    const load = db.transaction(() => {
      for (const line of readLines(spoolPath)) insert.run(line.group, line.header, line.record)
    })
    load()
    // rowid is file order: (g, rowid) is first appearance, then file order
    db.exec('CREATE INDEX spool_order ON spool (g)')
    const rows = db.prepare('SELECT g, header, record FROM spool ORDER BY g, rowid').raw(true).iterate() as IterableIterator<[number, Buffer, Buffer]>
    for (const [group, header, record] of rows) yield {group, header, record}
  } finally {
    db.close()
    rmSync(dbPath, {force: true})
  }
}
