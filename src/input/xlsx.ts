/**
 * XLSX reader on top of exceljs's streaming WorkbookReader, with workarounds for what that reader
 * gets wrong on real-world files (see createWorkbookReader). Only the shared strings (which
 * exceljs caches by design) and the rows of the current chunk are held in memory.
 */
import {createReadStream, type ReadStream} from 'node:fs'
import {posix} from 'node:path'
import {PassThrough, type Readable} from 'node:stream'
import ExcelJS from 'exceljs'
import {SaxesParser} from 'saxes'
import type unzipper from 'unzipper'
import {
  buildSheet,
  detectFormat,
  emptySheet,
  errorParams,
  openZip,
  plainNumber,
  reportSheetNotFound,
  reportUnreadable,
  sheetMatches,
  type RawRow,
} from './ods.js'
import type {ReadOptions, Sheet} from './types.js'

export async function readXlsx(path: string, opts: ReadOptions): Promise<Sheet> {
  const dir = await openZip(path, 'xlsx', opts)
  if (!dir) return emptySheet({format: 'xlsx'})

  const book = await readWorkbookParts(dir, opts)
  if (!book) return emptySheet({format: 'xlsx'})

  const chosen = book.sheets.find((sheet, i) => sheetMatches(opts.sheet, sheet.name, i + 1))
  if (!chosen) {
    reportSheetNotFound(opts, 'xlsx', opts.sheet ?? '1', book.sheets.map((s) => s.name))
    return emptySheet({format: 'xlsx'})
  }
  // exceljs only recognises worksheets stored as xl/worksheets/sheetN.xml (every producer we know does that)
  const sheetNo = /^xl\/worksheets\/sheet(\d+)\.xml$/.exec(chosen.part)?.[1]
  if (!sheetNo || !dir.files.some((f) => f.path === chosen.part)) {
    reportUnreadable(opts, 'xlsx', 'unsupported', {sheet: chosen.name})
    return emptySheet({format: 'xlsx', sheet: chosen.name})
  }

  let failed = false
  const rows = xlsxChunks(path, sheetNo, book.date1904, opts, () => (failed = true))
  return buildSheet('xlsx', {rows, sheetName: () => chosen.name, failed: () => failed}, opts)
}

// ---------------------------------------------------------------------------------------------
// Workbook structure, read directly from the zip's central directory
// ---------------------------------------------------------------------------------------------

interface WorkbookParts {
  /** in tab order */
  sheets: {name: string; part: string}[]
  date1904: boolean
}

/** Larger workbook.xml / rels parts are not plausible: refuse rather than load them whole. */
const MAX_PART_BYTES = 32 << 20

/**
 * Sheet names, tab order and parts come from workbook.xml + its rels, read here rather than
 * from exceljs: exceljs learns them only if those parts precede the worksheets in the zip,
 * which is not the case in files saved by LibreOffice.
 */
async function readWorkbookParts(dir: unzipper.CentralDirectory, opts: ReadOptions): Promise<WorkbookParts | undefined> {
  const workbook = dir.files.find((f) => f.path === 'xl/workbook.xml')
  const rels = dir.files.find((f) => f.path === 'xl/_rels/workbook.xml.rels')
  if (!workbook || !rels) {
    const detected = detectFormat(dir)
    reportUnreadable(opts, 'xlsx', 'missing-part', {
      part: workbook ? 'xl/_rels/workbook.xml.rels' : 'xl/workbook.xml',
      ...(detected && detected !== 'xlsx' && {detected}),
    })
    return undefined
  }
  try {
    const targets = new Map<string, string>()
    eachElement(await partText(rels), (name, attrs) => {
      if (name === 'Relationship' && attrs.Id && attrs.Target) targets.set(attrs.Id, resolveTarget(attrs.Target))
    })
    const parts: WorkbookParts = {sheets: [], date1904: false}
    eachElement(await partText(workbook), (name, attrs) => {
      if (name === 'sheet') parts.sheets.push({name: attrs.name ?? '', part: targets.get(relationId(attrs)) ?? ''})
      if (name === 'workbookPr') parts.date1904 = attrs.date1904 === '1' || attrs.date1904 === 'true'
    })
    return parts
  } catch (err) {
    reportUnreadable(opts, 'xlsx', 'corrupt', errorParams(err))
    return undefined
  }
}

async function partText(file: unzipper.File): Promise<string> {
  if (file.uncompressedSize > MAX_PART_BYTES) throw Object.assign(new Error('part too large'), {code: 'PART_TOO_LARGE'})
  return (await file.buffer()).toString('utf8').replace(/^\uFEFF/, '')
}

/** Calls visit for every element, by local name (some producers prefix everything: <x:sheet>). */
function eachElement(xml: string, visit: (name: string, attrs: Record<string, string>) => void): void {
  const sax = new SaxesParser()
  sax.on('opentag', (node) => visit(node.name.slice(node.name.indexOf(':') + 1), node.attributes))
  sax.write(xml).close()
}

