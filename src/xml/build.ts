import {createHash, randomBytes, type Hash} from 'node:crypto'
import {closeSync, existsSync, mkdirSync, openSync, readSync, rmSync, writeSync} from 'node:fs'
import {basename, dirname, join, resolve} from 'node:path'

import Database from 'better-sqlite3'

import {engineNow, romeDay} from '../clock/index.js'
import {UsageError} from '../errors/index.js'
import type {FlowSpec} from '../flows/model.js'
import type {Template} from '../mapping/index.js'
import type {BuiltFlusso, FlussoState, RecordDetail, Store, SubmissionInit} from '../store/sqlite.js'
import type {DeltaPlanner, PlannedLine} from '../submit/plan.js'
import {onInterrupt} from '../runtime/interrupt.js'
import {commitMoves, privateSqliteTemp, removeLeftovers} from '../runtime/private-temp.js'
import {validateFile, type Finding, type ValidateOptions, type ValidationSummary} from '../validate/run.js'
import {compileFlussoWriter, type EnteIdentity, type FlussoWriter} from './writer.js'

/**
 * `build` (DESIGN §6): spreadsheet → XML flussi, grouped by beneficiary in order of first
 * appearance, without holding the file in memory.
 *
 * Most exports list a beneficiary's rows together, so upload flussi are written directly while
 * validating. The first time a beneficiary comes back after another one, the files written so far
 * are discarded and the build starts again through a private spool that a temporary SQLite table
 * puts in order. Cooperazione and standard input always go through the spool.
 *
 * Spools and flussi being written live in the process's private folder inside the data folder
 * (`workDir`); the output folder receives the flussi only once the store has recorded them, so a
 * kill at any moment leaves no personal data there.
 */

export type Packaging = 'upload' | 'cooperazione'

export interface BuildOptions {
  flow: FlowSpec
  template?: Template
  sheet?: string
  outDir: string
  /** the process's private folder (runtime/private-temp.ts): spools and flussi being written */
  workDir: string
  packaging: Packaging
  /** upload packaging: cap on each file's size in bytes */
  maxBytes: number
  ente: EnteIdentity
  store: Store
  now?: Date
  /** the user's nomenclatore extension, see ValidateOptions */
  nomenclatore?: string
  /** see ValidateOptions */
  resolveHeader?: ValidateOptions['resolveHeader']
  onFinding: (finding: Finding) => void
  /** see ValidateOptions */
  onSplit?: ValidateOptions['onSplit']
  /** see ValidateOptions */
  onProgress?: ValidateOptions['onProgress']
  /**
   * Build for a submission: the flussi are recorded with it, in one transaction, with the
   * spreadsheet rows of their records; cooperazione flussi are kept in the store, not as files.
   */
  into?: {
    submission: Omit<SubmissionInit, 'rows' | 'valid' | 'errors'>
    state: FlussoState
    /** compares each record with what INPS has: only changes become flussi (cancellations first) */
    planner?: DeltaPlanner
    /** plan only: nothing is written, to the store or to files */
    dryRun?: boolean
  }
}

export interface FlussoResult {
  id_flusso: string
  file: string
  beneficiari: number
  prestazioni: number
  sha256: string
  /** spreadsheet rows of its records (only for a submission) */
  rows?: number[]
}

export interface BuildResult {
  summary: ValidationSummary
  flussi: FlussoResult[]
}

const NOME_MAX = 50
const PROGRESSIVE_MAX = 9_999_999
const FLUSH_BYTES = 1 << 20
const TAB = 9
const NL = 10

interface Context extends BuildOptions {
  writer: FlussoWriter
  day: string
  sourceFile?: string
}

