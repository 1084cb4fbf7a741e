/**
 * OpenDocument spreadsheet reader, streamed: the zip is opened through its central directory,
 * content.xml is inflated chunk by chunk and parsed event by event, so only the rows of the
 * current chunk (plus the sheet's header) are ever in memory.
 *
 * Also home of the helpers both zip-based readers share (xlsx.ts imports them).
 */
import {open} from 'node:fs/promises'
import {SaxesParser, type SaxesTagPlain} from 'saxes'
import unzipper from 'unzipper'
import {
  BATCH_ROWS,
  MAX_ROW_CHARS,
  type ReadOptions,
  type Sheet,
  type SheetInfo,
  type SheetRow,
} from './types.js'

// ---------------------------------------------------------------------------------------------
// Shared by the XLSX and ODS readers
// ---------------------------------------------------------------------------------------------

/** Widest row a spreadsheet can hold (Excel and LibreOffice: 16384 columns). */
export const MAX_COLUMNS = 16384
/** Tallest sheet (Excel and LibreOffice: 1048576 rows); repeated rows are never expanded past it. */
export const MAX_ROWS = 1 << 20

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
  | 'not-zip' // not a zip at all (plain text renamed, truncated download...)
  | 'ole2' // an OLE2 container: an old .xls, or an .xlsx/.ods protected by a password
  | 'missing-part' // a zip, but without the workbook / content.xml
  | 'unsupported' // a workbook laid out in a way the reader does not handle
  | 'corrupt' // failed while reading the data
  | 'sheet-not-found' // opts.sheet names no sheet (see reportSheetNotFound)

