/**
 * XLSX reader of our own: the zip's parts are inflated as streams (zip.ts) and tokenized as they
 * arrive (xml-scan.ts). The workbook's structure (sheets, their order and visibility, the date
 * system), the styles (which cells show dates) and the shared strings are read first, through the
 * central directory, whatever their order in the zip; then the chosen worksheet is streamed row by
 * row. Only the shared strings (compact, bounded) and the current chunk's rows live in memory;
 * nothing is written to disk.
 */
import {posix} from 'node:path'

import {MAX_ROW_CHARS, type ReadOptions, type Sheet} from './types.js'
import {
  buildSheet,
  detectFormat,
  emptySheet,
  MAX_COLUMNS,
  MAX_SMALL_PART_BYTES,
  openWorkbook,
  partRows,
  partText,
  PendingRows,
  plainNumberText,
  reportPartFailure,
  reportSheetNotFound,
  reportUnreadable,
  sheetMatches,
  type RawRow,
  type RowParser,
} from './workbook.js'
import {attr, decodeXml, knownText, localName, sourceText, textAt, XmlScanner, XmlSyntaxError} from './xml-scan.js'
import {ZipError, type ZipArchive, type ZipEntry} from './zip.js'

export async function readXlsx(path: string, opts: ReadOptions): Promise<Sheet> {
  const sheet = await openXlsxWorksheet(path, opts)
  if (!sheet.readable) return emptySheet({format: 'xlsx', ...(sheet.name !== undefined && {sheet: sheet.name})})
  const parser = new WorksheetParser(sheet.strings, sheet.styles, sheet.date1904)
  let failed = false
  const rows = partRows(sheet.zip, sheet.entry, parser, 'xlsx', opts, () => (failed = true))
  return buildSheet('xlsx', {rows, sheetName: () => sheet.name, failed: () => failed}, opts)
}

/** What a worker thread needs to read a worksheet's rows: shared memory and a few flags, no copy of the strings. */
export interface WorksheetShare {
  strings: SharedStringsData
  /** per cell style: 1 when its number format shows a date */
  dateStyles: Uint8Array
  date1904: boolean
}

export function shareWorksheet(sheet: XlsxWorksheet): WorksheetShare {
  return {strings: sheet.strings.share(), dateStyles: sheet.styles.flags, date1904: sheet.date1904}
}

/** The chosen worksheet of an XLSX, with what its cells need: shared strings, date styles, date system. */
export interface XlsxWorksheet {
  readable: true
  zip: ZipArchive
  entry: ZipEntry
  name: string
  strings: SharedStrings
  styles: DateStyles
  date1904: boolean
}

/**
 * Opens the workbook and reads everything the chosen worksheet's cells refer to. When it cannot
 * (not a zip, no such sheet, a damaged part) it says why through opts.onIssue, and names the sheet
 * when it got as far as choosing one.
 */
export async function openXlsxWorksheet(path: string, opts: ReadOptions): Promise<XlsxWorksheet | {readable: false; name?: string}> {
  const unreadable = {readable: false as const}
  const zip = await openWorkbook(path, 'xlsx', opts)
  if (!zip) return unreadable
  let book: WorkbookParts | undefined
  try {
    book = await readWorkbookParts(zip, opts)
  } catch (err) {
    reportPartFailure(opts, 'xlsx', err)
  }
  if (!book) return unreadable

  let visible = 0
  const chosen = book.sheets.find((sheet) => sheetMatches(opts.sheet, sheet.name, sheet.hidden ? undefined : ++visible))
  if (!chosen) {
    reportSheetNotFound(opts, opts.sheet ?? '1', book.sheets.map((s) => s.name))
    return unreadable
  }
  const entry = zip.find(chosen.part)
  if (!entry) {
    reportUnreadable(opts, 'xlsx', 'missing-part', {part: chosen.part, sheet: chosen.name})
    return {readable: false, name: chosen.name}
  }
  try {
    const styles = book.styles ? await readStyles(zip, book.styles) : new DateStyles()
    const strings = book.sharedStrings ? await readSharedStrings(zip, book.sharedStrings) : new SharedStrings()
    return {readable: true, zip, entry, name: chosen.name, strings, styles, date1904: book.date1904}
  } catch (err) {
    reportPartFailure(opts, 'xlsx', err)
    return {readable: false, name: chosen.name}
  }
}