export async function buildFlussi(source: string, opts: BuildOptions): Promise<BuildResult> {
  const day = romeDay(opts.now ?? engineNow())
  const sample = nome(opts.ente.codice, opts.flow, day, 1)
  if (sample.length > NOME_MAX) {
    throw new UsageError('NOME_TOO_LONG', `Il codice ente "${opts.ente.codice}" rende il nome del flusso più lungo di ${NOME_MAX} caratteri (${sample}).`)
  }
  mkdirSync(opts.outDir, {recursive: true, mode: 0o700})
  removeLeftovers(opts.outDir)
  const ctx: Context = {...opts, writer: compileFlussoWriter(opts.flow), day, sourceFile: source === '-' ? undefined : resolve(source)}
  // a mapping chosen interactively is kept for the second pass of a restarted build: asked once
  const ask = opts.resolveHeader
  if (ask) ctx.resolveHeader = async (context) => (ctx.template = await ask(context))
  let result: BuildResult
  if (opts.packaging === 'upload' && source !== '-' && !opts.into?.planner) {
    const direct = await buildDirect(source, ctx)
    result = 'restartAfterRow' in direct ? await buildSpooled(source, ctx, direct.restartAfterRow) : direct
  } else {
    result = await buildSpooled(source, ctx)
  }
  if (!opts.into) {
    recordInStore(ctx, result.flussi)
    publish(ctx, result.flussi)
  } else if (opts.into.dryRun) return result
  else if (opts.packaging === 'upload' || result.summary.valid === 0) {
    recordSubmission(ctx, result)
    publish(ctx, result.flussi)
  }
  return result
}

/**
 * The flussi the store now knows go from the private folder to the output folder (a kill before
 * the commit leaves them to the sweep; after it, the sweep completes the moves).
 */
function publish(ctx: Context, flussi: FlussoResult[]): void {
  commitMoves(ctx.workDir, flussi.filter((f) => f.file).map((f) => ({from: join(ctx.workDir, basename(f.file)), to: f.file})))
}

/** How both passes read the spreadsheet. */
function readingOptions(ctx: Context): Pick<ValidateOptions, 'flow' | 'template' | 'sheet' | 'nomenclatore' | 'onFinding' | 'onSplit' | 'onProgress' | 'resolveHeader'> {
  return {flow: ctx.flow, template: ctx.template, sheet: ctx.sheet, nomenclatore: ctx.nomenclatore, onFinding: ctx.onFinding, onSplit: ctx.onSplit, onProgress: ctx.onProgress, resolveHeader: ctx.resolveHeader}
}

/** Upload flussi written while validating; stops (and cleans up) at the first scattered beneficiary. */
async function buildDirect(source: string, ctx: Context): Promise<BuildResult | {restartAfterRow: number}> {
  const upload = new UploadWriter(ctx)
  const release = onInterrupt(() => upload.discard())
  let current = -1
  try {
    const summary = await validateFile(source, {
      ...readingOptions(ctx),
      render: 'grouped',
      onRecord: (r) => {
        if (!r.groupIsNew && r.group !== current) return false
        current = r.group
        upload.add(r.group, r.row, r.xml, r.headerStart, r.recordStart, r.recordStart, r.recordEnd)
      },
    })
    if (summary.stoppedAtRow !== undefined) {
      upload.discard()
      return {restartAfterRow: summary.stoppedAtRow}
    }
    return {summary, flussi: upload.finish()}
  } catch (error) {
    upload.discard()
    throw error
  } finally {
    release()
  }
}

/** Pass 1 renders valid records to a private spool in file order; pass 2 writes the flussi from it. */
async function buildSpooled(source: string, ctx: Context, quietThroughRow?: number): Promise<BuildResult> {
  const spoolPath = join(ctx.workDir, `build-${randomBytes(4).toString('hex')}.spool`)
  const spool = new ByteSink(spoolPath)
  // delta detection reads each record's beneficiary: then every spooled record carries its opening
  const everyRecordHasHeader = ctx.packaging === 'cooperazione' || ctx.into?.planner !== undefined
  const written: string[] = []
  const cleanup = (): void => {
    spool.close()
    for (const path of [spoolPath, `${spoolPath}.sqlite`, ...written]) rmSync(path, {force: true})
  }
  const release = onInterrupt(cleanup)
  try {
    const summary = await validateFile(source, {
      ...readingOptions(ctx),
      quietThroughRow,
      render: everyRecordHasHeader ? 'every' : 'grouped',
      onRecord: (r) => {
        spool.write(Buffer.from(`${r.group}\t${r.row}\t`))
        // a person's later row keeps its opening when it has one: another address to add
        if (r.groupIsNew || everyRecordHasHeader || r.otherVariant) spool.writeRange(r.xml, r.headerStart, r.recordStart)
        spool.write(TAB_BYTES)
        spool.writeRange(r.xml, r.recordStart, r.recordEnd)
        spool.write(NL_BYTES)
      },
    })
    spool.close()
    if (summary.prestazioni === 0) return {summary, flussi: []}
    const spooled = (): Iterable<SpoolLine> => (summary.scattered && ctx.packaging === 'upload' ? orderedBySqlite(spoolPath) : readLines(spoolPath))
    const planner = ctx.into?.planner
    const lines: Iterable<SpoolLine | PlannedLine> = planner ? planner.lines(spooled) : spooled()
    if (ctx.into?.dryRun) {
      for (const _ of lines); // the planner reports each row as it decides
      return {summary, flussi: []}
    }
    if (ctx.packaging === 'cooperazione') {
      const flussi = ctx.into ? queueCooperazione(lines, summary, ctx) : writeCooperazione(lines, summary.prestazioni, ctx, written)
      return {summary, flussi}
    }
    const upload = new UploadWriter(ctx, written)
    let operation: 'I' | 'C' | undefined
    for (const line of lines) {
      const detail = 'detail' in line ? line.detail : undefined
      // cancellations and insertions never share a file: INPS reads the cancellations first
      if (detail && operation && detail.op !== operation) upload.breakFile()
      operation = detail?.op
      upload.add(line.group, line.row, line.header, 0, line.header.length, 0, line.record.length, line.record, detail)
    }
    return {summary, flussi: upload.finish()}
  } catch (error) {
    // a build that fails half-way leaves no flussi the store does not know
    cleanup()
    throw error
  } finally {
    release()
    spool.close()
    rmSync(spoolPath, {force: true})
  }
}

