/**
 * What the XLSX and ODS readers share: opening the zip (and saying clearly why a file cannot be
 * read), inflating a part as text under the caps, and turning raw rows into a Sheet (header =
 * the first row with content, blank rows skipped, rows padded to the header, batches).
 */
import {open} from 'node:fs/promises'

import {BATCH_ROWS, MAX_ROW_CHARS, type ReadOptions, type Sheet, type SheetInfo, type SheetRow} from './types.js'
import {XmlSyntaxError} from './xml-scan.js'
import {ZipArchive, ZipError, type InflateLimits, type ZipEntry} from './zip.js'

/** Widest row a spreadsheet can hold (Excel and LibreOffice: 16384 columns). */
export const MAX_COLUMNS = 16384
/** Tallest sheet (Excel and LibreOffice: 1048576 rows); repeated rows are never expanded past it. */
export const MAX_ROWS = 1 << 20

/**
 * Inflated bytes allowed for a sheet's XML: a full 1,048,576-row sheet of the 47 canonical
 * columns with inline strings stays under it; reading more would only be a way to keep us busy.
 */
export const MAX_SHEET_BYTES = 4 * 2 ** 30
/** workbook.xml, rels, styles, manifest: parts read whole into memory */
export const MAX_SMALL_PART_BYTES = 32 << 20

/** A row as the format-specific parsers produce it, before blank rows and the header are sorted out. */
export interface RawRow {
  row: number
  cells: string[]
  /** ODS stores identical consecutive rows once with a repeat count; expanded lazily */
  repeat?: number
  /** the row exceeded MAX_ROW_CHARS / MAX_COLUMNS: its content was dropped while reading */
  tooLong?: boolean
}

/** What a format-specific parser hands to buildSheet. */
export interface RowSource {
  /** chunks of rows in sheet order; must never throw (problems go to onIssue) */
  rows: AsyncIterable<RawRow[]>
  /** the sheet being read, once the source knows it */
  sheetName(): string | undefined
  /** true when the source already reported why it produced nothing (no FILE_EMPTY on top of it) */
  failed(): boolean
}

export type UnreadableReason =
  | 'not-zip' // not a zip at all (plain text renamed...)
  | 'truncated' // a zip cut short (an interrupted download or copy)
  | 'ole2' // an OLE2 container: an old .xls, or an .xlsx/.ods protected by a password
  | 'missing-part' // a zip, but without the workbook / content.xml
  | 'unsupported' // a workbook laid out in a way the reader does not handle (encrypted parts...)
  | 'corrupt' // failed while reading the data

/** params.format is upper case, as the FILE_UNREADABLE message shows it ("non è un XLSX leggibile") */
export function reportUnreadable(
  opts: ReadOptions,
  format: SheetInfo['format'],
  reason: UnreadableReason,
  extra: Record<string, string | number> = {},
): void {
  opts.onIssue({row: 0, code: 'FILE_UNREADABLE', params: {format: format.toUpperCase(), reason, ...extra}})
}

/** A failure while inflating or parsing a part, as the finding the user reads. */
export function reportPartFailure(opts: ReadOptions, format: SheetInfo['format'], err: unknown, extra: Record<string, string | number> = {}): void {
  if (err instanceof ZipError && (err.reason === 'ZIP_BOMB' || err.reason === 'FILE_TOO_LARGE')) {
    opts.onIssue({row: 0, code: err.reason, params: {format: format.toUpperCase(), part: err.part ?? '', ...extra}})
    return
  }
  if (err instanceof ZipError) return reportUnreadable(opts, format, err.reason as UnreadableReason, {...(err.part && {part: err.part}), ...extra})
  reportUnreadable(opts, format, 'corrupt', {...errorParams(err), ...extra})
}

export function emptySheet(info: SheetInfo): Sheet {
  return {info, header: [], headerRow: 0, batches: noBatches()}
}

async function* noBatches(): AsyncGenerator<SheetRow[]> {}

/**
 * Opens a zip through its central directory (read from the end of the file, so a truncated or
 * fake file fails here, before any streaming starts). Reports FILE_UNREADABLE and returns null
 * when the file is not a readable zip.
 */