/** r:id, whatever the prefix of the relationships namespace */
function relationId(attrs: Record<string, string>): string {
  return attrs['r:id'] ?? Object.entries(attrs).find(([key]) => key.endsWith(':id'))?.[1] ?? ''
}

/** Relationship targets are relative to xl/ unless absolute within the package. */
function resolveTarget(target: string): string {
  return target.startsWith('/') ? target.slice(1) : posix.normalize(`xl/${target}`)
}

// ---------------------------------------------------------------------------------------------
// Rows, streamed by exceljs
// ---------------------------------------------------------------------------------------------

/** The parts of exceljs's streaming reader used here that its typings leave out. */
interface ExcelEvent {
  eventType: string
  value: unknown
}
interface StreamWorksheet {
  id: string | number
  iterator: AsyncIterable<Buffer | string> & {destroy?: () => void; on?: (event: 'error', listener: () => void) => unknown}
  parse(): AsyncIterable<ExcelEvent[]>
}
interface StreamWorkbook extends AsyncIterable<StreamWorksheet> {
  on(event: 'error', listener: (err: unknown) => void): unknown
  _parseRels: (entry: Readable) => Promise<void>
  _parseSharedStrings: (entry: Readable) => AsyncGenerator<unknown>
}

/** Never throws: a failure is reported as FILE_UNREADABLE and ends the rows. */
async function* xlsxChunks(
  path: string,
  sheetNo: string,
  date1904: boolean,
  opts: ReadOptions,
  markFailed: () => void,
): AsyncGenerator<RawRow[]> {
  const input = new ExcelInput(path)
  let lastRow = 0
  let seen = false
  try {
    for await (const worksheet of input.guard(createWorkbookReader(input.stream))) {
      if (String(worksheet.id) !== sheetNo) {
        // another sheet: exceljs parked it in a temp file, close it unread. exceljs removes that file
        // right after; a stream still opening it would then fail with nobody listening (an uncaught
        // ENOENT under load), so its late error is absorbed here
        worksheet.iterator.on?.('error', () => {})
        worksheet.iterator.destroy?.()
        continue
      }
      seen = true
      // a multi-byte UTF-8 character may straddle two chunks: exceljs decodes each chunk alone
      worksheet.iterator = utf8Text(worksheet.iterator)
      for await (const events of input.guard(worksheet.parse())) {
        const rows = rowsOf(events, date1904, lastRow)
        if (rows.length === 0) continue
        lastRow = rows[rows.length - 1].row
        yield rows
      }
    }
    if (!seen) throw Object.assign(new Error('worksheet not found in the stream'), {code: 'SHEET_PART_UNREAD'})
  } catch (err) {
    markFailed()
    reportUnreadable(opts, 'xlsx', 'corrupt', {afterRow: lastRow, ...errorParams(err)})
  } finally {
    input.close()
  }
}

/**
 * The file as exceljs gets it, watched for failures exceljs does not handle:
 * - it pipes its input without an 'error' listener, so a read error would crash the process;
 * - its zip parser reports a broken entry (bad deflate data...) only as an 'error' event on
 *   itself, while exceljs waits for that entry to end: it would wait forever.
 * guard() wraps exceljs's iterators so that such a failure ends the wait with an error.
 */
class ExcelInput {
  readonly stream = new PassThrough()
  private readonly file: ReadStream
  private error?: unknown
  private readonly waiting = new Set<(err: unknown) => void>()

  constructor(path: string) {
    this.file = createReadStream(path)
    this.file.on('error', (err) => this.fail(err))
    // catch the pipe exceljs makes into its zip parser, to hear the parser's errors
    const pipe = this.stream.pipe.bind(this.stream)
    this.stream.pipe = <T extends NodeJS.WritableStream>(dest: T, options?: {end?: boolean}): T => {
      ;(dest as unknown as Readable).on('error', (err) => this.fail(err))
      return pipe(dest, options)
    }
    this.file.pipe(this.stream)
  }

  async *guard<T>(source: AsyncIterable<T>): AsyncGenerator<T> {
    const it = source[Symbol.asyncIterator]()
    try {
      for (;;) {
        const next = await this.race(it.next())
        if (next.done) return
        yield next.value
      }
    } finally {
      // not awaited: after a failure exceljs may never get back to us
      it.return?.()?.catch(() => {})
    }
  }

  close(): void {
    this.file.destroy()
    this.stream.destroy()
  }

  private fail(err: unknown): void {
    this.error ??= err
    for (const reject of this.waiting) reject(err)
    this.waiting.clear()
  }

  /** like Promise.race with a failure promise, without piling a handler on it at every call */
  private race<T>(promise: Promise<T>): Promise<T> {
    if (this.error !== undefined) return Promise.reject(this.error)
    return new Promise<T>((resolve, reject) => {
      this.waiting.add(reject)
      promise.then(
        (value) => {
          this.waiting.delete(reject)
          resolve(value)
        },
        (err) => {
          this.waiting.delete(reject)
          reject(err)
        },
      )
    })
  }
}