const TAB_BYTES = Buffer.from('\t')
const NL_BYTES = Buffer.from('\n')

/**
 * Upload packaging: many beneficiari per file, records of a beneficiary together, each file
 * under the size cap (a beneficiary is split over two files only if the cap forces it).
 */
class UploadWriter {
  private readonly results: FlussoResult[] = []
  private readonly closeLength: number
  private readonly openLength: number
  private readonly groupClose: Buffer
  /** the body of the file being filled: named (and given a progressive) only when it is complete */
  private body: Buffer
  private bodyLength = 0
  private beneficiari = 0
  private prestazioni = 0
  private group = -1
  private groupHeader: Buffer = Buffer.alloc(0)
  private headerBuffer: Buffer = Buffer.allocUnsafe(4096)
  /** the rows in the file being filled (and what delta detection keeps), only for a submission */
  private rows: number[] | undefined
  private details: RecordDetail[] = []
  private operation: 'I' | 'C' = 'I'
  /** where the current beneficiary's opening ends in `body` (its addresses are the last elements) */
  private groupHeaderEnd = -1
  /** `<Indirizzo` as bytes: a row of the same person may bring another one */
  private readonly variantOpen: Buffer | undefined

  /** `written` collects the paths of the files it writes, for whoever must remove them on failure */
  constructor(
    private readonly ctx: Context,
    private readonly written: string[] = [],
  ) {
    this.groupClose = Buffer.from(ctx.writer.groupClose)
    this.closeLength = this.groupClose.length + Buffer.byteLength(ctx.writer.close)
    // every Nome of a build has the same length: the opening's size is known before the number
    this.openLength = Buffer.byteLength(ctx.writer.open(nome(ctx.ente.codice, ctx.flow, ctx.day, 1), ctx.ente))
    this.body = Buffer.allocUnsafe(Math.min(ctx.maxBytes, 1 << 20))
    if (ctx.into) this.rows = []
    this.variantOpen = ctx.flow.groupVariant ? Buffer.from(`<${ctx.flow.groupVariant.element.name}`) : undefined
  }

