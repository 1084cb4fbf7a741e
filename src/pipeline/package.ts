import {rmSync} from 'node:fs'

import type {RecordDetail, Store} from '../store/sqlite.js'
import type {EnteIdentity} from '../flows/ente.js'
import {FlussoFile, nome, type FileTarget, type FlussoResult} from './files.js'

/** An upload file of a submission, with what the store keeps about its records. */
export interface UploadResult extends FlussoResult {
  /** the ente whose flusso it is */
  ente: string
  details?: RecordDetail[]
  operation?: 'I' | 'C'
}

export interface UploadTarget extends FileTarget {
  store: Store
  /** cap on each file's size in bytes */
  maxBytes: number
  /** keep the rows (and what delta detection decided) of each file: a submission records them */
  keepRows: boolean
  /**
   * Called inside the store's write transaction: progressives are taken in it, and each file is
   * handed over as it is completed (its rows and details are not kept after the call).
   */
  onFile?: (file: UploadResult) => void
}

/**
 * Upload packaging (DESIGN §6): many beneficiari per file, each file under the size cap, and
 * inside one file a beneficiary's records under one `Beneficiario` — whatever the input order.
 *
 * The open flusso's beneficiaries wait here, in order of their first record in this file, their
 * records in file order; a beneficiary coming back while its file is open joins its element, one
 * coming back after its file was closed starts again in a later file. The file is written when
 * the next record would take it over the cap, so what is held is bounded by the cap. For input
 * grouped by beneficiary the files are those a plain sequential writer makes, byte for byte (the
 * same boundaries: a beneficiary is split over two files only if the cap forces it).
 *
 * The held bytes lie in one arena as the file will read: a new beneficiary's opening, then each
 * record followed by the beneficiary's closing tag. A beneficiary with one record in the file is
 * then one run of bytes, and runs that follow each other are written as one: the whole body for
 * grouped input, long runs for rows in date order (most people have one record per file). Only a
 * beneficiary coming back splits a run (its earlier record's closing tag is skipped).
 */
export class UploadWindow {
  /** the closing tags a file adds to what is held: the last beneficiary's and the Flusso's */
  private readonly closingLength: number
  private readonly openLength: number
  private readonly groupClose: Buffer
  /** `<Indirizzo` as bytes: a row of the same person may bring another one */
  private readonly variantOpen: Buffer | undefined

  /** the open file's bytes, as described above */
  private arena: Buffer
  private used = 0
  /** each record: its bytes (its closing tag follows them), the next record of its beneficiary, its row */
  private recStart = new Int32Array(1024)
  private recEnd = new Int32Array(1024)
  private recNext = new Int32Array(1024)
  private recRow = new Int32Array(1024)
  private recDetail: Array<RecordDetail | undefined> = []
  /** the bytes of the open file's details (header and record as the store keeps them): the caller's are views it reuses */
  private detailArena = Buffer.allocUnsafe(0)
  private detailUsed = 0
  private records = 0
  /** the open file's beneficiaries, in order: opening, first and last record, more than one address seen */
  private readonly slot = new GroupSlots()
  private beneficiaries = 0
  /** where each beneficiary's opening is in the arena (a grown one is copied to the arena's end) */
  private openStart = new Int32Array(256)
  private openEnd = new Int32Array(256)
  private first = new Int32Array(256)
  private last = new Int32Array(256)
  private multi = new Uint8Array(256)
  /** the bytes the file would have with what is held (as the sequential writer counted them) */
  private body = 0
  private operation: 'I' | 'C' = 'I'