export async function openWorkbook(path: string, format: SheetInfo['format'], opts: ReadOptions): Promise<ZipArchive | null> {
  try {
    return await ZipArchive.open(path)
  } catch (err) {
    if (err instanceof ZipError && err.reason !== 'not-zip') reportUnreadable(opts, format, err.reason as UnreadableReason)
    else reportUnreadable(opts, format, (await isOle2(path)) ? 'ole2' : 'not-zip', errorParams(err))
    return null
  }
}

/** OLE2 signature D0 CF 11 E0 A1 B1 1A E1: worth telling apart, the fix for the user differs. */
async function isOle2(path: string): Promise<boolean> {
  try {
    const handle = await open(path, 'r')
    try {
      const {buffer, bytesRead} = await handle.read(Buffer.alloc(8), 0, 8, 0)
      return bytesRead === 8 && buffer.equals(Buffer.from('d0cf11e0a1b11ae1', 'hex'))
    } finally {
      await handle.close()
    }
  } catch {
    return false
  }
}

/** Only a system error code goes into the issue: messages may contain paths (personal data). */
export function errorParams(err: unknown): Record<string, string> {
  const code = (err as {code?: unknown} | null)?.code
  return typeof code === 'string' ? {error: code} : {}
}

/** Which zip parts say what a file really is, to hint that the extension lies. */
export function detectFormat(zip: ZipArchive): SheetInfo['format'] | undefined {
  if (zip.find('xl/workbook.xml')) return 'xlsx'
  if (zip.find('content.xml')) return 'ods'
  return undefined
}

/** A part inflated and decoded as UTF-8 text, chunk by chunk (a character split across chunks is kept whole). */
export async function* partText(zip: ZipArchive, entry: ZipEntry, limits: InflateLimits): AsyncGenerator<string> {
  // the BOM some producers write is dropped by the decoder
  const decoder = new TextDecoder('utf-8')
  for await (const chunk of zip.inflate(entry, limits)) {
    const text = decoder.decode(chunk, {stream: true})
    if (text) yield text
  }
  const tail = decoder.decode()
  if (tail) yield tail
}

/**
 * The sheet a selector designates: the first, in tab order, whose name equals it or — for a
 * selector made of digits — whose 1-based position among the visible sheets equals it.
 * Without a selector: the first visible one. Hidden sheets (lookup lists, instructions) are
 * read only when named. Streaming ODS can only decide in tab order, so XLSX follows the same rule.
 */
export function sheetMatches(selector: string | undefined, name: string, visiblePosition: number | undefined): boolean {
  if (selector === undefined || selector === '') return visiblePosition === 1
  return name === selector || (/^\d+$/.test(selector) && Number(selector) === visiblePosition)
}

/** A wrong --sheet: params.sheet is the selector, params.sheets the names available. */
export function reportSheetNotFound(opts: ReadOptions, selector: string, names: string[]): void {
  opts.onIssue({row: 0, code: 'SHEET_NOT_FOUND', params: {sheet: selector, sheets: names.join(', ')}})
}

/**
 * Number → plain decimal text as a user would type it: no exponent, and no binary float noise
 * (Excel keeps 15 significant digits, so anything beyond is noise: 0.1+0.2 → "0.3").
 */
export function plainNumber(n: number): string {
  if (!Number.isFinite(n)) return ''
  const text = String(Number(n.toPrecision(15)))
  return text.includes('e') ? expandExponent(text) : text
}

/** A number written as plainNumber writes it (no exponent, no trailing zeros, at most 15 digits). */
const PLAIN_DECIMAL = /^-?(?:0|[1-9]\d*)(?:\.\d*[1-9])?$/

/**
 * A number's text from a workbook (XLSX <v>, ODS office:value) as plainNumber would write it:
 * the usual short decimal is already in that form and kept as it is, without a round trip.
 */
export function plainNumberText(raw: string): string {
  return raw.length <= 15 && PLAIN_DECIMAL.test(raw) ? raw : plainNumber(Number(raw))
}