  /**
   * Adds a record: `src[recordStart..recordEnd)` (in `recordSrc` when given). The beneficiary
   * opening `src[headerStart..headerEnd)` is needed only for a group's first record; it is kept
   * to reopen the group when the cap moves it to the next file.
   */
  add(group: number, row: number, src: Buffer, headerStart: number, headerEnd: number, recordStart: number, recordEnd: number, recordSrc = src, detail?: RecordDetail): void {
    if (group !== this.group) {
      // one reusable buffer for the current beneficiary's opening (no allocation per beneficiary)
      const length = headerEnd - headerStart
      if (length > this.headerBuffer.length) this.headerBuffer = Buffer.allocUnsafe(Math.max(length, this.headerBuffer.length * 2))
      src.copy(this.headerBuffer, 0, headerStart, headerEnd)
      this.groupHeader = this.headerBuffer.subarray(0, length)
    } else if (headerEnd > headerStart && this.variantOpen) this.addVariant(src, headerStart, headerEnd)
    const needed = recordEnd - recordStart + (group !== this.group || this.prestazioni === 0 ? this.groupHeader.length : 0) + this.closeLength
    if (this.prestazioni > 0 && this.openLength + this.bodyLength + needed > this.ctx.maxBytes) this.closeFile()
    if (group !== this.group || this.beneficiari === 0) {
      if (this.beneficiari > 0) this.append(this.groupClose, 0, this.groupClose.length)
      this.group = group
      this.append(this.groupHeader, 0, this.groupHeader.length)
      this.groupHeaderEnd = this.bodyLength
      this.beneficiari++
    }
    this.append(recordSrc, recordStart, recordEnd)
    this.rows?.push(row)
    if (detail) {
      this.details.push(detail)
      this.operation = detail.op
    }
    this.prestazioni++
  }

  finish(): FlussoResult[] {
    this.closeFile()
    return this.results
  }

  /**
   * Another row of the current beneficiary, with its opening: its address (the opening's last
   * element) joins the beneficiary's when it is new — in the opening kept for a next file, and in
   * the opening already in this file's body. Validation keeps a person within the XSD's 5 addresses.
   */
  private addVariant(src: Buffer, headerStart: number, headerEnd: number): void {
    const header = src.subarray(headerStart, headerEnd)
    const at = header.indexOf(this.variantOpen!)
    if (at < 0) return
    const address = header.subarray(at)
    if (this.groupHeader.indexOf(address) >= 0) return
    const merged = Buffer.concat([this.groupHeader, address])
    if (merged.length > this.headerBuffer.length) this.headerBuffer = Buffer.allocUnsafe(merged.length * 2)
    merged.copy(this.headerBuffer)
    this.groupHeader = this.headerBuffer.subarray(0, merged.length)
    if (this.groupHeaderEnd < 0 || this.beneficiari === 0) return
    // insert after the opening already written: the prestazioni written since move along
    const tail = Buffer.from(this.body.subarray(this.groupHeaderEnd, this.bodyLength))
    this.bodyLength = this.groupHeaderEnd
    this.append(address, 0, address.length)
    this.append(tail, 0, tail.length)
    this.groupHeaderEnd += address.length
  }

  /** Ends the current file here (the next record starts a new one). */
  breakFile(): void {
    this.closeFile()
  }

  /** Forgets the file being filled and removes every file written (a restarted build writes them again). */
  discard(): void {
    this.bodyLength = 0
    this.prestazioni = 0
    this.beneficiari = 0
    for (const path of this.written) rmSync(path, {force: true})
  }

  private append(src: Buffer, start: number, end: number): void {
    const length = end - start
    if (this.bodyLength + length > this.body.length) {
      const bigger = Buffer.allocUnsafe(Math.max(this.body.length * 2, this.bodyLength + length))
      this.body.copy(bigger, 0, 0, this.bodyLength)
      this.body = bigger
    }
    src.copy(this.body, this.bodyLength, start, end)
    this.bodyLength += length
  }

  /** A complete file: only now does it take a progressive, so a discarded attempt leaves no gap. */
  private closeFile(): void {
    if (this.prestazioni === 0) return
    this.append(this.groupClose, 0, this.groupClose.length)
    const file = new FlussoFile(this.ctx, this.ctx.store.reserveProgressives(this.ctx.ente.codice, this.ctx.flow.nameCode, this.ctx.day, 1))
    this.written.push(file.workPath)
    file.writeRange(this.body, 0, this.bodyLength)
    file.beneficiari = this.beneficiari
    file.prestazioni = this.prestazioni
    const result: UploadResult = file.finish(this.ctx.writer.close)
    if (this.rows) {
      result.rows = this.rows
      this.rows = []
    }
    if (this.details.length > 0) {
      result.details = this.details
      result.operation = this.operation
      this.details = []
    }
    this.results.push(result)
    this.bodyLength = 0
    this.beneficiari = 0
    this.prestazioni = 0
    this.groupHeaderEnd = -1
  }
}

/** An upload file of a submission, with what the store keeps about its records. */
interface UploadResult extends FlussoResult {
  details?: RecordDetail[]
  operation?: 'I' | 'C'
}