  constructor(
    private readonly target: UploadTarget,
    readonly ente: EnteIdentity,
    /** the files written, in order (shared by the windows of one run) */
    private readonly results: UploadResult[],
    /** paths of the files written, for whoever must remove them on failure */
    private readonly written: string[],
  ) {
    this.groupClose = Buffer.from(target.writer.groupClose)
    this.closingLength = this.groupClose.length + Buffer.byteLength(target.writer.close)
    // every Nome of a build has the same length: the opening's size is known before the number
    this.openLength = Buffer.byteLength(target.writer.open(nome(ente.codice, target.flow, target.day, 1), ente))
    this.arena = Buffer.allocUnsafe(Math.min(target.maxBytes, 1 << 20))
    this.variantOpen = target.flow.groupVariant ? Buffer.from(`<${target.flow.groupVariant.element.name}`) : undefined
  }

  /** records in the open file */
  get held(): number {
    return this.records
  }

  /**
   * Adds a record `record[recordStart..recordEnd)` of beneficiary `group`, whose opening is
   * `header[headerStart..headerEnd)`. With `addresses`, the opening's address joins the
   * beneficiary's in this file when it is new (validation keeps a person within the XSD's maximum).
   */
  add(group: number, row: number, header: Buffer, headerStart: number, headerEnd: number, record: Buffer, recordStart: number, recordEnd: number, addresses: boolean, detail?: RecordDetail): void {
    let b = this.slot.get(group)
    if (b !== undefined && (addresses || this.multi[b]) && this.variantOpen && headerEnd > headerStart) this.addAddress(b, header.subarray(headerStart, headerEnd))
    const length = recordEnd - recordStart
    let carried: Buffer | undefined
    const needed = length + (b === undefined ? headerEnd - headerStart : 0) + this.closingLength
    if (this.records > 0 && this.openLength + this.body + needed > this.target.maxBytes) {
      // the beneficiary the cap splits goes on in the next file with the opening it has here
      if (b !== undefined) carried = Buffer.from(this.opening(b))
      this.closeFile()
      b = undefined
    }
    const openingLength = b !== undefined ? 0 : carried ? carried.length : headerEnd - headerStart
    const groupCloseLength = this.groupClose.length
    this.reserve(openingLength + length + groupCloseLength)
    const arena = this.arena
    let at = this.used
    let recordCopied = false
    if (b === undefined) {
      b = this.beneficiaries++
      if (b === this.first.length) this.growBeneficiaries()
      this.slot.set(group, b)
      this.openStart[b] = at
      if (carried) at += carried.copy(arena, at)
      else if (header === record && headerEnd === recordStart) {
        // the worker rendered the opening right before the record: one copy for both
        record.copy(arena, at, headerStart, recordEnd)
        at += openingLength
        recordCopied = true
      } else at += header.copy(arena, at, headerStart, headerEnd)
      this.openEnd[b] = at
      this.first[b] = -1
      this.last[b] = -1
      this.multi[b] = addresses ? 1 : 0
      this.body += openingLength + (b > 0 ? groupCloseLength : 0)
    }
    const r = this.records++
    if (r === this.recStart.length) this.growRecords()
    this.recStart[r] = at
    if (!recordCopied) record.copy(arena, at, recordStart, recordEnd)
    at += length
    this.recEnd[r] = at
    const close = this.groupClose
    for (let i = 0; i < groupCloseLength; i++) arena[at++] = close[i]
    this.used = at
    this.recNext[r] = -1
    this.recRow[r] = row
    if (detail) {
      this.recDetail[r] = {...detail, header: this.keepDetailBytes(detail.header), record: this.keepDetailBytes(detail.record)}
      this.operation = detail.op
    }
    if (this.first[b] < 0) this.first[b] = r
    else this.recNext[this.last[b]] = r
    this.last[b] = r
    this.body += length
  }

  /** Ends the open file here (the next record starts a new one). */
  breakFile(): void {
    this.closeFile()
  }

  finish(): void {
    this.closeFile()
  }

  /** Forgets the open file. */
  discard(): void {
    this.reset()
  }