// ---------------------------------------------------------------------------------------------
// Workbook structure
// ---------------------------------------------------------------------------------------------

interface WorkbookParts {
  /** in tab order */
  sheets: {name: string; part: string; hidden: boolean}[]
  date1904: boolean
  styles?: ZipEntry
  sharedStrings?: ZipEntry
}

const SMALL_PART = {maxBytes: MAX_SMALL_PART_BYTES}

/** Sheet names, tab order, visibility and the parts behind them, from workbook.xml and its rels. */
async function readWorkbookParts(zip: ZipArchive, opts: ReadOptions): Promise<WorkbookParts | undefined> {
  const workbookPath = (await officeDocument(zip)) ?? 'xl/workbook.xml'
  const workbook = zip.find(workbookPath)
  const relsPath = posix.join(posix.dirname(workbookPath), '_rels', `${posix.basename(workbookPath)}.rels`)
  const rels = zip.find(relsPath)
  if (!workbook || !rels) {
    const detected = detectFormat(zip)
    reportUnreadable(opts, 'xlsx', 'missing-part', {
      part: workbook ? relsPath : workbookPath,
      ...(detected && detected !== 'xlsx' && {detected}),
    })
    return undefined
  }
  const base = posix.dirname(workbookPath)
  const targets = new Map<string, string>()
  const parts: WorkbookParts = {sheets: [], date1904: false}
  await eachElement(zip, rels, (name, attrs) => {
    if (name !== 'Relationship') return
    const id = attr(attrs, 'Id')
    const target = attr(attrs, 'Target')
    if (!id || !target || attr(attrs, 'TargetMode') === 'External') return
    const path = resolveTarget(base, target)
    targets.set(id, path)
    const type = attr(attrs, 'Type') ?? ''
    if (type.endsWith('/styles')) parts.styles = zip.find(path)
    else if (type.endsWith('/sharedStrings')) parts.sharedStrings = zip.find(path)
  })
  await eachElement(zip, workbook, (name, attrs) => {
    if (name === 'sheet') {
      const state = attr(attrs, 'state')
      parts.sheets.push({name: attr(attrs, 'name') ?? '', part: targets.get(relationId(attrs)) ?? '', hidden: state === 'hidden' || state === 'veryHidden'})
    } else if (name === 'workbookPr') {
      const date1904 = attr(attrs, 'date1904')
      parts.date1904 = date1904 === '1' || date1904 === 'true'
    }
  })
  return parts
}

/** The workbook part named by the package's root relationships (xl/workbook.xml for every producer we know). */
async function officeDocument(zip: ZipArchive): Promise<string | undefined> {
  const rels = zip.find('_rels/.rels')
  if (!rels) return undefined
  let found: string | undefined
  await eachElement(zip, rels, (name, attrs) => {
    if (name === 'Relationship' && (attr(attrs, 'Type') ?? '').endsWith('/officeDocument')) found ??= resolveTarget('', attr(attrs, 'Target') ?? '')
  })
  return found && zip.find(found) ? found : undefined
}

/** Calls visit for every start tag of a small part, by local name (some producers prefix everything: <x:sheet>). */
async function eachElement(zip: ZipArchive, entry: ZipEntry, visit: (name: string, attrs: string) => void): Promise<void> {
  const scanner = new XmlScanner({open: (name, attrs) => visit(localName(name), attrs), close: () => {}, text: () => {}})
  for await (const text of partText(zip, entry, SMALL_PART)) scanner.write(text)
  scanner.end()
}

/** r:id, whatever the prefix of the relationships namespace */
function relationId(attrs: string): string {
  const match = /(?:^|\s)[\w.-]+:id\s*=\s*["']([^"']*)["']/.exec(attrs)
  return match ? decodeXml(match[1]) : ''
}

/** Relationship targets are relative to the workbook's folder unless absolute within the package. */
function resolveTarget(base: string, target: string): string {
  return target.startsWith('/') ? target.slice(1) : posix.normalize(posix.join(base, target))
}

// ---------------------------------------------------------------------------------------------
// Styles: which cell formats show a date
// ---------------------------------------------------------------------------------------------

/** Built-in number formats that show a date or a time (ECMA-376 §18.8.30). */
const BUILTIN_DATE_FORMATS = new Set([14, 15, 16, 17, 18, 19, 20, 21, 22, 45, 46, 47])