/** Cooperazione packaging: exactly one beneficiario and one prestazione per flusso. */
function writeCooperazione(lines: Iterable<SpoolLine>, count: number, ctx: Context, written: string[]): FlussoResult[] {
  if (count > PROGRESSIVE_MAX) throw new UsageError('TOO_MANY_FLUSSI', `Troppi flussi per un giorno (${count}).`)
  let progressive = ctx.store.reserveProgressives(ctx.ente.codice, ctx.flow.nameCode, ctx.day, count)
  const results: FlussoResult[] = []
  const groupClose = Buffer.from(ctx.writer.groupClose)
  for (const line of lines) {
    const file = new FlussoFile(ctx, progressive++)
    written.push(file.workPath)
    file.write(line.header)
    file.write(line.record)
    file.write(groupClose)
    file.beneficiari = 1
    file.prestazioni = 1
    results.push(file.finish(ctx.writer.close))
  }
  return results
}

/**
 * Cooperazione for a submission: each flusso goes into the store with its row, and the
 * submission with all its flussi appears in one transaction — a kill before the commit leaves
 * nothing half-queued, a kill after leaves everything ready to send.
 */
function queueCooperazione(lines: Iterable<SpoolLine | PlannedLine>, summary: ValidationSummary, ctx: Context): FlussoResult[] {
  const {submission, state} = ctx.into!
  return queueFlussi(ctx.store, {...ctx, submission: {...submission, rows: summary.rows, valid: summary.valid, errors: summary.errors}, state, lines})
}

/**
 * Records a submission and its cooperazione flussi (one record each) in one transaction — a kill
 * before the commit leaves nothing half-queued, a kill after leaves everything ready to send.
 * Also how `cancel` queues its cancellations.
 */
export function queueFlussi(
  store: Store,
  args: {flow: FlowSpec; ente: EnteIdentity; day: string; now?: Date; submission: SubmissionInit; state: FlussoState; lines: Iterable<SpoolLine | PlannedLine>},
): FlussoResult[] {
  const {flow, ente, day, submission, state} = args
  const writer = compileFlussoWriter(flow)
  const tail = Buffer.from(writer.groupClose + writer.close)
  const results: FlussoResult[] = []
  store.transaction(() => {
    store.insertSubmission(submission)
    let tsFlusso = store.nextTsFlusso((args.now ?? engineNow()).getTime())
    for (const line of args.lines) {
      // one at a time: with delta detection the number of flussi is known only at the end
      const progressive = store.takeProgressives(ente.codice, flow.nameCode, day, 1)
      if (progressive > PROGRESSIVE_MAX) throw new UsageError('TOO_MANY_FLUSSI', 'Progressivo giornaliero esaurito (9.999.999 flussi).')
      const idFlusso = nome(ente.codice, flow, day, progressive)
      const detail = 'detail' in line ? line.detail : undefined
      if (detail?.cancels && !stillAccepted(store, detail)) {
        throw new UsageError('CANCEL_RACE', `La versione da cancellare (flusso ${detail.cancels.idFlusso}) è cambiata nel frattempo: nulla è stato registrato.`, {
          suggestions: ['Rilancia il comando: il confronto riparte da quanto registrato ora.'],
        })
      }
      const xml = Buffer.concat([Buffer.from(writer.open(idFlusso, ente)), line.header, line.record, tail])
      const sha256 = createHash('sha256').update(xml).digest('hex')
      // queued for WaaS: kept as the entry INPS will pull, serialised once here rather than at every pull
      const entry = state === 'queued' ? waasEntry(submission, flow, idFlusso, tsFlusso, xml) : undefined
      store.insertFlusso({
        idFlusso, submissionId: submission.id, ente: ente.codice, flow: flow.id, packaging: 'cooperazione', state, xml: entry ? undefined : xml, entry, sha256, tsFlusso,
        beneficiari: 1, prestazioni: 1, sourceFile: submission.sourceFile, sourceSha256: submission.sourceSha256, rows: [line.row],
        operation: detail?.op, details: detail ? [detail] : undefined,
      })
      if (results.length < RESULT_LIST_MAX) results.push({id_flusso: idFlusso, file: '', beneficiari: 1, prestazioni: 1, sha256, rows: [line.row]})
      tsFlusso++
    }
  })
  return results
}

