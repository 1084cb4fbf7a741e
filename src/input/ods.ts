/**
 * OpenDocument spreadsheet reader, streamed: content.xml is inflated chunk by chunk (zip.ts) and
 * tokenized as it arrives (xml-scan.ts), so only the rows of the current chunk (plus the sheet's
 * header) are ever in memory. Dates and numbers come from the typed office:* attributes, not from
 * the text LibreOffice displays.
 */
import {MAX_ROW_CHARS, type ReadOptions, type Sheet} from './types.js'
import {
  buildSheet,
  detectFormat,
  emptySheet,
  MAX_COLUMNS,
  MAX_ROWS,
  MAX_SHEET_BYTES,
  openWorkbook,
  partText,
  plainNumber,
  reportPartFailure,
  reportSheetNotFound,
  reportUnreadable,
  sheetMatches,
  type RawRow,
} from './workbook.js'
import {attr, decodeXml, XmlScanner, type XmlHandler} from './xml-scan.js'
import type {ZipArchive, ZipEntry} from './zip.js'

export async function readOds(path: string, opts: ReadOptions): Promise<Sheet> {
  const zip = await openWorkbook(path, 'ods', opts)
  if (!zip) return emptySheet({format: 'ods'})
  const content = zip.find('content.xml')
  if (!content) {
    const detected = detectFormat(zip)
    reportUnreadable(opts, 'ods', 'missing-part', {part: 'content.xml', ...(detected && {detected})})
    return emptySheet({format: 'ods'})
  }
  const parser = new OdsContentParser(opts.sheet)
  let failed = false
  return buildSheet('ods', {
    rows: odsChunks(zip, content, parser, opts, () => (failed = true)),
    // known as soon as the table opens, i.e. before its header row
    sheetName: () => parser.sheetName,
    failed: () => failed,
  }, opts)
}

/** Inflates content.xml and feeds it to the parser; yields the rows each chunk completes. */
async function* odsChunks(zip: ZipArchive, content: ZipEntry, parser: OdsContentParser, opts: ReadOptions, markFailed: () => void): AsyncGenerator<RawRow[]> {
  const text = partText(zip, content, {maxBytes: MAX_SHEET_BYTES})
  try {
    for await (const chunk of text) {
      parser.write(chunk)
      const rows = parser.take()
      if (rows.length > 0) yield rows
      if (parser.finished) break // the selected table is closed: the rest of the file is not needed
    }
    if (!parser.finished) parser.end()
  } catch (err) {
    markFailed()
    reportPartFailure(opts, 'ods', err, {afterRow: parser.lastRow})
    return
  } finally {
    await text.return(undefined)
  }
  const rows = parser.take()
  if (rows.length > 0) yield rows
  if (parser.sheetName === undefined) {
    markFailed()
    reportSheetNotFound(opts, opts.sheet ?? '1', parser.sheetNames)
  }
}

interface CellState {
  attrs: string
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
 * Tag names carry the standard ODF prefixes (office:, table:, text:, style:), which every producer uses.
 */
class OdsContentParser implements XmlHandler {
  readonly sheetNames: string[] = []
  sheetName?: string
  finished = false
  lastRow = 0

  private readonly scanner = new XmlScanner(this)
  /** automatic table styles that hide their table (table:display="false") */
  private readonly hiddenStyles = new Set<string>()
  private styleName?: string
  private visibleTables = 0
  private out: RawRow[] = []
  private tableDepth = 0
  private inSelected = false
  private nextRow = 1
  private row?: RowState
  private cell?: CellState

  constructor(private readonly selector: string | undefined) {}

  write(text: string): void {
    this.scanner.write(text)
  }

  /** end of input: a document cut short is an error */
  end(): void {
    this.scanner.end()
  }

  take(): RawRow[] {
    const rows = this.out
    this.out = []
    return rows
  }

  open(name: string, attrs: string): void {
    if (name === 'table:table') {
      this.openTable(attrs)
      return
    }
    if (this.tableDepth === 0) {
      if (name === 'style:style') this.styleName = attr(attrs, 'style:family') === 'table' ? attr(attrs, 'style:name') : undefined
      else if (name === 'style:table-properties' && this.styleName !== undefined && attr(attrs, 'table:display') === 'false') this.hiddenStyles.add(this.styleName)
      return
    }
    // tables nested inside a cell (rare) are part of that cell, not rows of the sheet
    if (!this.inSelected || this.tableDepth !== 1) return
    switch (name) {
      case 'table:table-row':
        this.row = {repeat: repeatCount(attr(attrs, 'table:number-rows-repeated')), cells: [], pendingEmpty: 0, chars: 0, tooLong: false}
        break
      case 'table:table-cell':
      case 'table:covered-table-cell': // the hidden part of a merged area: an empty cell
        if (this.row) this.cell = {attrs, paragraphs: [], ignoreDepth: 0, chars: 0}
        break
      case 'office:annotation':
        if (this.cell) this.cell.ignoreDepth++
        break
      case 'text:p':
      case 'text:h':
        if (this.cell && this.cell.ignoreDepth === 0) this.cell.paragraph = ''
        break
      case 'text:s':
        this.append(' '.repeat(Math.min(repeatCount(attr(attrs, 'text:c')), MAX_ROW_CHARS + 1)))
        break
      case 'text:tab':
        this.append('\t')
        break
      case 'text:line-break':
        this.append('\n')
        break
    }
  }

  private openTable(attrs: string): void {
    this.tableDepth++
    if (this.tableDepth !== 1) return
    const name = attr(attrs, 'table:name') ?? ''
    this.sheetNames.push(name)
    const style = attr(attrs, 'table:style-name')
    const visible = style === undefined || !this.hiddenStyles.has(style)
    if (visible) this.visibleTables++
    if (this.sheetName === undefined && sheetMatches(this.selector, name, visible ? this.visibleTables : undefined)) {
      this.sheetName = name
      this.inSelected = true
    }
  }

  close(name: string): void {
    if (name === 'table:table') {
      this.tableDepth--
      if (this.tableDepth === 0 && this.inSelected) {
        this.inSelected = false
        this.finished = true
      }
      return
    }
    if (!this.inSelected || this.tableDepth !== 1) return
    switch (name) {
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

  text(raw: string, literal: boolean): void {
    if (this.cell?.paragraph === undefined) return
    const text = literal ? raw : decodeXml(raw)
    // ODF collapses white space inside paragraphs; real runs of spaces are written as text:s
    this.append(/[\t\r\n]| {2}/.test(text) ? text.replace(/[ \t\r\n]+/g, ' ') : text)
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
    const repeat = repeatCount(attr(cell.attrs, 'table:number-columns-repeated'))
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
function cellValue(attrs: string, paragraphs: string[]): string {
  const text = paragraphs.join('\n')
  if (attrs === '') return text
  if (attr(attrs, 'calcext:value-type') === 'error') return '' // a formula error: its text is "#DIV/0!" & co.
  switch (attr(attrs, 'office:value-type')) {
    case 'float':
    case 'percentage':
    case 'currency': {
      const value = attr(attrs, 'office:value')
      return value === undefined ? text : plainNumber(Number(value))
    }
    case 'date':
      return (attr(attrs, 'office:date-value') ?? '').slice(0, 10)
    case 'time':
      return isoTime(attr(attrs, 'office:time-value')) ?? text
    case 'boolean':
      return attr(attrs, 'office:boolean-value') === 'true' ? 'TRUE' : 'FALSE'
    case 'string':
      return attr(attrs, 'office:string-value') ?? text
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