class DateStyles {
  /** per cellXfs index (the `s` of a cell): 1 when its number format shows a date */
  constructor(readonly flags: Uint8Array = new Uint8Array(0)) {}

  isDate(style: number): boolean {
    return this.flags[style] === 1
  }
}

async function readStyles(zip: ZipArchive, entry: ZipEntry): Promise<DateStyles> {
  const customDate = new Map<number, boolean>()
  const formats: number[] = []
  let inCellXfs = false
  const scanner = new XmlScanner({
    open: (name, attrs) => {
      const local = localName(name)
      if (local === 'numFmt') customDate.set(Number(attr(attrs, 'numFmtId')), isDateFormat(attr(attrs, 'formatCode')))
      else if (local === 'cellXfs') inCellXfs = true
      else if (local === 'xf' && inCellXfs) formats.push(Number(attr(attrs, 'numFmtId') ?? 0))
    },
    close: (name) => {
      if (localName(name) === 'cellXfs') inCellXfs = false
    },
    text: () => {},
  })
  for await (const text of partText(zip, entry, SMALL_PART)) scanner.write(text)
  scanner.end()
  const flags = new Uint8Array(formats.length)
  formats.forEach((id, i) => (flags[i] = (customDate.get(id) ?? BUILTIN_DATE_FORMATS.has(id)) ? 1 : 0))
  return new DateStyles(flags)
}

/** A number format shows a date/time when, outside quotes, brackets and escapes, it uses d m y h s. */
export function isDateFormat(format: string | undefined): boolean {
  if (!format) return false
  const bare = format.replace(/\[[^\]]*]/g, '').replace(/"[^"]*"/g, '').replace(/\\./g, '')
  return /[dmyhs]/i.test(bare)
}

// ---------------------------------------------------------------------------------------------
// Shared strings: compact and bounded
// ---------------------------------------------------------------------------------------------

/**
 * Longest shared-strings table accepted (UTF-8 bytes of its texts): far more than the distinct
 * strings of a 1M-row export, still well inside the memory target. An absurd table is refused
 * with FILE_TOO_LARGE instead of taking the machine's memory.
 */
const MAX_SHARED_STRING_BYTES = 160 << 20
const MAX_SHARED_STRINGS = 16 << 20
/** the table's XML may be much bigger than its texts (rich-text runs and their fonts) */
const MAX_SHARED_STRINGS_PART_BYTES = 2 * 2 ** 30
const PAGE_BYTES = 4 << 20
/** length of a string longer than a page: its row is reported as too long, its text not kept */
const TOO_LONG = 0xffffffff

/**
 * The strings as UTF-8 in 4 MB pages with 8 bytes of index each, instead of millions of JS
 * strings (a 1M-row export has about as many distinct strings as rows). The pages are shared
 * memory: the worker threads that read a large worksheet use the same table, never a copy.
 */
class SharedStrings {
  private readonly pages: Buffer[] = []
  private used = PAGE_BYTES
  private starts: Uint32Array<ArrayBufferLike> = new Uint32Array(1024)
  private lengths: Uint32Array<ArrayBufferLike> = new Uint32Array(1024)
  private bytes = 0
  count = 0

  /** The table as shared memory, for worker threads (index and pages, never copied again). */
  share(): SharedStringsData {
    const index = new Uint32Array(new SharedArrayBuffer(Math.max(8, 8 * this.count)))
    index.set(this.starts.subarray(0, this.count))
    index.set(this.lengths.subarray(0, this.count), this.count)
    return {pages: this.pages.map((page) => page.buffer as SharedArrayBuffer), index, count: this.count}
  }

  static fromShared(data: SharedStringsData): SharedStrings {
    const table = new SharedStrings()
    table.pages.push(...data.pages.map((page) => Buffer.from(page)))
    table.starts = data.index.subarray(0, data.count)
    table.lengths = data.index.subarray(data.count, 2 * data.count)
    table.count = data.count
    return table
  }

  add(text: string): void {
    const length = Buffer.byteLength(text)
    if (length > PAGE_BYTES) return this.addTooLong()
    this.reserve(length)
    if (this.used + length > PAGE_BYTES) {
      this.pages.push(Buffer.from(new SharedArrayBuffer(PAGE_BYTES)))
      this.used = 0
    }
    const page = this.pages.length - 1
    this.pages[page].write(text, this.used)
    this.starts[this.count] = page * PAGE_BYTES + this.used
    this.lengths[this.count++] = length
    this.used += length
  }