/** Inside the queueing transaction: the version a cancellation takes back is still the accepted, live one. */
function stillAccepted(store: Store, detail: RecordDetail): boolean {
  const live = store.liveRecord(detail.identity)
  return live?.state === 'accepted' && live.idFlusso === detail.cancels!.idFlusso && live.seq === detail.cancels!.seq
}

/** The WaaS OpenAPI `Flusso` entry of a flusso. */
function waasEntry(submission: SubmissionInit, flow: FlowSpec, idFlusso: string, tsFlusso: number, xml: Buffer): Buffer {
  const entry = JSON.stringify({
    codice_ente: submission.codiceEnte,
    ...(submission.denominazioneEnte ? {denominazione_ente: submission.denominazioneEnte.slice(0, 256)} : {}),
    id_flusso: idFlusso,
    tipo: flow.waasTipo,
    ts_flusso: new Date(tsFlusso).toISOString(),
    flusso: xml.toString('base64'),
  })
  return Buffer.from(entry)
}

/** A submission's result lists at most this many flussi (the store has them all). */
const RESULT_LIST_MAX = 10_000

/** Upload packaging for a submission: the files, with their rows, recorded in one transaction. */
function recordSubmission(ctx: Context, result: BuildResult): void {
  const {submission, state} = ctx.into!
  const {summary} = result
  ctx.store.transaction(() => {
    ctx.store.insertSubmission({...submission, rows: summary.rows, valid: summary.valid, errors: summary.errors})
    let tsFlusso = ctx.store.nextTsFlusso((ctx.now ?? engineNow()).getTime())
    for (const f of result.flussi as UploadResult[]) {
      ctx.store.insertFlusso({
        idFlusso: f.id_flusso, submissionId: submission.id, ente: ctx.ente.codice, flow: ctx.flow.id, packaging: ctx.packaging, state, file: f.file,
        sha256: f.sha256, tsFlusso, beneficiari: f.beneficiari, prestazioni: f.prestazioni, sourceFile: submission.sourceFile,
        sourceSha256: submission.sourceSha256, rows: f.rows ?? [], operation: f.operation, details: f.details,
      })
      tsFlusso++
    }
  })
}

function recordInStore(ctx: Context, flussi: FlussoResult[]): void {
  const built: BuiltFlusso[] = flussi.map((f) => ({
    idFlusso: f.id_flusso,
    ente: ctx.ente.codice,
    flow: ctx.flow.id,
    packaging: ctx.packaging,
    file: f.file,
    sha256: f.sha256,
    beneficiari: f.beneficiari,
    prestazioni: f.prestazioni,
    sourceFile: ctx.sourceFile,
  }))
  ctx.store.recordBuilt(built)
}

export function nome(codice: string, flow: FlowSpec, day: string, progressive: number): string {
  return `${codice}.${flow.nameCode}.${day}.${String(progressive).padStart(7, '0')}`
}

/** The sending day as INPS sees it: the calendar day in Italy. */
/** One output flusso, written in the private folder (0600) and moved to `path` once the store knows it. */
class FlussoFile {
  readonly idFlusso: string
  /** where it will be: in the output folder */
  readonly path: string
  /** where it is written */
  readonly workPath: string
  beneficiari = 0
  prestazioni = 0
  private readonly sink: ByteSink

  constructor(ctx: Context, progressive: number) {
    if (progressive > PROGRESSIVE_MAX) throw new UsageError('TOO_MANY_FLUSSI', 'Progressivo giornaliero esaurito (9.999.999 flussi).')
    this.idFlusso = nome(ctx.ente.codice, ctx.flow, ctx.day, progressive)
    this.path = join(ctx.outDir, `${this.idFlusso}.xml`)
    this.workPath = join(ctx.workDir, `${this.idFlusso}.xml`)
    if (existsSync(this.path)) throw new UsageError('OUTPUT_EXISTS', `Il file ${this.path} esiste già: non lo sovrascrivo.`)
    this.sink = new ByteSink(this.workPath, true)
    this.write(Buffer.from(ctx.writer.open(this.idFlusso, ctx.ente)))
  }

  write(data: Buffer): void {
    this.writeRange(data, 0, data.length)
  }

  writeRange(src: Buffer, start: number, end: number): void {
    this.sink.writeRange(src, start, end)
  }