/**
 * exceljs's streaming reader, patched on the instance:
 * - the workbook rels are not handed to it, so that it always parks worksheets in temp files and
 *   parses them after the whole zip: otherwise, when sharedStrings.xml precedes a worksheet but
 *   styles.xml / workbook.xml follow it (LibreOffice's order), it parses the worksheet at once,
 *   without styles (dates come out as numbers) and crashes on the missing workbook model.
 *   Sheet names are resolved by readWorkbookParts instead.
 * - shared strings are decoded as a stream (exceljs decodes each chunk alone, which turns a
 *   character split across chunks into U+FFFD: exceljs issues #2084, #2316).
 */
function createWorkbookReader(input: Readable): StreamWorkbook {
  const reader = new ExcelJS.stream.xlsx.WorkbookReader(input, {
    worksheets: 'emit',
    sharedStrings: 'cache',
    styles: 'cache', // number formats: the only way to tell a date from a number
    hyperlinks: 'ignore', // a hyperlink cell's value is already its displayed text
    entries: 'ignore',
  }) as unknown as StreamWorkbook
  // errors reach us through the iterator; an 'error' event without a listener would kill the process
  reader.on('error', () => {})
  reader._parseRels = async () => {}
  const parseSharedStrings = reader._parseSharedStrings
  reader._parseSharedStrings = function (this: StreamWorkbook, entry: Readable) {
    entry.setEncoding('utf8')
    return parseSharedStrings.call(this, entry)
  }
  return reader
}

async function* utf8Text(chunks: AsyncIterable<Buffer | string>): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8')
  for await (const chunk of chunks) {
    yield typeof chunk === 'string' ? chunk : decoder.decode(chunk, {stream: true})
  }
  const tail = decoder.decode()
  if (tail) yield tail
}

function rowsOf(events: ExcelEvent[], date1904: boolean, previousRow: number): RawRow[] {
  const rows: RawRow[] = []
  for (const {eventType, value} of events) {
    if (eventType !== 'row') continue
    const row = value as ExcelJS.Row
    // a row without its r attribute (allowed, rarely written) follows the previous one
    const number = Number.isFinite(row.number) ? row.number : previousRow + 1
    rows.push({row: number, cells: rowCells(row, date1904)})
    previousRow = number
  }
  return rows
}

function rowCells(row: ExcelJS.Row, date1904: boolean): string[] {
  const cells: string[] = []
  row.eachCell((cell, col) => {
    cells[col - 1] = cellText(cell.value, cell.numFmt, date1904)
  })
  for (let i = 0; i < cells.length; i++) cells[i] ??= '' // gaps between non-empty cells
  return cells
}

function cellText(value: ExcelJS.CellValue | undefined, numFmt: string | undefined, date1904: boolean): string {
  if (value === null || value === undefined) return ''
  if (typeof value === 'string') return unescapeXlsx(value)
  if (typeof value === 'number') return plainNumber(value)
  if (typeof value === 'boolean') return value ? 'TRUE' : 'FALSE'
  if (value instanceof Date) return dateText(value, date1904)
  if ('richText' in value) return unescapeXlsx(value.richText.map((run) => run.text ?? '').join(''))
  if ('error' in value) return ''
  if ('formula' in value || 'sharedFormula' in value) {
    // the cached result; exceljs leaves a date-formatted result as a serial number
    const result = value.result
    if (typeof result === 'number' && isDateFormat(numFmt)) return dateText(serialToDate(result, date1904), date1904)
    return cellText(result as ExcelJS.CellValue | undefined, undefined, date1904)
  }
  if ('text' in value) return cellText(value.text, undefined, date1904) // hyperlink
  return ''
}

const DAY_MS = 86_400_000

/** exceljs builds dates at UTC midnight: read them in UTC. Time-only cells (serial < 1) give HH:MM:SS. */
function dateText(date: Date, date1904: boolean): string {
  const time = date.getTime()
  if (Number.isNaN(time)) return ''
  const epoch = date1904 ? Date.UTC(1904, 0, 1) : Date.UTC(1899, 11, 30)
  const iso = date.toISOString()
  return time >= epoch && time - epoch < DAY_MS ? iso.slice(11, 19) : iso.slice(0, 10)
}

/** the same conversion exceljs applies to date-formatted number cells */
function serialToDate(serial: number, date1904: boolean): Date {
  return new Date(Math.round((serial - 25569 + (date1904 ? 1462 : 0)) * DAY_MS))
}

/** A number format shows a date/time when, outside quotes, brackets and escapes, it uses d m y h s. */
function isDateFormat(format: string | undefined): boolean {
  if (!format) return false
  const bare = format.replace(/\[[^\]]*]/g, '').replace(/"[^"]*"/g, '').replace(/\\./g, '')
  return /[dmyhs]/i.test(bare)
}

/** Excel writes control characters as _xHHHH_ (and a literal "_x" as _x005F_x). */
function unescapeXlsx(text: string): string {
  if (!text.includes('_x')) return text
  return text.replace(/_x([0-9A-Fa-f]{4})_/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)))
}