  /** a string whose row will be reported as too long: only its place in the table is kept */
  addTooLong(): void {
    this.reserve(0)
    this.lengths[this.count++] = TOO_LONG
  }

  private reserve(length: number): void {
    if (this.count >= MAX_SHARED_STRINGS) throw new ZipError('FILE_TOO_LARGE', 'xl/sharedStrings.xml')
    this.bytes += length
    if (this.bytes > MAX_SHARED_STRING_BYTES) throw new ZipError('FILE_TOO_LARGE', 'xl/sharedStrings.xml')
    if (this.count === this.starts.length) {
      this.starts = grow(this.starts)
      this.lengths = grow(this.lengths)
    }
  }

  /** undefined for an index out of the table; null for a string too long to keep */
  get(index: number): string | undefined | null {
    if (!(index >= 0 && index < this.count)) return undefined
    const length = this.lengths[index]
    if (length === TOO_LONG) return null
    const start = this.starts[index]
    const offset = start % PAGE_BYTES
    return this.pages[(start - offset) / PAGE_BYTES].toString('utf8', offset, offset + length)
  }
}

/** What SharedStrings.share hands to a worker thread: the pages, then starts and lengths in one index. */
export interface SharedStringsData {
  pages: SharedArrayBuffer[]
  /** count starts, then count lengths */
  index: Uint32Array
  count: number
}

function grow(array: Uint32Array<ArrayBufferLike>): Uint32Array<ArrayBufferLike> {
  const bigger = new Uint32Array(array.length * 2)
  bigger.set(array)
  return bigger
}

async function readSharedStrings(zip: ZipArchive, entry: ZipEntry): Promise<SharedStrings> {
  const table = new SharedStrings()
  // <si> holds one <t>, or rich-text runs <r><t>…</t></r>; phonetic runs (<rPh>) are not the text
  let text: string[] | undefined
  let inText = false
  let phonetic = 0
  let chars = 0
  const scanner = new XmlScanner({
    open: (name) => {
      switch (localName(name)) {
        case 'si':
          text = []
          chars = 0
          break
        case 't':
          inText = text !== undefined && phonetic === 0
          break
        case 'rPh':
          phonetic++
          break
      }
    },
    close: (name) => {
      switch (localName(name)) {
        case 'si':
          if (chars > PAGE_BYTES) table.addTooLong()
          else table.add(unescapeXlsx(text!.join('')))
          text = undefined
          break
        case 't':
          inText = false
          break
        case 'rPh':
          phonetic--
          break
      }
    },
    text: (raw, literal) => {
      if (!inText || chars > PAGE_BYTES) return
      chars += raw.length
      text!.push(literal ? raw : decodeXml(raw))
    },
  })
  for await (const chunk of partText(zip, entry, {maxBytes: MAX_SHARED_STRINGS_PART_BYTES})) scanner.write(chunk)
  scanner.end()
  return table
}

// ---------------------------------------------------------------------------------------------
// The worksheet, streamed
// ---------------------------------------------------------------------------------------------

/**
 * A scanner for the worksheet's tiny grammar (sheetData > row > c > v | is > t), written for
 * speed: it works on complete rows only (the text after the last complete row waits for the next
 * chunk), finds tags with indexOf and reads the three attributes that matter (r, s, t) without
 * building anything. Cells are placed by their `r` reference (sparse rows, merged areas whose
 * other cells are absent), rows by theirs; either may be missing, and then follows the previous
 * one. Elements may carry a namespace prefix (<x:row>): it is taken from <sheetData>.
 */
export class WorksheetParser implements RowParser {
  finished = false
  lastRow = 0

  private head = ''
  private pending?: PendingRows
  private tags?: ReturnType<typeof tagsFor>
  private out: RawRow[] = []
  private row?: {row: number; cells: string[]; chars: number; tooLong: boolean}
  private column = 0
  /** date texts by serial: the same few hundred days recur on every row */
  private readonly dates = new Map<number, string>()

  constructor(
    private readonly strings: SharedStrings,
    private readonly styles: DateStyles,
    private readonly date1904: boolean,
  ) {}