/** "1.5e-7" → "0.00000015", "1.2e+21" → "1200000000000000000000" */
function expandExponent(text: string): string {
  const m = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(text)
  if (!m) return text
  const [, sign, lead, fraction = '', expText] = m
  const digits = lead + fraction
  const exp = Number(expText)
  // String() only uses exponents below 1e-6 and from 1e21 on, where digits never reach the point
  return exp >= 0 ? sign + digits.padEnd(exp + 1, '0') : `${sign}0.${'0'.repeat(-exp - 1)}${digits}`
}

function isBlank(cells: string[]): boolean {
  return cells.every((c) => c.trim() === '')
}

/** Empty trailing cells are formatting, not data: they must not look like cells beyond the header. */
function trimTrailing(cells: string[]): string[] {
  let end = cells.length
  while (end > 0 && cells[end - 1] === '') end--
  return end === cells.length ? cells : cells.slice(0, end)
}

function rowChars(cells: string[]): number {
  let total = 0
  for (const c of cells) total += c.length
  return total
}

/**
 * Turns a stream of raw rows into a Sheet: the first non-blank row is the header, blank rows are
 * skipped, every data row is padded to the header width (never cut: the caller reports extra
 * cells), repeated rows are expanded, batches hold up to BATCH_ROWS rows.
 */
export async function buildSheet(format: SheetInfo['format'], source: RowSource, opts: ReadOptions): Promise<Sheet> {
  const chunks = source.rows[Symbol.asyncIterator]()
  const accept = (raw: RawRow): boolean => acceptRow(raw, opts.onIssue)

  // Pull chunks until the header shows up; what follows it in that chunk is kept for the batches.
  let header: RawRow | undefined
  let leftover: RawRow[] = []
  while (!header) {
    const next = await chunks.next()
    if (next.done) break
    const index = next.value.findIndex(accept)
    if (index < 0) continue
    header = next.value[index]
    leftover = next.value.slice(index + 1)
  }

  const sheet = source.sheetName()
  const info: SheetInfo = {format, ...(sheet !== undefined && {sheet})}
  if (!header) {
    if (!source.failed()) opts.onIssue({row: 0, code: 'FILE_EMPTY'})
    return emptySheet(info)
  }
  const headerCells = trimTrailing(header.cells)
  if ((header.repeat ?? 1) > 1) {
    // a header repeated verbatim below itself: the copies are data rows
    leftover.unshift({row: header.row + 1, cells: header.cells, repeat: header.repeat! - 1})
  }
  return {
    info,
    header: headerCells,
    headerRow: header.row,
    batches: dataBatches(leftover, chunks, headerCells.length, accept, () => reportPartFailure(opts, format, new ZipError('FILE_TOO_LARGE', 'rows-repeated'))),
  }
}

/** A row worth reading: not blank, not too long (that one is reported, ROW_TOO_LONG, and skipped). */
export function acceptRow(raw: RawRow, onIssue: ReadOptions['onIssue']): boolean {
  if (raw.tooLong || rowChars(raw.cells) > MAX_ROW_CHARS) {
    onIssue({row: raw.row, code: 'ROW_TOO_LONG', params: {max: MAX_ROW_CHARS}})
    return false
  }
  return !isBlank(raw.cells)
}

/** A data row's cells as the row pipeline takes them: trailing empty cells dropped, padded to the header. */
export function dataCells(cells: string[], width: number): string[] {
  return padTo(trimTrailing(cells), width)
}

async function* dataBatches(
  leftover: RawRow[],
  chunks: AsyncIterator<RawRow[]>,
  width: number,
  accept: (raw: RawRow) => boolean,
  /** says the sheet asks for too many repeated cells; the rows end there */
  refuseRepeats: () => void,
): AsyncGenerator<SheetRow[]> {
  let batch: SheetRow[] = []
  let chunk = leftover
  // cells copied for repeated rows: a few hundred bytes of XML may ask for billions of them
  let copied = 0
  try {
    for (;;) {
      for (const raw of chunk) {
        if (!accept(raw)) continue
        const cells = dataCells(raw.cells, width)
        if ((raw.repeat ?? 1) > 1 && (copied += cells.length * ((raw.repeat ?? 1) - 1)) > MAX_REPEATED_CELLS) {
          refuseRepeats()
          if (batch.length > 0) yield batch
          return
        }
        for (let i = 0; i < (raw.repeat ?? 1); i++) {
          // every copy of a repeated row gets its own array: callers may mutate what they receive
          batch.push({row: raw.row + i, cells: i === 0 ? cells : cells.slice()})
          if (batch.length >= BATCH_ROWS) {
            yield batch
            batch = []
          }
        }
      }
      const next = await chunks.next()
      if (next.done) break
      chunk = next.value
    }
    if (batch.length > 0) yield batch
  } finally {
    // the caller may stop early: let the source close its streams
    await chunks.return?.()
  }
}