/** params.format is upper case, as the FILE_UNREADABLE message shows it ("non è un XLSX leggibile") */
export function reportUnreadable(
  opts: ReadOptions,
  format: SheetInfo['format'],
  reason: UnreadableReason,
  extra: Record<string, string | number> = {},
): void {
  opts.onIssue({row: 0, code: 'FILE_UNREADABLE', params: {format: format.toUpperCase(), reason, ...extra}})
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
export async function openZip(
  path: string,
  format: SheetInfo['format'],
  opts: ReadOptions,
): Promise<unzipper.CentralDirectory | null> {
  try {
    return await unzipper.Open.file(path)
  } catch (err) {
    const reason = (await isOle2(path)) ? 'ole2' : 'not-zip'
    reportUnreadable(opts, format, reason, errorParams(err))
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
export function detectFormat(dir: unzipper.CentralDirectory): SheetInfo['format'] | undefined {
  const paths = new Set(dir.files.map((f) => f.path))
  if (paths.has('xl/workbook.xml')) return 'xlsx'
  if (paths.has('content.xml')) return 'ods'
  return undefined
}

/**
 * The sheet a selector designates: the first, in tab order, whose name equals it or — for a
 * selector made of digits — whose 1-based position equals it. Without a selector: the first.
 * Streaming ODS can only decide in tab order, so XLSX follows the same rule.
 */
export function sheetMatches(selector: string | undefined, name: string, position: number): boolean {
  if (selector === undefined || selector === '') return position === 1
  return name === selector || (/^\d+$/.test(selector) && Number(selector) === position)
}

/**
 * A wrong --sheet: params.sheet is the selector, params.sheets the names available.
 */
export function reportSheetNotFound(opts: ReadOptions, _format: SheetInfo['format'], selector: string, names: string[]): void {
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
  const accept = (raw: RawRow): boolean => {
    if (raw.tooLong || rowChars(raw.cells) > MAX_ROW_CHARS) {
      opts.onIssue({row: raw.row, code: 'ROW_TOO_LONG', params: {max: MAX_ROW_CHARS}})
      return false
    }
    return !isBlank(raw.cells)
  }

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
    batches: dataBatches(leftover, chunks, headerCells.length, accept),
  }
}

async function* dataBatches(
  leftover: RawRow[],
  chunks: AsyncIterator<RawRow[]>,
  width: number,
  accept: (raw: RawRow) => boolean,
): AsyncGenerator<SheetRow[]> {
  let batch: SheetRow[] = []
  let chunk = leftover
  try {
    for (;;) {
      for (const raw of chunk) {
        if (!accept(raw)) continue
        const cells = padTo(trimTrailing(raw.cells), width)
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

function padTo(cells: string[], width: number): string[] {
  while (cells.length < width) cells.push('')
  return cells
}

// ---------------------------------------------------------------------------------------------
// ODS
// ---------------------------------------------------------------------------------------------

export async function readOds(path: string, opts: ReadOptions): Promise<Sheet> {
  const dir = await openZip(path, 'ods', opts)
  if (!dir) return emptySheet({format: 'ods'})
  const content = dir.files.find((f) => f.path === 'content.xml')
  if (!content) {
    const detected = detectFormat(dir)
    reportUnreadable(opts, 'ods', 'missing-part', {part: 'content.xml', ...(detected && {detected})})
    return emptySheet({format: 'ods'})
  }
  const parser = new OdsContentParser(opts.sheet)
  let failed = false
  return buildSheet('ods', {
    rows: odsChunks(content, parser, opts, () => (failed = true)),
    // known as soon as the table opens, i.e. before its header row
    sheetName: () => parser.sheetName,
    failed: () => failed,
  }, opts)
}

/** Inflates content.xml and feeds it to the parser; yields the rows each chunk completes. */
async function* odsChunks(
  content: unzipper.File,
  parser: OdsContentParser,
  opts: ReadOptions,
  markFailed: () => void,
): AsyncGenerator<RawRow[]> {
  const stream = content.stream()
  // a multi-byte UTF-8 character may straddle two chunks: decode in streaming mode
  const decoder = new TextDecoder('utf-8')
  try {
    for await (const chunk of stream) {
      parser.write(decoder.decode(chunk as Buffer, {stream: true}))
      const rows = parser.take()
      if (rows.length > 0) yield rows
      if (parser.finished) break // the selected table is closed: the rest of the file is not needed
    }
    if (!parser.finished) parser.end()
  } catch (err) {
    markFailed()
    reportUnreadable(opts, 'ods', 'corrupt', {afterRow: parser.lastRow, ...errorParams(err)})
    return
  } finally {
    stream.destroy()
  }
  const rows = parser.take()
  if (rows.length > 0) yield rows
  if (parser.sheetName === undefined) {
    markFailed()
    reportSheetNotFound(opts, 'ods', opts.sheet ?? '1', parser.sheetNames)
  }
}

interface CellState {
  attrs: Record<string, string>
  paragraphs: string[]
  /** text of the open text:p, or undefined outside paragraphs */
  paragraph?: string
  /** >0 inside an office:annotation (a comment): its text is not the cell's */
  ignoreDepth: number
  chars: number
}

interface RowState {
  repeat: number
  cells: string[]
  /** empty cells seen but not materialized yet: only a later non-empty cell makes them real */
  pendingEmpty: number
  chars: number
  tooLong: boolean
}

/**
 * A push parser for content.xml: fed text, it collects the finished rows of the selected table.
 * Tag names carry the standard ODF prefixes (office:, table:, text:), which every producer uses.
 */
class OdsContentParser {
  readonly sheetNames: string[] = []
  sheetName?: string
  finished = false
  lastRow = 0

  private readonly sax = new SaxesParser()
  private out: RawRow[] = []
  private tableDepth = 0
  private inSelected = false
  private nextRow = 1
  private row?: RowState
  private cell?: CellState

  constructor(private readonly selector: string | undefined) {
    this.sax.on('opentag', (node) => this.open(node))
    this.sax.on('closetag', (node) => this.closeTag(node))
    this.sax.on('text', (text) => this.text(text))
  }

  write(text: string): void {
    this.sax.write(text)
  }

  /** end of input: lets saxes report a document cut short */
  end(): void {
    this.sax.close()
  }

  take(): RawRow[] {
    const rows = this.out
    this.out = []
    return rows
  }

  private open(node: SaxesTagPlain): void {
    if (node.name === 'table:table') {
      this.openTable(node.attributes)
      return
    }
    // tables nested inside a cell (rare) are part of that cell, not rows of the sheet
    if (!this.inSelected || this.tableDepth !== 1) return
    switch (node.name) {
      case 'table:table-row':
        this.row = {repeat: repeatCount(node.attributes['table:number-rows-repeated']), cells: [], pendingEmpty: 0, chars: 0, tooLong: false}
        break
      case 'table:table-cell':
      case 'table:covered-table-cell': // the hidden part of a merged area: an empty cell
        if (this.row) this.cell = {attrs: node.attributes, paragraphs: [], ignoreDepth: 0, chars: 0}
        break
      case 'office:annotation':
        if (this.cell) this.cell.ignoreDepth++
        break
      case 'text:p':
      case 'text:h':
        if (this.cell && this.cell.ignoreDepth === 0) this.cell.paragraph = ''
        break
      case 'text:s':
        this.append(' '.repeat(Math.min(repeatCount(node.attributes['text:c']), MAX_ROW_CHARS + 1)))
        break
      case 'text:tab':
        this.append('\t')
        break
      case 'text:line-break':
        this.append('\n')
        break
    }
  }

  private openTable(attrs: Record<string, string>): void {
    this.tableDepth++
    if (this.tableDepth !== 1) return
    const name = attrs['table:name'] ?? ''
    this.sheetNames.push(name)
    if (this.sheetName === undefined && sheetMatches(this.selector, name, this.sheetNames.length)) {
      this.sheetName = name
      this.inSelected = true
    }
  }

  private closeTag(node: SaxesTagPlain): void {
    if (node.name === 'table:table') {
      this.tableDepth--
      if (this.tableDepth === 0 && this.inSelected) {
        this.inSelected = false
        this.finished = true
      }
      return
    }
    if (!this.inSelected || this.tableDepth !== 1) return
    switch (node.name) {
      case 'table:table-row':
        this.endRow()
        break
      case 'table:table-cell':
      case 'table:covered-table-cell':
        this.endCell()
        break
      case 'office:annotation':
        if (this.cell) this.cell.ignoreDepth--
        break
      case 'text:p':
      case 'text:h':
        if (this.cell?.paragraph !== undefined) {
          this.cell.paragraphs.push(this.cell.paragraph)
          this.cell.paragraph = undefined
        }
        break
    }
  }

  private text(text: string): void {
    // ODF collapses white space inside paragraphs; real runs of spaces are written as text:s
    this.append(text.replace(/[ \t\r\n]+/g, ' '))
  }

  private append(text: string): void {
    const cell = this.cell
    if (!cell || cell.paragraph === undefined || cell.ignoreDepth > 0 || this.row!.tooLong) return
    cell.chars += text.length
    if (this.row!.chars + cell.chars > MAX_ROW_CHARS) {
      this.row!.tooLong = true // stop collecting: memory stays bounded whatever the file says
      return
    }
    cell.paragraph += text
  }

  private endCell(): void {
    const row = this.row
    const cell = this.cell
    this.cell = undefined
    if (!row || !cell || row.tooLong) return
    const value = cellValue(cell.attrs, cell.paragraphs)
    const repeat = repeatCount(cell.attrs['table:number-columns-repeated'])
    if (value === '') {
      // typically thousands of repeated empty cells up to the sheet's edge: just count them
      row.pendingEmpty += repeat
      return
    }
    if (row.cells.length + row.pendingEmpty + repeat > MAX_COLUMNS || row.chars + value.length * repeat > MAX_ROW_CHARS) {
      row.tooLong = true
      return
    }
    for (; row.pendingEmpty > 0; row.pendingEmpty--) row.cells.push('')
    for (let i = 0; i < repeat; i++) row.cells.push(value)
    row.chars += value.length * repeat
  }

  private endRow(): void {
    const row = this.row
    this.row = undefined
    if (!row) return
    const first = this.nextRow
    this.nextRow += row.repeat
    this.lastRow = Math.min(this.nextRow - 1, MAX_ROWS)
    if (first > MAX_ROWS) return
    if (row.tooLong) {
      this.out.push({row: first, cells: [], tooLong: true})
    } else if (row.cells.length > 0) {
      // a repeated empty row (the sheet's tail) is never expanded; a repeated non-empty row is real data
      this.out.push({row: first, cells: row.cells, repeat: Math.min(row.repeat, MAX_ROWS - first + 1)})
    }
  }
}

function repeatCount(attr: string | undefined): number {
  const n = attr === undefined ? 1 : Number.parseInt(attr, 10)
  return Number.isFinite(n) && n > 0 ? n : 1
}

/** A cell's text from its typed value (office:value & co.) or, for strings, its paragraphs. */
function cellValue(attrs: Record<string, string>, paragraphs: string[]): string {
  const text = paragraphs.join('\n')
  if (attrs['calcext:value-type'] === 'error') return '' // a formula error: its text is "#DIV/0!" & co.
  switch (attrs['office:value-type']) {
    case 'float':
    case 'percentage':
    case 'currency': {
      const value = attrs['office:value']
      return value === undefined ? text : plainNumber(Number(value))
    }
    case 'date':
      return (attrs['office:date-value'] ?? '').slice(0, 10)
    case 'time':
      return isoTime(attrs['office:time-value']) ?? text
    case 'boolean':
      return attrs['office:boolean-value'] === 'true' ? 'TRUE' : 'FALSE'
    case 'string':
      return attrs['office:string-value'] ?? text
    default:
      return text
  }
}

/** "PT10H05M00S" → "10:05:00" (the same shape XLSX time-only cells get) */
function isoTime(duration: string | undefined): string | undefined {
  const m = /^PT(\d+)H(\d+)M(\d+)(?:[.,]\d+)?S$/.exec(duration ?? '')
  if (!m) return undefined
  return m.slice(1, 4).map((part) => part.padStart(2, '0')).join(':')
}