  /** A parser for a worker thread, over the tables the main thread read (see shareWorksheet). */
  static shared(share: WorksheetShare): WorksheetParser {
    return new WorksheetParser(SharedStrings.fromShared(share.strings), new DateStyles(share.dateStyles), share.date1904)
  }

  /** The namespace prefix of the sheet's elements ('' or 'x:'), once <sheetData> has been seen. */
  get prefix(): string | undefined {
    return this.tags && this.tags.row.slice(1, -3)
  }

  /**
   * Reads on from a row boundary inside <sheetData> (a chunk cut by worksheetByteChunks): the
   * next row without an `r` is lastRow + 1.
   */
  resume(prefix: string, lastRow: number): void {
    this.tags = tagsFor(prefix)
    this.pending = new PendingRows([this.tags.rowEnd, this.tags.sheetDataEnd, '/>'])
    this.finished = false
    this.lastRow = lastRow
    this.row = undefined
    this.out = []
  }

  write(text: string): void {
    if (this.finished) return
    if (!this.tags) {
      const head = this.head + text
      const start = /<([A-Za-z_][\w.-]*:)?sheetData(?=[\s/>])/.exec(head)
      const gt = start ? head.indexOf('>', start.index) : -1
      if (!start || gt < 0) {
        // before the rows: sheet properties, views, column widths; keep only what may hold a cut tag
        this.head = head.slice(start ? start.index : -256)
        return
      }
      if (head.charCodeAt(gt - 1) === 47) {
        this.finished = true // <sheetData/>: no rows at all
        return
      }
      this.tags = tagsFor(start[1] ?? '')
      this.pending = new PendingRows([this.tags.rowEnd, this.tags.sheetDataEnd, '/>'])
      text = head.slice(gt + 1)
    }
    const s = this.pending!.add(text)
    if (s === undefined) return
    const tags = this.tags
    const dataEnd = s.indexOf(tags.sheetDataEnd)
    const limit = dataEnd >= 0 ? dataEnd : completeRowsEnd(s, tags)
    if (limit > 0) this.rows(s, limit)
    if (dataEnd >= 0) this.finished = true
    else this.pending!.keep(s.slice(limit))
  }

  /**
   * Text that holds whole rows only (a worker's piece of a chunk cut after </row>; the last one
   * may end with </sheetData>): scanned as it is, nothing kept for the next piece.
   */
  writeRows(s: string): void {
    // the main thread cut the chunk at the latest after </sheetData>, which rows() passes over
    this.rows(s, s.length)
  }

  end(): void {
    // a document that ends without </sheetData> was cut short
    if (!this.finished) throw new ZipError('corrupt', 'worksheet')
  }

  take(): RawRow[] {
    const rows = this.out
    this.out = []
    return rows
  }

  /** Every row in s[0..to), which holds whole rows only. */
  private rows(s: string, to: number): void {
    const tags = this.tags!
    let pos = 0
    for (;;) {
      const lt = s.indexOf('<', pos)
      if (lt < 0 || lt >= to) return
      if (s.startsWith(tags.c, lt) && isDelimiter(s.charCodeAt(lt + tags.c.length))) {
        pos = this.cell(s, lt, to)
      } else if (s.startsWith(tags.row, lt) && isDelimiter(s.charCodeAt(lt + tags.row.length))) {
        const gt = s.indexOf('>', lt)
        this.openRow(s, lt + tags.row.length, gt)
        if (s.charCodeAt(gt - 1) === 47) this.closeRow()
        pos = gt + 1
      } else if (s.startsWith(tags.rowEnd, lt)) {
        this.closeRow()
        pos = lt + tags.rowEnd.length
      } else {
        // anything else inside the rows (extensions, comments): skipped
        const gt = s.indexOf('>', lt)
        if (gt < 0) return
        pos = gt + 1
      }
    }
  }

  private openRow(s: string, from: number, gt: number): void {
    const r = attributeRange(s, from, gt, 114) // r
    const number = r ? integerAt(s, r[0], r[1]) : this.lastRow + 1
    this.row = {row: number > 0 ? number : this.lastRow + 1, cells: [], chars: 0, tooLong: false}
    this.column = 0
  }

