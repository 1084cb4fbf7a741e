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
  MAX_SHEET_BYTES,
  MAX_SMALL_PART_BYTES,
  openWorkbook,
  partText,
  plainNumber,
  reportPartFailure,
  reportSheetNotFound,
  reportUnreadable,
  sheetMatches,
  type RawRow,
} from './workbook.js'
import {attr, decodeXml, localName, XmlScanner, type XmlHandler} from './xml-scan.js'
import {ZipError, type ZipArchive, type ZipEntry} from './zip.js'

export async function readXlsx(path: string, opts: ReadOptions): Promise<Sheet> {
  const zip = await openWorkbook(path, 'xlsx', opts)
  if (!zip) return emptySheet({format: 'xlsx'})
  let book: WorkbookParts | undefined
  try {
    book = await readWorkbookParts(zip, opts)
  } catch (err) {
    reportPartFailure(opts, 'xlsx', err)
  }
  if (!book) return emptySheet({format: 'xlsx'})

  let visible = 0
  const chosen = book.sheets.find((sheet) => sheetMatches(opts.sheet, sheet.name, sheet.hidden ? undefined : ++visible))
  if (!chosen) {
    reportSheetNotFound(opts, opts.sheet ?? '1', book.sheets.map((s) => s.name))
    return emptySheet({format: 'xlsx'})
  }
  const entry = zip.find(chosen.part)
  if (!entry) {
    reportUnreadable(opts, 'xlsx', 'missing-part', {part: chosen.part, sheet: chosen.name})
    return emptySheet({format: 'xlsx', sheet: chosen.name})
  }
  let styles: DateStyles
  let strings: SharedStrings
  try {
    styles = book.styles ? await readStyles(zip, book.styles) : new DateStyles()
    strings = book.sharedStrings ? await readSharedStrings(zip, book.sharedStrings) : new SharedStrings()
  } catch (err) {
    reportPartFailure(opts, 'xlsx', err)
    return emptySheet({format: 'xlsx', sheet: chosen.name})
  }
  const parser = new WorksheetParser(strings, styles, book.date1904)
  let failed = false
  const rows = worksheetChunks(zip, entry, parser, opts, () => (failed = true))
  return buildSheet('xlsx', {rows, sheetName: () => chosen.name, failed: () => failed}, opts)
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
  constructor(private readonly flags: Uint8Array = new Uint8Array(0)) {}

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
 * strings (a 1M-row export has about as many distinct strings as rows).
 */
class SharedStrings {
  private readonly pages: Buffer[] = []
  private used = PAGE_BYTES
  private starts: Uint32Array<ArrayBuffer> = new Uint32Array(1024)
  private lengths: Uint32Array<ArrayBuffer> = new Uint32Array(1024)
  private bytes = 0
  count = 0

  add(text: string): void {
    const length = Buffer.byteLength(text)
    if (length > PAGE_BYTES) return this.addTooLong()
    this.reserve(length)
    if (this.used + length > PAGE_BYTES) {
      this.pages.push(Buffer.allocUnsafe(PAGE_BYTES))
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

function grow(array: Uint32Array<ArrayBuffer>): Uint32Array<ArrayBuffer> {
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

/** Never throws: a failure is reported (FILE_UNREADABLE, ZIP_BOMB, FILE_TOO_LARGE) and ends the rows. */
async function* worksheetChunks(zip: ZipArchive, entry: ZipEntry, parser: WorksheetParser, opts: ReadOptions, markFailed: () => void): AsyncGenerator<RawRow[]> {
  const text = partText(zip, entry, {maxBytes: MAX_SHEET_BYTES})
  try {
    for await (const chunk of text) {
      parser.write(chunk)
      const rows = parser.take()
      if (rows.length > 0) yield rows
      if (parser.finished) break // </sheetData>: merged cells, print settings… are not needed
    }
    if (!parser.finished) parser.end()
  } catch (err) {
    markFailed()
    reportPartFailure(opts, 'xlsx', err, {afterRow: parser.lastRow})
    return
  } finally {
    await text.return(undefined)
  }
  const rows = parser.take()
  if (rows.length > 0) yield rows
}

const enum Collect {
  None,
  Value,
  InlineText,
}

/**
 * A push parser for a worksheet's XML: fed text, it collects finished rows. Cells are placed by
 * their `r` reference (sparse rows, merged areas whose other cells are absent), rows by theirs;
 * either may be missing, and then follows the previous one.
 */
class WorksheetParser implements XmlHandler {
  finished = false
  lastRow = 0

  private readonly scanner = new XmlScanner(this)
  private out: RawRow[] = []
  private inSheetData = false
  private row?: {row: number; cells: string[]; chars: number; tooLong: boolean}
  private column = 0
  private type = ''
  private style = 0
  private collect = Collect.None
  private inInline = false
  private phonetic = 0
  private value: string[] = []

  constructor(
    private readonly strings: SharedStrings,
    private readonly styles: DateStyles,
    private readonly date1904: boolean,
  ) {}

  write(text: string): void {
    this.scanner.write(text)
  }

  end(): void {
    this.scanner.end()
    // a document that ends without </sheetData> was cut short
    if (!this.finished) throw new ZipError('corrupt', 'worksheet')
  }

  take(): RawRow[] {
    const rows = this.out
    this.out = []
    return rows
  }

  open(name: string, attrs: string): void {
    const local = name.includes(':') ? localName(name) : name
    switch (local) {
      case 'c':
        if (this.row) this.openCell(attrs)
        return
      case 'v':
        if (this.row) this.startValue(Collect.Value)
        return
      case 't':
        if (this.row && this.inInline && this.phonetic === 0) this.startValue(Collect.InlineText)
        return
      case 'is':
        this.inInline = true
        return
      case 'rPh':
        this.phonetic++
        return
      case 'row':
        if (this.inSheetData) this.openRow(attrs)
        return
      case 'sheetData':
        this.inSheetData = true
        return
    }
  }

  close(name: string): void {
    const local = name.includes(':') ? localName(name) : name
    switch (local) {
      case 'v':
      case 't':
        this.collect = Collect.None
        return
      case 'c':
        if (this.row) this.closeCell()
        return
      case 'is':
        this.inInline = false
        return
      case 'rPh':
        this.phonetic--
        return
      case 'row':
        this.closeRow()
        return
      case 'sheetData':
        this.inSheetData = false
        this.finished = true
        return
    }
  }

  text(raw: string, literal: boolean): void {
    if (this.collect === Collect.None || this.row!.tooLong) return
    this.row!.chars += raw.length
    if (this.row!.chars > MAX_ROW_CHARS * 8) {
      // the raw XML of the row is already far beyond what a row may hold: stop collecting
      this.row!.tooLong = true
      return
    }
    this.value.push(literal ? raw : decodeXml(raw))
  }

  private openRow(attrs: string): void {
    const r = attr(attrs, 'r')
    const number = r === undefined ? this.lastRow + 1 : Number.parseInt(r, 10)
    this.row = {row: Number.isFinite(number) && number > 0 ? number : this.lastRow + 1, cells: [], chars: 0, tooLong: false}
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

  private openCell(attrs: string): void {
    const ref = attr(attrs, 'r')
    this.column = ref === undefined ? this.column + 1 : columnOf(ref)
    this.type = attr(attrs, 't') ?? 'n'
    const s = attr(attrs, 's')
    this.style = s === undefined ? 0 : Number(s)
    this.value.length = 0
    this.collect = Collect.None
    this.inInline = false
  }

  private startValue(kind: Collect): void {
    // a value (or inline text) begins; rich inline text has several <t> runs, all kept
    if (kind === Collect.Value) this.value.length = 0
    this.collect = kind
  }

  private closeCell(): void {
    const row = this.row!
    if (row.tooLong) return
    if (this.column < 1 || this.column > MAX_COLUMNS) {
      row.tooLong = true
      return
    }
    const text = this.cellText()
    if (text === null || row.chars > MAX_ROW_CHARS * 8) {
      row.tooLong = true
      return
    }
    if (text !== '') row.cells[this.column - 1] = text
  }

  /** The cell as text: null when it is a shared string too long to keep. */
  private cellText(): string | null {
    const raw = this.value.length === 1 ? this.value[0] : this.value.join('')
    this.value.length = 0
    switch (this.type) {
      case 's':
        return raw === '' ? '' : (this.strings.get(Number(raw)) ?? '')
      case 'inlineStr':
      case 'str':
        return unescapeXlsx(raw)
      case 'b':
        return raw === '' ? '' : raw.trim() === '1' || raw.trim() === 'true' ? 'TRUE' : 'FALSE'
      case 'e':
        return '' // #N/A & co.: a formula error, not data
      case 'd':
        return isoDateText(raw.trim())
      default: {
        if (raw === '') return ''
        const n = Number(raw)
        if (Number.isNaN(n)) return raw.trim()
        return this.styles.isDate(this.style) ? serialDateText(n, this.date1904) : plainNumber(n)
      }
    }
  }
}

/** "AB12" → 28; 0 when the reference has no column letters */
function columnOf(ref: string): number {
  let column = 0
  for (let i = 0; i < ref.length; i++) {
    const c = ref.charCodeAt(i) | 0x20 // lower case
    if (c < 97 || c > 122) break
    column = column * 26 + (c - 96)
    if (column > MAX_COLUMNS) return MAX_COLUMNS + 1
  }
  return column
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