  finish(close: string): FlussoResult {
    this.write(Buffer.from(close))
    // no fsync per file: the store keeps each file's SHA-256, and every later step checks it
    const sha256 = this.sink.close()
    return {id_flusso: this.idFlusso, file: this.path, beneficiari: this.beneficiari, prestazioni: this.prestazioni, sha256}
  }
}

/**
 * Buffered synchronous writer for a private (0600) file, optionally hashing what it writes.
 * Bytes are copied into one staging buffer: no per-record buffers or views to collect.
 */
class ByteSink {
  private fd: number | undefined
  private readonly staging = Buffer.allocUnsafe(FLUSH_BYTES)
  private used = 0
  private readonly hash: Hash | undefined

  constructor(path: string, hashed = false) {
    this.fd = openSync(path, 'wx', 0o600)
    this.hash = hashed ? createHash('sha256') : undefined
  }

  write(data: Buffer): void {
    this.writeRange(data, 0, data.length)
  }

  writeRange(src: Buffer, start: number, end: number): void {
    if (end - start >= this.staging.length) {
      // a whole file body: straight to the file, without a copy through the staging buffer
      this.flush()
      const data = src.subarray(start, end)
      this.hash?.update(data)
      for (let off = 0; off < data.length; ) off += writeSync(this.fd!, data, off)
      return
    }
    while (start < end) {
      if (this.used === this.staging.length) this.flush()
      const n = Math.min(end - start, this.staging.length - this.used)
      src.copy(this.staging, this.used, start, start + n)
      this.used += n
      start += n
    }
  }

  private flush(): void {
    if (this.used === 0 || this.fd === undefined) return
    const data = this.staging.subarray(0, this.used)
    this.hash?.update(data)
    for (let off = 0; off < data.length; ) off += writeSync(this.fd, data, off)
    this.used = 0
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

export interface SpoolLine {
  group: number
  row: number
  /** rendered Beneficiario opening (empty when the group continues) and PrestazioniSociali, UTF-8 */
  header: Buffer
  record: Buffer
}

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
        const g = buf.indexOf(TAB, start)
        const a = buf.indexOf(TAB, g + 1)
        const b = buf.indexOf(TAB, a + 1)
        let group = 0
        for (let i = start; i < g; i++) group = group * 10 + buf[i] - 48
        let row = 0
        for (let i = g + 1; i < a; i++) row = row * 10 + buf[i] - 48
        yield {group, row, header: buf.subarray(a + 1, b), record: buf.subarray(b + 1, nl)}
        start = nl + 1
      }
      if (n === 0) return
      // keep the incomplete line in a new buffer (yielded views of this one stay valid); grow for a huge line
      const rest = filled - start
      const next = Buffer.allocUnsafe(start === 0 && rest === buf.length ? buf.length * 2 : buf.length)
      buf.copy(next, 0, start, filled)
      buf = next
      filled = rest
    }
  } finally {
    closeSync(fd)
  }
}

/** Scattered beneficiaries: order the spool by (first appearance, file order) on disk, beside the spool. */
function* orderedBySqlite(spoolPath: string): Generator<SpoolLine> {
  const dbPath = `${spoolPath}.sqlite`
  closeSync(openSync(dbPath, 'wx', 0o600))
  const db = new Database(dbPath)
  try {
    db.pragma('journal_mode = OFF')
    db.pragma('synchronous = OFF')
    db.pragma('cache_size = -16000') // 16 MB: the sort spills to disk beyond that
    // …into SQLite's temporary files, which would otherwise go to $TMPDIR: keep them in the private folder
    privateSqliteTemp(db, dirname(dbPath))
    db.exec('CREATE TABLE spool (g INTEGER NOT NULL, r INTEGER NOT NULL, header BLOB NOT NULL, record BLOB NOT NULL)')
    const insert = db.prepare('INSERT INTO spool VALUES (?, ?, ?, ?)')
    db.transaction(() => {
      for (const line of readLines(spoolPath)) insert.run(line.group, line.row, line.header, line.record)
    })()
    // rowid is file order: (g, rowid) is first appearance, then file order
    db.exec('CREATE INDEX spool_order ON spool (g)')
    const rows = db.prepare('SELECT g, r, header, record FROM spool ORDER BY g, rowid').raw(true).iterate() as IterableIterator<[number, number, Buffer, Buffer]>
    for (const [group, row, header, record] of rows) yield {group, row, header, record}
  } finally {
    db.close()
    rmSync(dbPath, {force: true})
  }
}