  private closeRow(): void {
    const row = this.row
    if (!row) return
    this.row = undefined
    this.lastRow = row.row
    if (row.tooLong) this.out.push({row: row.row, cells: [], tooLong: true})
    else if (row.cells.length > 0) {
      for (let i = 0; i < row.cells.length; i++) row.cells[i] ??= '' // gaps between non-empty cells
      this.out.push({row: row.row, cells: row.cells})
    }
  }

  /** The cell whose tag starts at lt; returns where scanning goes on. */
  private cell(s: string, lt: number, to: number): number {
    const tags = this.tags!
    // the usual tag, ` r="B2" s="1" t="s"` (one-letter names, double quotes), read in one pass;
    // anything else (other attributes, other spacing or quotes) the general way
    let column = 0
    let style = 0
    let type = ''
    let gt = -1
    for (let i = lt + tags.c.length; ; ) {
      const c = s.charCodeAt(i)
      if (c === 62 || (c === 47 && s.charCodeAt(i + 1) === 62)) {
        gt = c === 62 ? i : i + 1
        break
      }
      if (c !== 32 || s.charCodeAt(i + 2) !== 61 || s.charCodeAt(i + 3) !== 34) break
      const close = s.indexOf('"', i + 4)
      if (close < 0 || close >= to) break
      const letter = s.charCodeAt(i + 1)
      if (letter === 114) column = columnAt(s, i + 4, close)
      else if (letter === 115) style = integerAt(s, i + 4, close)
      else if (letter === 116) type = cellType(s, i + 4, close)
      i = close + 1
    }
    if (gt < 0) ({gt, column, style, type} = cellTag(s, lt + tags.c.length))
    this.column = column > 0 ? column : this.column + 1
    const row = this.row
    if (s.charCodeAt(gt - 1) === 47) return gt + 1 // <c r="B2" s="1"/>: formatted, empty
    // the usual content, <v>…</v> or <is><t>…</t></is>, then </c>: its text found without looking further
    let usual: 'v' | 'is' | undefined
    let from = gt + 1
    let close = -1
    let end = -1
    if (s.startsWith(tags.vOpen, from)) {
      from += tags.vOpen.length
      close = s.indexOf('<', from)
      if (close >= 0 && s.startsWith(tags.vcEnd, close)) {
        usual = 'v'
        end = close + tags.vcEnd.length - tags.cEnd.length
      }
    } else if (type === 'inlineStr' && s.startsWith(tags.isT, from)) {
      from += tags.isT.length
      close = s.indexOf('<', from)
      if (close >= 0 && s.startsWith(tags.tIsCEnd, close)) {
        usual = 'is'
        end = close + tags.tIsCEnd.length - tags.cEnd.length
      }
    }
    if (end < 0) {
      end = s.indexOf(tags.cEnd, gt)
      if (end < 0 || end >= to) throw new XmlSyntaxError('cell not closed')
    }
    if (!row || row.tooLong) return end + tags.cEnd.length
    if (this.column > MAX_COLUMNS) {
      row.tooLong = true
      return end + tags.cEnd.length
    }
    let text: string | null
    if (type === 'inlineStr') text = usual === 'v' ? '' : unescapeXlsx(usual === 'is' ? textAt(s, from, close) : inlineText(s, gt + 1, end, tags))
    else text = this.valueText(type, style, usual === 'v' ? textAt(s, from, close) : valueOf(s, gt + 1, end, tags))
    if (text === null) row.tooLong = true
    else if (text !== '') {
      row.chars += text.length
      if (row.chars > MAX_ROW_CHARS) row.tooLong = true
      else row.cells[this.column - 1] = text
    }
    return end + tags.cEnd.length
  }

  /** A <v> value as text: null when it is a shared string too long to keep. */
  private valueText(type: string, style: number, raw: string): string | null {
    if (raw === '') return ''
    switch (type) {
      case 's': {
        // null (a string longer than a page) makes the row too long: never an empty cell instead
        const text = this.strings.get(Number(raw))
        return text === null ? null : (text ?? '')
      }
      case 'str':
        return unescapeXlsx(raw)
      case 'b':
        return raw.trim() === '1' || raw.trim() === 'true' ? 'TRUE' : 'FALSE'
      case 'e':
        return '' // #N/A & co.: a formula error, not data
      case 'd':
        return isoDateText(raw.trim())
      default: {
        const n = Number(raw)
        if (Number.isNaN(n)) return raw.trim()
        if (!this.styles.isDate(style)) return plainNumberText(raw)
        let date = this.dates.get(n)
        if (date === undefined) {
          date = serialDateText(n, this.date1904)
          if (this.dates.size < 100_000) this.dates.set(n, date)
        }
        return date
      }
    }
  }
}