  /** Another address of a beneficiary in the open file: added to its opening when new. */
  private addAddress(b: number, header: Buffer): void {
    const at = header.indexOf(this.variantOpen!)
    if (at < 0) return
    const address = header.subarray(at)
    const opening = this.opening(b)
    if (opening.indexOf(address) >= 0) return
    // the grown opening goes to the arena's end: the beneficiary's bytes are no longer one run
    this.reserve(opening.length + address.length)
    const start = this.used
    this.used += opening.copy(this.arena, start)
    this.used += address.copy(this.arena, this.used)
    this.openStart[b] = start
    this.openEnd[b] = this.used
    this.multi[b] = 1
    this.body += address.length
  }

  /** A complete file: only now does it take a progressive. */
  private closeFile(): void {
    if (this.records === 0) return
    const {target, arena} = this
    const {codice} = this.ente
    const progressive = target.onFile ? target.store.takeProgressives(codice, target.flow.nameCode, target.day, 1) : target.store.reserveProgressives(codice, target.flow.nameCode, target.day, 1)
    const file = new FlussoFile(target, this.ente, progressive)
    this.written.push(file.workPath)
    const rows: number[] | undefined = target.keepRows ? [] : undefined
    const details: RecordDetail[] = []
    const groupCloseLength = this.groupClose.length
    // the bytes to write next, [runStart, runEnd) of the arena: extended while the pieces follow each other
    let runStart = 0
    let runEnd = 0
    const piece = (start: number, end: number): void => {
      if (start === end) return
      if (start !== runEnd) {
        if (runEnd > runStart) file.writeRange(arena, runStart, runEnd)
        runStart = start
      }
      runEnd = end
    }
    for (let b = 0; b < this.beneficiaries; b++) {
      let r = this.first[b]
      // the opening, then each record; the last one with the closing tag after it
      piece(this.openStart[b], this.openEnd[b])
      for (;;) {
        rows?.push(this.recRow[r])
        const detail = this.recDetail[r]
        if (detail) details.push(detail)
        const next = this.recNext[r]
        piece(this.recStart[r], this.recEnd[r] + (next < 0 ? groupCloseLength : 0))
        if (next < 0) break
        r = next
      }
    }
    if (runEnd > runStart) file.writeRange(arena, runStart, runEnd)
    file.beneficiari = this.beneficiaries
    file.prestazioni = this.records
    const result: UploadResult = {...file.finish(target.writer.close), ente: this.ente.codice}
    if (rows) result.rows = rows
    if (details.length > 0) {
      result.details = details
      result.operation = this.operation
    }
    if (target.onFile) {
      target.onFile(result)
      // recorded: what the run reports of it is all that stays (a run of a million rows keeps no list of them)
      delete result.rows
      delete result.details
    }
    this.results.push(result)
    this.reset()
  }

  /** A copy of `bytes` in the detail arena, valid until the file is closed (a grown arena leaves earlier copies where they are). */
  private keepDetailBytes(bytes: Buffer): Buffer {
    if (this.detailUsed + bytes.length > this.detailArena.length) {
      this.detailArena = Buffer.allocUnsafe(Math.max(this.detailArena.length * 2, bytes.length, 64 << 10))
      this.detailUsed = 0
    }
    const at = this.detailUsed
    this.detailUsed += bytes.copy(this.detailArena, at)
    return this.detailArena.subarray(at, this.detailUsed)
  }

  private reset(): void {
    this.used = 0
    this.detailUsed = 0
    // details the results keep (no store to hand them to) must not be overwritten by the next file's
    if (!this.target.onFile) this.detailArena = Buffer.allocUnsafe(0)
    this.records = 0
    this.body = 0
    this.slot.clear()
    this.beneficiaries = 0
    if (this.recDetail.length > 0) this.recDetail = []
  }

  private opening(b: number): Buffer {
    return this.arena.subarray(this.openStart[b], this.openEnd[b])
  }