/** Cells a sheet may ask to copy for repeated rows with content: 1,048,576 rows of 64 columns. */
export const MAX_REPEATED_CELLS = 1_048_576 * 64

function padTo(cells: string[], width: number): string[] {
  while (cells.length < width) cells.push('')
  return cells
}

/** a row's XML may not be longer than this (characters): far beyond what a row may hold (MAX_ROW_CHARS) */
const MAX_ROW_XML = 16 << 20

/**
 * The text of an incomplete row between chunks, for the row scanners. Kept as parts, joined only
 * once a chunk brings one of the `ends` (a row's end tag…), so that a long stretch without any
 * (a huge cell, a bomb) costs linear time, not a copy per chunk; white space between rows is
 * dropped as it arrives.
 */
export class PendingRows {
  private parts: string[] = []
  private length = 0
  private tail = ''

  constructor(private readonly ends: string[]) {}

  /** The text to scan (what was pending + chunk) when it may hold a complete row; else undefined (kept). */
  add(chunk: string): string | undefined {
    if (this.length === 0) {
      const lt = chunk.indexOf('<')
      if (lt < 0) return undefined
      if (lt > 0) chunk = chunk.slice(lt)
    }
    const probe = this.tail + chunk
    if (!this.ends.some((end) => probe.includes(end))) {
      this.parts.push(chunk)
      this.length += chunk.length
      this.tail = probe.slice(-64)
      if (this.length > MAX_ROW_XML) throw new XmlSyntaxError('row too long')
      return undefined
    }
    const text = this.parts.length > 0 ? this.parts.join('') + chunk : chunk
    this.parts = []
    this.length = 0
    this.tail = ''
    return text
  }

  /** What the scan could not use yet: the start of a row that goes on in the next chunk. */
  keep(rest: string): void {
    if (rest === '') return
    this.parts = [rest]
    this.length = rest.length
    this.tail = rest.slice(-64)
    if (this.length > MAX_ROW_XML) throw new XmlSyntaxError('row too long')
  }
}

/** A format's push parser of rows: fed text, it hands over the rows completed so far. */
export interface RowParser {
  readonly finished: boolean
  /** the last row number seen (for the report of a failure) */
  readonly lastRow: number
  write(text: string): void
  /** end of input: throws when the document was cut short */
  end(): void
  take(): RawRow[]
}

/**
 * Inflates a part and feeds it to the parser, yielding the rows each chunk completes. Never
 * throws: a failure (ZIP_BOMB, FILE_TOO_LARGE, FILE_UNREADABLE) is reported and ends the rows.
 */
export async function* partRows(zip: ZipArchive, entry: ZipEntry, parser: RowParser, format: SheetInfo['format'], opts: ReadOptions, markFailed: () => void): AsyncGenerator<RawRow[]> {
  const text = partText(zip, entry, {maxBytes: MAX_SHEET_BYTES})
  try {
    for await (const chunk of text) {
      parser.write(chunk)
      const rows = parser.take()
      if (rows.length > 0) yield rows
      if (parser.finished) break // the rows are over: what follows them is not needed
    }
    if (!parser.finished) parser.end()
  } catch (err) {
    markFailed()
    reportPartFailure(opts, format, err, {afterRow: parser.lastRow})
    // the rows read whole before the damage (up to afterRow) are still rows of the file
    const rows = parser.take()
    if (rows.length > 0) yield rows
    return
  } finally {
    await text.return(undefined)
  }
  const rows = parser.take()
  if (rows.length > 0) yield rows
}