/** A cell tag in any well-formed shape, from just after its name: its '>' and the attributes that matter (r, s, t). */
function cellTag(s: string, from: number): {gt: number; column: number; style: number; type: string} {
  const gt = s.indexOf('>', from)
  let column = 0
  let style = 0
  let type = ''
  // attributes: only r, s and t matter (single letters); others (cm, vm, ph) are skipped
  for (let i = from; i < gt; ) {
    const eq = s.indexOf('=', i)
    if (eq < 0 || eq > gt) break
    let q = eq + 1
    while (q < gt && s.charCodeAt(q) !== 34 && s.charCodeAt(q) !== 39) q++
    const close = s.indexOf(s[q], q + 1)
    if (q >= gt || close < 0) break
    let name = eq - 1
    while (name > i && s.charCodeAt(name) === 32) name-- // "r = ..."
    if (name === i || isDelimiter(s.charCodeAt(name - 1))) {
      const letter = s.charCodeAt(name)
      if (letter === 114) column = columnAt(s, q + 1, close)
      else if (letter === 115) style = integerAt(s, q + 1, close)
      else if (letter === 116) type = cellType(s, q + 1, close)
    }
    i = close + 1
  }
  return {gt, column, style, type}
}

const CELL_TYPES = ['s', 'n', 'b', 'e', 'd', 'str', 'inlineStr']

/** A cell's t, without a new string for the usual ones. */
function cellType(s: string, from: number, to: number): string {
  return knownText(CELL_TYPES, s, from, to, sourceText)
}

export function tagsFor(prefix: string) {
  return {
    row: `<${prefix}row`,
    rowEnd: `</${prefix}row>`,
    c: `<${prefix}c`,
    cEnd: `</${prefix}c>`,
    v: `<${prefix}v`,
    t: `<${prefix}t`,
    rPh: `<${prefix}rPh`,
    isT: `<${prefix}is><${prefix}t>`,
    tIsCEnd: `</${prefix}t></${prefix}is></${prefix}c>`,
    vOpen: `<${prefix}v>`,
    vcEnd: `</${prefix}v></${prefix}c>`,
    sheetDataEnd: `</${prefix}sheetData>`,
  }
}

/** Where the last complete row in s ends (after </row>, or after a self-closed <row …/>); 0 if none. */
function completeRowsEnd(s: string, tags: ReturnType<typeof tagsFor>): number {
  const closed = s.lastIndexOf(tags.rowEnd)
  let end = closed < 0 ? 0 : closed + tags.rowEnd.length
  // empty formatted rows are often self-closed, thousands in a row: count them complete too
  const open = s.lastIndexOf(tags.row)
  if (open >= end) {
    const gt = s.indexOf('>', open)
    if (gt > 0 && s.charCodeAt(gt - 1) === 47) end = gt + 1
  }
  return end
}

export function isDelimiter(c: number): boolean {
  return c === 32 || c === 62 || c === 47 || c === 9 || c === 10 || c === 13
}

/** [start, end) of the value of a one-letter attribute in s[from..gt), or undefined */
export function attributeRange(s: string, from: number, gt: number, letter: number): [number, number] | undefined {
  for (let i = from; i < gt; ) {
    const eq = s.indexOf('=', i)
    if (eq < 0 || eq > gt) return undefined
    let q = eq + 1
    while (q < gt && s.charCodeAt(q) !== 34 && s.charCodeAt(q) !== 39) q++
    const close = s.indexOf(s[q], q + 1)
    if (q >= gt || close < 0) return undefined
    let name = eq - 1
    while (name > i && s.charCodeAt(name) === 32) name--
    if (s.charCodeAt(name) === letter && (name === i || isDelimiter(s.charCodeAt(name - 1)))) return [q + 1, close]
    i = close + 1
  }
  return undefined
}

export function integerAt(s: string, from: number, to: number): number {
  let n = 0
  for (let i = from; i < to; i++) {
    const d = s.charCodeAt(i) - 48
    if (d < 0 || d > 9) return n
    n = n * 10 + d
  }
  return n
}