  /** Room for `bytes` more in the arena (a grown arena keeps what it holds where it was). */
  private reserve(bytes: number): void {
    if (this.used + bytes <= this.arena.length) return
    const bigger = Buffer.allocUnsafe(Math.max(this.arena.length * 2, this.used + bytes))
    this.arena.copy(bigger, 0, 0, this.used)
    this.arena = bigger
  }

  private growBeneficiaries(): void {
    this.openStart = grow(this.openStart)
    this.openEnd = grow(this.openEnd)
    this.first = grow(this.first)
    this.last = grow(this.last)
    const multi = new Uint8Array(this.multi.length * 2)
    multi.set(this.multi)
    this.multi = multi
  }

  private growRecords(): void {
    this.recStart = grow(this.recStart)
    this.recEnd = grow(this.recEnd)
    this.recNext = grow(this.recNext)
    this.recRow = grow(this.recRow)
  }
}

/** The open upload files of a run, one per ente (a spreadsheet may name the ente row by row). */
export class UploadWindows {
  readonly results: UploadResult[] = []
  readonly written: string[] = []
  private readonly windows = new Map<string, UploadWindow>()

  constructor(
    private readonly target: UploadTarget,
    private readonly ente: EnteIdentity,
  ) {}

  /** The open file of a row's ente (the run's, when the row names none). */
  of(ente: EnteIdentity | undefined): UploadWindow {
    const e = ente ?? this.ente
    let window = this.windows.get(e.codice)
    if (!window) this.windows.set(e.codice, (window = new UploadWindow(this.target, e, this.results, this.written)))
    return window
  }

  /** Ends every open file here. */
  breakFiles(): void {
    for (const w of this.windows.values()) w.breakFile()
  }

  finish(): UploadResult[] {
    for (const w of this.windows.values()) w.finish()
    return this.results
  }

  /** Forgets the open files and removes every file written. */
  discard(): void {
    for (const w of this.windows.values()) w.discard()
    for (const path of this.written) rmSync(path, {force: true})
  }
}

/**
 * Group → its beneficiary in the open file, for the thousands of beneficiaries of a file: open
 * addressing over two typed arrays kept from file to file. A Map emptied for every file would grow
 * its table again each time, and the tables it drops (large objects, collected only by a full
 * collection) would make the process's memory grow with the number of files.
 */
class GroupSlots {
  /** group numbers (never 0: rows count from 1, cancellations are negative); 0 = empty */
  private keys = new Int32Array(1 << 12)
  private values = new Int32Array(1 << 12)
  private count = 0

  get(group: number): number | undefined {
    const mask = this.keys.length - 1
    for (let at = hashGroup(group) & mask; ; at = (at + 1) & mask) {
      const key = this.keys[at]
      if (key === group) return this.values[at]
      if (key === 0) return undefined
    }
  }

  /** `group` must not be in the table (the window adds a beneficiary once per file). */
  set(group: number, value: number): void {
    if ((this.count + 1) * 2 > this.keys.length) this.grow()
    this.place(group, value)
    this.count++
  }

  clear(): void {
    if (this.count === 0) return
    this.keys.fill(0)
    this.count = 0
  }

  private place(group: number, value: number): void {
    const mask = this.keys.length - 1
    let at = hashGroup(group) & mask
    while (this.keys[at] !== 0) at = (at + 1) & mask
    this.keys[at] = group
    this.values[at] = value
  }

  private grow(): void {
    const {keys, values} = this
    this.keys = new Int32Array(keys.length * 2)
    this.values = new Int32Array(keys.length * 2)
    for (let i = 0; i < keys.length; i++) if (keys[i] !== 0) this.place(keys[i], values[i])
  }
}

function hashGroup(group: number): number {
  const h = Math.imul(group, 0x9e3779b1)
  return (h ^ (h >>> 15)) >>> 0
}

/** The same values in an array twice as long (the window's tables grow by doubling). */
function grow(a: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> {
  const bigger = new Int32Array(a.length * 2)
  bigger.set(a)
  return bigger
}