/** The column of a reference such as "AB12" (28); 0 without letters; past MAX_COLUMNS when absurd. */
function columnAt(s: string, from: number, to: number): number {
  let column = 0
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i) | 0x20 // lower case
    if (c < 97 || c > 122) break
    column = column * 26 + (c - 96)
    if (column > MAX_COLUMNS) return MAX_COLUMNS + 1
  }
  return column
}

/** The text of the cell's <v>, decoded; '' when it has none. */
function valueOf(s: string, from: number, to: number, tags: ReturnType<typeof tagsFor>): string {
  let v = s.indexOf(tags.v, from)
  while (v >= 0 && v < to && !isDelimiter(s.charCodeAt(v + tags.v.length))) v = s.indexOf(tags.v, v + 1)
  if (v < 0 || v >= to) return ''
  const gt = s.indexOf('>', v)
  if (s.charCodeAt(gt - 1) === 47) return ''
  const end = s.indexOf('<', gt + 1)
  return textAt(s, gt + 1, end)
}

/** The text of an inline string: every <t> run, phonetic runs (<rPh>) left out. */
function inlineText(s: string, from: number, to: number, tags: ReturnType<typeof tagsFor>): string {
  let region = sourceText(s, from, to)
  if (region.includes(tags.rPh)) region = region.replace(new RegExp(`${tags.rPh}[\\s\\S]*?</${tags.rPh.slice(1)}>`, 'g'), '')
  let text = ''
  for (let t = region.indexOf(tags.t); t >= 0; t = region.indexOf(tags.t, t + 1)) {
    if (!isDelimiter(region.charCodeAt(t + tags.t.length))) continue
    const gt = region.indexOf('>', t)
    // a damaged cell must end the reading with an error, never send the scan back to the start
    if (gt < 0) throw new XmlSyntaxError('inline string not closed')
    if (region.charCodeAt(gt - 1) === 47) continue // <t/>
    let end = region.indexOf('<', gt + 1)
    if (end < 0) throw new XmlSyntaxError('inline string not closed')
    if (region.startsWith('<![CDATA[', end)) {
      const close = region.indexOf(']]>', end)
      if (close < 0) throw new XmlSyntaxError('CDATA not closed')
      text += decodeXml(region.slice(gt + 1, end)) + region.slice(end + 9, close)
      end = region.indexOf('<', close + 3)
      if (end < 0) throw new XmlSyntaxError('inline string not closed')
      text += decodeXml(region.slice(close + 3, end))
    } else text += decodeXml(region.slice(gt + 1, end))
    t = end
  }
  return text
}

const DAY_MS = 86_400_000

/**
 * A date-formatted serial number as the sheet shows it: YYYY-MM-DD, or HH:MM:SS for a time of day
 * (0 ≤ serial < 1). In the 1900 system Excel counts the non-existent 29 February 1900 (serial 60):
 * serials before it are one day later than a plain day count says, and 60 itself stays the
 * impossible date it is (so that validation reports it as the CSV twin's would be).
 */
export function serialDateText(serial: number, date1904: boolean): string {
  if (!Number.isFinite(serial)) return ''
  let days = serial + (date1904 ? 1462 : 0)
  if (!date1904 && serial >= 1 && serial < 61) {
    if (Math.floor(serial) === 60) return '1900-02-29'
    days += 1
  }
  const date = new Date(Math.round((days - 25569) * DAY_MS))
  if (Number.isNaN(date.getTime())) return ''
  const iso = date.toISOString()
  return serial >= 0 && serial < 1 ? iso.slice(11, 19) : iso.slice(0, 10)
}

/** t="d" cells hold ISO 8601 text: its date, or its time when it has only a time. */
function isoDateText(text: string): string {
  if (/^\d{4}-\d{2}-\d{2}/.test(text)) return text.slice(0, 10)
  const time = /^T?(\d{2}:\d{2}:\d{2})/.exec(text)
  return time ? time[1] : text
}

/** Excel writes control characters as _xHHHH_ (and a literal "_x" as _x005F_x). */
function unescapeXlsx(text: string): string {
  if (!text.includes('_x')) return text
  return text.replace(/_x([0-9A-Fa-f]{4})_/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)))
}
