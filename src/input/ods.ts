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
  partRows,
  PendingRows,
  plainNumberText,
  reportSheetNotFound,
  reportUnreadable,
  sheetMatches,
  type RawRow,
  type RowParser,
} from './workbook.js'
import {attr, decodeXml, eachAttribute, knownText, sourceText, tagEnd, XmlScanner, XmlSyntaxError, type XmlHandler} from './xml-scan.js'
import {xmlRowChunks, type RowGrammar} from './row-chunks.js'
import type {ZipArchive, ZipEntry} from './zip.js'
import {Markup} from '../runtime/markup.js'

export async function readOds(path: string, opts: ReadOptions): Promise<Sheet> {
  const opened = await openOdsContent(path, opts)
  if (!opened) return emptySheet({format: 'ods'})
  const {zip, content} = opened
  const parser = new OdsContentParser(opts.sheet)
  let failed = false
  return buildSheet('ods', {
    rows: odsChunks(zip, content, parser, opts, () => (failed = true)),
    // known as soon as the table opens, i.e. before its header row
    sheetName: () => parser.sheetName,
    failed: () => failed,
  }, opts)
}

/** The workbook and its content.xml; undefined (and said why) when it is not a readable ODS. */
export async function openOdsContent(path: string, opts: ReadOptions): Promise<{zip: ZipArchive; content: ZipEntry} | undefined> {
  const zip = await openWorkbook(path, 'ods', opts)
  if (!zip) return undefined
  const content = zip.find('content.xml')
  if (!content) {
    const detected = detectFormat(zip)
    reportUnreadable(opts, 'ods', 'missing-part', {part: 'content.xml', ...(detected && {detected})})
    return undefined
  }
  return {zip, content}
}

/** content.xml in chunks of whole rows for the worker threads (row-chunks.ts). */
export function contentByteChunks(zip: ZipArchive, content: ZipEntry, rows: OdsTableRows, chunkBytes: number, allocate?: (size: number) => Buffer): AsyncGenerator<Buffer> {
  return xmlRowChunks(zip.inflate(content, {maxBytes: MAX_SHEET_BYTES}), () => rows, chunkBytes, allocate)
}

const ROW_BYTES = Buffer.from('<table:table-row')
const ROW_END_BYTES = Buffer.from('</table:table-row>')
const TABLE_END_BYTES = Buffer.from('</table:table>')
const ROWS_REPEATED_BYTES = Buffer.from('table:number-rows-repeated=')
const ROW_LAST_LETTER = ROW_BYTES[ROW_BYTES.length - 1]

/**
 * Where rows end in content.xml, in bytes. Several tables may come before the selected one, so the
 * end of a table is the end of the rows only once the selected table's rows are being read (`inTable`).
 * One walk from row tag to row tag (native searches) both finds the table's end and counts the
 * rows, so that the main thread looks through each chunk once.
 */
export class OdsTableRows implements RowGrammar {
  inTable = false
  /** the last walk (rowsEnd): where each row tag starts, and the rows counted up to and with it */
  private walkStarts = new Int32Array(1024)
  private walkRows = new Float64Array(1024)
  private walked = 0
  /** rows of the chunks cut from walked data, until where() asks (rowsIn) */
  private readonly chunkRows = new WeakMap<Buffer, number>()

  get endExpected(): boolean {
    return this.inTable
  }

  completeRowsEnd(data: Buffer): number {
    const closed = data.lastIndexOf(ROW_END_BYTES)
    return closed < 0 ? 0 : closed + ROW_END_BYTES.length
  }

  /**
   * The end of the table, after walking the rows before it. The end tag can only lie where
   * something other than a row's end tag comes before a row (almost never: those few gaps are
   * searched), or after the last row. (A table nested in a cell, which ODF allows and Calc never
   * writes, ends inside a row: it is not taken for the end.)
   */
  rowsEnd(data: Buffer): number {
    this.walked = 0
    if (!this.inTable) return -1
    let rows = 0
    let gapFrom = 0
    // the row tags are found by their last letter, w: rare elsewhere in a sheet, so that a byte
    // search (memchr) finds them about six times sooner than a search for the whole tag
    for (let w = data.indexOf(ROW_LAST_LETTER, ROW_BYTES.length - 1); w >= 0; w = data.indexOf(ROW_LAST_LETTER, w + 1)) {
      const at = w - (ROW_BYTES.length - 1)
      if (!bytesAt(data, at, ROW_BYTES)) continue
      if (!isTagEnd(data[at + ROW_BYTES.length])) continue // <table:table-rows>, -row-group
      if (!bytesAt(data, at - ROW_END_BYTES.length, ROW_END_BYTES)) {
        const end = data.subarray(gapFrom, at).indexOf(TABLE_END_BYTES)
        if (end >= 0) return gapFrom + end + TABLE_END_BYTES.length
      }
      rows += rowsRepeated(data, at)
      this.walkedRow(at, rows)
      gapFrom = at
    }
    const end = data.indexOf(TABLE_END_BYTES, gapFrom)
    return end < 0 ? -1 : end + TABLE_END_BYTES.length
  }

  /** A chunk about to be handed out, cut from the data last walked: its rows, kept for rowsIn. */
  cut(chunk: Buffer): void {
    if (!this.inTable) return
    let k = this.walked
    while (k > 0 && this.walkStarts[k - 1] >= chunk.length) k--
    this.chunkRows.set(chunk, k > 0 ? this.walkRows[k - 1] : 0)
  }

  /** Rows a chunk of the table holds, repeated rows counted as the sheet shows them (kept by cut). */
  rowsIn(chunk: Buffer): number {
    if (!this.chunkRows.has(chunk)) {
      // every chunk handed out was cut from walked data; one that was not is walked now
      this.rowsEnd(chunk)
      this.cut(chunk)
    }
    return this.chunkRows.get(chunk) ?? 0
  }

  private walkedRow(at: number, rows: number): void {
    if (this.walked === this.walkStarts.length) {
      const starts = new Int32Array(this.walked * 2)
      starts.set(this.walkStarts)
      this.walkStarts = starts
      const counts = new Float64Array(this.walked * 2)
      counts.set(this.walkRows)
      this.walkRows = counts
    }
    this.walkStarts[this.walked] = at
    this.walkRows[this.walked++] = rows
  }
}

function isTagEnd(c: number | undefined): boolean {
  return c === 32 || c === 62 || c === 47 || c === 9 || c === 10 || c === 13
}

/** The rows the row tag at `at` stands for: its table:number-rows-repeated, else 1 (the tag is a few dozen bytes). */
function rowsRepeated(data: Buffer, at: number): number {
  let repeat = 1
  for (let i = at + ROW_BYTES.length; i < data.length && data[i] !== 62; i++) {
    if (data[i] === 110 && bytesAt(data, i - 6, ROWS_REPEATED_BYTES)) {
      // table:number-rows-repeated="N"
      let n = 0
      for (let d = i - 6 + ROWS_REPEATED_BYTES.length + 1; data[d] >= 48 && data[d] <= 57 && n < 2 ** 40; d++) n = n * 10 + data[d] - 48
      repeat = n > 0 ? n : 1
    }
  }
  return repeat
}

function bytesAt(data: Buffer, at: number, expected: Buffer): boolean {
  if (at < 0 || at + expected.length > data.length) return false
  for (let k = 0; k < expected.length; k++) if (data[at + k] !== expected[k]) return false
  return true
}

/** The rows of the selected table; then, if no table matched the selector, says so. */
async function* odsChunks(zip: ZipArchive, content: ZipEntry, parser: OdsContentParser, opts: ReadOptions, markFailed: () => void): AsyncGenerator<RawRow[]> {
  let failed = false
  yield* partRows(zip, content, parser, 'ods', opts, () => {
    failed = true
    markFailed()
  })
  if (!failed && parser.sheetName === undefined) {
    markFailed()
    reportSheetNotFound(opts, opts.sheet ?? '1', parser.sheetNames)
  }
}

interface RowState {
  repeat: number
  cells: string[]
  /** empty cells seen but not materialized yet: only a later non-empty cell makes them real */
  pendingEmpty: number
  chars: number
  tooLong: boolean
}

const ROW = '<table:table-row'
const ROW_END = '</table:table-row>'
const CELL = '<table:table-cell'
const COVERED = '<table:covered-table-cell'
const CELL_END = '</table:table-cell>'
const COVERED_END = '</table:covered-table-cell>'
const TABLE_END = '</table:table>'
/** a text cell as LibreOffice writes it, up to its text; then the text's end and the cell's */
const STRING_CELL = '<table:table-cell office:value-type="string" calcext:value-type="string"><text:p>'
const STRING_CELL_END = '</text:p></table:table-cell>'
const EMPTY_CELL = '<table:table-cell/>'

// the shapes LibreOffice writes, for writeRowBytes (compared four bytes at a time)
const ROW_END_WORDS = new Markup(ROW_END)
const EMPTY_CELL_WORDS = new Markup(EMPTY_CELL)
const STRING_CELL_WORDS = new Markup(STRING_CELL)
const STRING_CELL_END_WORDS = new Markup(STRING_CELL_END)
const REPEATED_CELL_WORDS = new Markup('<table:table-cell table:number-columns-repeated="')
const FLOAT_CELL_WORDS = new Markup('<table:table-cell office:value-type="float" office:value="')
const FLOAT_VALUE_END_WORDS = new Markup('" calcext:value-type="float"><text:p>')
const DATE_CELL_WORDS = new Markup('<table:table-cell office:value-type="date" office:date-value="')
const DATE_VALUE_END_WORDS = new Markup('" calcext:value-type="date"><text:p>')

/** Whether `markup` is at `at` in the bytes before `to`. */
function matchAt(view: DataView, at: number, to: number, markup: Markup): boolean {
  const n = markup.length
  if (at < 0 || at + n > to) return false
  const words = markup.words
  const whole = n >> 2
  for (let k = 0; k < whole; k++) if (view.getUint32(at + 4 * k, true) !== words[k]) return false
  for (let k = whole * 4; k < n; k++) if (view.getUint8(at + k) !== ((words[k >> 2] >>> ((k & 3) * 8)) & 0xff)) return false
  return true
}

/**
 * A push parser for content.xml: fed text, it collects the finished rows of the selected table.
 * Up to that table (styles, the tables before it) a general tokenizer reads the document; the
 * selected table's rows are read by a scanner written for their grammar (complete rows only,
 * indexOf, the usual <text:p>plain text</text:p> taken directly; anything richer in a cell —
 * spans, spaces, line breaks, comments — goes through the general tokenizer).
 * Tag names carry the standard ODF prefixes (office:, table:, text:, style:), which every producer uses.
 */
export class OdsContentParser implements XmlHandler, RowParser {
  readonly sheetNames: string[] = []
  sheetName?: string
  finished = false
  lastRow = 0

  private readonly scanner = new XmlScanner(this)
  private mode: 'document' | 'skip' | 'rows' = 'document'
  private buffer = ''
  /** in rows mode: the start of a row that goes on in the next chunk */
  private readonly pendingRows = new PendingRows([ROW_END, TABLE_END])
  /** automatic table styles that hide their table (table:display="false") */
  private readonly hiddenStyles = new Set<string>()
  private styleName?: string
  private visibleTables = 0
  private out: RawRow[] = []
  private nextRow = 1
  private row?: RowState

  constructor(private readonly selector: string | undefined) {}

  write(text: string): void {
    this.buffer += text
    while (!this.finished && this.buffer.length > 0) {
      if (this.mode === 'document') {
        const chunk = this.buffer
        this.buffer = ''
        this.scanner.write(chunk)
        if (!this.scanner.isStopped) return // all consumed (or waiting for the rest of a tag)
        this.buffer = this.scanner.handOver()
      } else if (this.mode === 'skip') {
        if (!this.skipTable()) return
      } else if (!this.rows()) return
    }
  }

  /** end of input: a document cut short is an error */
  end(): void {
    if (this.mode !== 'document' || this.buffer.trim() !== '') throw new XmlSyntaxError('unexpected end of document')
    this.scanner.end()
  }

  take(): RawRow[] {
    const rows = this.out
    this.out = []
    return rows
  }

  /** Rows of the table so far, repeated ones counted (the number the next row follows). */
  get rowsRead(): number {
    return this.nextRow - 1
  }

  /**
   * Reads on from a row boundary inside the selected table (a chunk cut by contentByteChunks, in a
   * worker thread): the next row is lastRow + 1.
   */
  resume(lastRow: number): void {
    this.mode = 'rows'
    this.finished = false
    this.buffer = ''
    this.nextRow = lastRow + 1
    this.lastRow = Math.min(lastRow, MAX_ROWS)
    this.row = undefined
    this.out = []
  }

  /**
   * Text that holds whole rows only (a worker's piece of a chunk, which the main thread cut at the
   * latest after </table:table>: scanRows passes over that tag): scanned as it is.
   */
  writeRows(s: string): void {
    this.scanRows(s, 0, s.length)
  }

  /**
   * The same, given the bytes too: `s` is bytes[from, from + s.length) as latin1 (xml-scan.ts:
   * scanLatin1, inside whose callback this runs). Cells of the shapes LibreOffice writes for
   * text, numbers, dates and empty runs are recognised by comparing their markup four bytes at a
   * time (Markup); any other cell is read by the cell reader, and anything else than cells and
   * rows (a table's end, row groups, columns) by the general row scanner, from there on. Measured
   * on the bench's 47-column rows: about 2.6 times less CPU than scanRows alone.
   */
  writeRowBytes(bytes: Buffer, from: number, s: string): void {
    const to = from + s.length
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    let at = from
    while (at < to) {
      if (bytes[at] !== 60) {
        // text between tags (white space): passed over, as scanRows does
        at++
        continue
      }
      let next = -1
      if (bytes[at + 1] === 116) {
        // <table:…: a cell (empty, with attributes, covered) or a row
        if (bytes[at + 17] === 47) next = matchAt(view, at, to, EMPTY_CELL_WORDS) ? this.emptyCells(at + EMPTY_CELL_WORDS.length, 1) : -1
        else if (bytes[at + 16] === 108) next = this.cellAt(bytes, view, at, to, s, from)
        else if (startsTag(s, at - from, ROW)) {
          const gt = tagEnd(s, at - from + 1)
          if (gt >= 0) next = this.startRow(s, at - from, gt) + 1 + from
        } else if (startsTag(s, at - from, COVERED)) next = this.cell(s, at - from, to - from) + from
      } else if (bytes[at + 1] === 47 && matchAt(view, at, to, ROW_END_WORDS)) {
        this.endRow()
        next = at + ROW_END_WORDS.length
      }
      if (next < 0) {
        // not one of the usual shapes: the general scanner reads the rest
        this.scanRows(s, at - from, s.length)
        return
      }
      at = next
    }
  }

  /**
   * The cell whose tag may start at `at` (not the empty one): text, number, date and repeated
   * empty cells as LibreOffice writes them, any other through the cell reader. Returns where the
   * next tag starts (in bytes); -1 when no cell starts there.
   */
  private cellAt(bytes: Buffer, view: DataView, at: number, to: number, s: string, from: number): number {
    const c = bytes[at + 37]
    if (c === 115 && matchAt(view, at, to, STRING_CELL_WORDS)) {
      // …value-type="string"…><text:p>TEXT</text:p></table:table-cell>
      const text = at + STRING_CELL_WORDS.length
      let plain = true
      let i = text
      for (; i < to; i++) {
        const b = bytes[i]
        if (b === 60) break
        // not ASCII, an entity, a line end or tab, two spaces: paragraphText decodes and collapses
        if (b > 126 || b === 38 || b < 32 || (b === 32 && bytes[i + 1] === 32)) plain = false
      }
      if (matchAt(view, i, to, STRING_CELL_END_WORDS)) {
        if (this.row) this.addCell(plain ? s.slice(text - from, i - from) : paragraphText(s, text - from, i - from)!, 1)
        return i + STRING_CELL_END_WORDS.length
      }
    } else if (c === 102 && matchAt(view, at, to, FLOAT_CELL_WORDS)) {
      const end = this.typedCell(bytes, view, at + FLOAT_CELL_WORDS.length, to, FLOAT_VALUE_END_WORDS, s, from, 'float')
      if (end >= 0) return end
    } else if (c === 100 && matchAt(view, at, to, DATE_CELL_WORDS)) {
      const end = this.typedCell(bytes, view, at + DATE_CELL_WORDS.length, to, DATE_VALUE_END_WORDS, s, from, 'date')
      if (end >= 0) return end
    } else if (bytes[at + 18] === 116 && matchAt(view, at, to, REPEATED_CELL_WORDS)) {
      // <table:table-cell table:number-columns-repeated="N"/>
      const digits = at + REPEATED_CELL_WORDS.length
      let i = digits
      while (i < to && i - digits < 9 && bytes[i] >= 48 && bytes[i] <= 57) i++
      if (i + 3 <= to && bytes[i] === 34 && bytes[i + 1] === 47 && bytes[i + 2] === 62) return this.emptyCells(i + 3, repeatCount(s.slice(digits - from, i - from)))
    }
    return startsTag(s, at - from, CELL) ? this.cell(s, at - from, to - from) + from : -1
  }

  /**
   * A number or a date cell from its value (at `value`), whose attribute ends with `valueEnd`, then
   * one plain paragraph: the value as cellValue takes it. -1 when the rest is not in that shape.
   */
  private typedCell(bytes: Buffer, view: DataView, value: number, to: number, valueEnd: Markup, s: string, from: number, type: 'float' | 'date'): number {
    let q = value
    for (; q < to; q++) {
      const b = bytes[q]
      if (b === 34) break
      // what a value may hold that the cell reader reads differently: markup, entities, not ASCII
      if (b === 60 || b === 62 || b === 38 || b > 126) return -1
    }
    if (!matchAt(view, q, to, valueEnd)) return -1
    let i = q + valueEnd.length
    while (i < to && bytes[i] !== 60) i++
    if (!matchAt(view, i, to, STRING_CELL_END_WORDS)) return -1
    const raw = s.slice(value - from, q - from)
    if (this.row) this.addCell(type === 'float' ? plainNumberText(raw) : raw.slice(0, 10), 1)
    return i + STRING_CELL_END_WORDS.length
  }

  private emptyCells(next: number, repeat: number): number {
    if (this.row) this.addCell('', repeat)
    return next
  }

  // -------------------------------------------------------------------------------------------
  // The document around the tables: the general tokenizer
  // -------------------------------------------------------------------------------------------

  open(name: string, attrs: string): void {
    if (name === 'table:table') {
      this.openTable(attrs)
      this.scanner.stop() // the table's content is read by skipTable or rows
    } else if (name === 'style:style') {
      this.styleName = attr(attrs, 'style:family') === 'table' ? attr(attrs, 'style:name') : undefined
    } else if (name === 'style:table-properties' && this.styleName !== undefined && attr(attrs, 'table:display') === 'false') {
      this.hiddenStyles.add(this.styleName)
    }
  }

  close(): void {}

  text(): void {}

  private openTable(attrs: string): void {
    const name = attr(attrs, 'table:name') ?? ''
    this.sheetNames.push(name)
    const style = attr(attrs, 'table:style-name')
    const visible = style === undefined || !this.hiddenStyles.has(style)
    if (visible) this.visibleTables++
    if (this.sheetName === undefined && sheetMatches(this.selector, name, visible ? this.visibleTables : undefined)) {
      this.sheetName = name
      this.mode = 'rows'
    } else {
      this.mode = 'skip'
    }
  }

  /** A table that is not the selected one: jumps to its end. False when it is not in the buffer yet. */
  private skipTable(): boolean {
    const end = this.buffer.indexOf(TABLE_END)
    if (end < 0) {
      this.buffer = this.buffer.slice(-TABLE_END.length) // only what may hold a cut end tag
      return false
    }
    this.buffer = this.buffer.slice(end + TABLE_END.length)
    this.mode = 'document'
    return true
  }

  // -------------------------------------------------------------------------------------------
  // The selected table's rows: the dedicated scanner
  // -------------------------------------------------------------------------------------------

  /** Reads the complete rows in the buffer; false when it needs more text. */
  private rows(): boolean {
    const s = this.pendingRows.add(this.buffer)
    this.buffer = ''
    if (s === undefined) return false
    const tableEnd = s.indexOf(TABLE_END)
    const to = tableEnd >= 0 ? tableEnd : completeRowsEnd(s)
    this.scanRows(s, 0, to)
    if (tableEnd >= 0) {
      this.buffer = ''
      this.finished = true // the rest of the document is not needed
      return false
    }
    this.pendingRows.keep(s.slice(to))
    return false
  }

  /** The rows, cells and values in s[from..to), which holds whole rows only (or their rest, from a tag). */
  private scanRows(s: string, from: number, to: number): void {
    let pos = from
    for (;;) {
      const lt = s.indexOf('<', pos)
      if (lt < 0 || lt >= to) break
      const plain = this.plainCell(s, lt, to)
      if (plain >= 0) {
        pos = plain
        continue
      }
      if (startsTag(s, lt, CELL) || startsTag(s, lt, COVERED)) {
        pos = this.cell(s, lt, to)
        continue
      }
      const gt = tagEnd(s, lt + 1)
      // a tag that never ends (a damaged file): an error, never a scan sent back to the start
      if (gt < 0) throw new XmlSyntaxError('tag not closed')
      if (startsTag(s, lt, ROW)) {
        this.startRow(s, lt, gt)
      } else if (s.startsWith(ROW_END, lt)) {
        this.endRow()
      }
      // columns, header-rows and row-group wrappers, shapes: nothing to read
      pos = gt + 1
    }
  }

  /**
   * Most cells of a LibreOffice sheet are one of two exact strings: a one-paragraph text cell and
   * an empty cell. Compared whole (slice and ===, several times faster than startsWith on strings
   * this long), without the tag reader. Returns where scanning goes on; -1 when the tag at lt is
   * not one of them.
   */
  private plainCell(s: string, lt: number, to: number): number {
    if (s.slice(lt, lt + STRING_CELL.length) === STRING_CELL) {
      const from = lt + STRING_CELL.length
      const close = s.indexOf('<', from)
      if (close < 0 || close >= to || s.slice(close, close + STRING_CELL_END.length) !== STRING_CELL_END) return -1
      if (this.row) this.addCell(paragraphText(s, from, close), 1)
      return close + STRING_CELL_END.length
    }
    if (s.slice(lt, lt + EMPTY_CELL.length) !== EMPTY_CELL) return -1
    if (this.row) this.addCell('', 1)
    return lt + EMPTY_CELL.length
  }

  /** The cell whose tag starts at lt; returns where scanning goes on. */
  private cell(s: string, lt: number, to: number): number {
    const name = s.startsWith(CELL, lt) ? CELL : COVERED
    // the usual tag in one pass; anything unusual (unquoted values…) as the general tokenizer reads it
    let gt = readCellTag(s, lt + name.length)
    if (gt < 0) {
      gt = tagEnd(s, lt + 1)
      if (gt < 0) throw new XmlSyntaxError('tag not closed')
      readCell(sourceText(s, lt + name.length, s.charCodeAt(gt - 1) === 47 ? gt - 1 : gt))
    }
    const selfClosing = s.charCodeAt(gt - 1) === 47
    let next = gt + 1
    let paragraphs = NO_PARAGRAPHS
    if (!selfClosing) {
      const endTag = name === CELL ? CELL_END : COVERED_END
      const end = s.indexOf(endTag, gt)
      if (end < 0 || end >= to) throw new XmlSyntaxError('cell not closed')
      if (needsText()) paragraphs = paragraphsOf(s, gt + 1, end)
      next = end + endTag.length
    }
    if (this.row) this.addCell(cellValue(paragraphs), repeatCount(cellAttributes.columnsRepeated))
    return next
  }

  /** The row whose tag is s[lt..gt]; returns gt. */
  private startRow(s: string, lt: number, gt: number): number {
    this.row = {repeat: repeatCount(attr(sourceText(s, lt + ROW.length, gt), 'table:number-rows-repeated')), cells: [], pendingEmpty: 0, chars: 0, tooLong: false}
    if (s.charCodeAt(gt - 1) === 47) this.endRow()
    return gt
  }

  private addCell(value: string, repeat: number): void {
    const row = this.row!
    if (row.tooLong) return
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

const NO_PARAGRAPHS: string[] = []

function startsTag(s: string, at: number, tag: string): boolean {
  if (!s.startsWith(tag, at)) return false
  const c = s.charCodeAt(at + tag.length)
  return c === 32 || c === 62 || c === 47 || c === 9 || c === 10 || c === 13
}

/** Where the last complete row in s ends; 0 if none. */
function completeRowsEnd(s: string): number {
  const closed = s.lastIndexOf(ROW_END)
  return closed < 0 ? 0 : closed + ROW_END.length
}

/** The attributes of the cell being read (refilled for every cell by readCell). */
const cellAttributes = {
  valueType: undefined as string | undefined,
  calcextType: undefined as string | undefined,
  value: undefined as string | undefined,
  dateValue: undefined as string | undefined,
  timeValue: undefined as string | undefined,
  booleanValue: undefined as string | undefined,
  stringValue: undefined as string | undefined,
  columnsRepeated: undefined as string | undefined,
}

/** The general way: a tag's attribute text, whatever its quoting and spacing. */
function readCell(attrs: string): void {
  clearCellAttributes()
  eachAttribute(attrs, (name, raw) => setCellAttribute(name, 0, name.length, raw, 0, raw.length, false))
}

function clearCellAttributes(): void {
  const a = cellAttributes
  a.valueType = a.calcextType = a.value = a.dateValue = a.timeValue = a.booleanValue = a.stringValue = a.columnsRepeated = undefined
}

/**
 * The attributes of a cell tag read in one pass from `from` (just after its name) into
 * cellAttributes, without slicing names: returns the index of the tag's '>', or -1 when the tag
 * is not in the usual shape (the caller then reads it the general way).
 */
function readCellTag(s: string, from: number): number {
  clearCellAttributes()
  // everything read must lie before the first '>' (one in a value sends the tag to the general reader)
  const end = s.indexOf('>', from)
  if (end < 0) return -1
  for (let i = from; ; ) {
    let c = s.charCodeAt(i)
    while (isSpace(c)) c = s.charCodeAt(++i)
    if (i === end) return end
    if (c === 47) return i + 1 === end ? end : -1
    const eq = s.indexOf('=', i)
    // white space around '=' (or anything but a plain name="value") goes to the general reader
    if (eq < 0 || eq > end || s.charCodeAt(eq + 1) !== 34 || isSpace(s.charCodeAt(eq - 1))) return -1
    const close = s.indexOf('"', eq + 2)
    if (close < 0 || close > end) return -1
    setCellAttribute(s, i, eq, s, eq + 2, close, true)
    i = close + 1
  }
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13
}

/**
 * One attribute of a cell, its name name[start..end) and its value value[from..to) (one string or
 * two: the one-pass reader does not slice names; `scanned`: value is the text being scanned, whose
 * data is taken with sourceText): only the ones cellValue needs are kept.
 */
function setCellAttribute(name: string, start: number, end: number, value: string, from: number, to: number, scanned: boolean): void {
  const a = cellAttributes
  const take = scanned ? sourceText : plainSlice
  switch (end - start) {
    case 12:
      if (name.startsWith('office:value', start)) a.value = take(value, from, to)
      break
    case 17:
      if (name.startsWith('office:value-type', start)) a.valueType = knownText(VALUE_TYPES, value, from, to, take)
      else if (name.startsWith('office:date-value', start)) a.dateValue = take(value, from, to)
      else if (name.startsWith('office:time-value', start)) a.timeValue = take(value, from, to)
      break
    case 18:
      // only its 'error' matters (a formula error's text is not data)
      if (name.startsWith('calcext:value-type', start)) a.calcextType = to - from === 5 && value.startsWith('error', from) ? 'error' : 'other'
      break
    case 19:
      if (name.startsWith('office:string-value', start)) a.stringValue = decodeXml(take(value, from, to))
      break
    case 20:
      if (name.startsWith('office:boolean-value', start)) a.booleanValue = take(value, from, to)
      break
    case 29:
      if (name.startsWith('table:number-columns-repeated', start)) a.columnsRepeated = take(value, from, to)
      break
  }
}

function plainSlice(s: string, from: number, to: number): string {
  return s.slice(from, to)
}

const VALUE_TYPES = ['string', 'float', 'date', 'percentage', 'currency', 'time', 'boolean', 'error']

/** Typed cells carry their value in attributes: their displayed text is not needed. */
function needsText(): boolean {
  const type = cellAttributes.valueType
  return type === undefined || type === 'string' || (type === 'time' && cellAttributes.timeValue === undefined)
}

/** The paragraphs of a cell's content s[from..to): plain ones directly, anything richer through the tokenizer. */
function paragraphsOf(s: string, from: number, to: number): string[] {
  const out: string[] = []
  for (let p = from; p < to; ) {
    if (s.startsWith('<text:p>', p)) {
      const close = s.indexOf('<', p + 8)
      if (close >= 0 && close < to && s.startsWith('</text:p>', close)) {
        out.push(paragraphText(s, p + 8, close))
        p = close + 9
        continue
      }
    } else if (s.startsWith('<text:p/>', p)) {
      out.push('')
      p += 9
      continue
    }
    return richParagraphs(sourceText(s, from, to))
  }
  return out
}

/** The text of a plain paragraph, s[from..to): most has nothing to decode or collapse, found in one look. */
function paragraphText(s: string, from: number, to: number): string {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i)
    // not ASCII (scanLatin1), an entity, a line end or tab, two spaces: the whole way
    if (c > 126 || c === 38 || c < 32 || (c === 32 && s.charCodeAt(i + 1) === 32)) return collapse(decodeXml(sourceText(s, from, to)))
  }
  return s.slice(from, to)
}

/** ODF collapses white space inside paragraphs; real runs of spaces are written as text:s */
function collapse(text: string): string {
  return /[\t\r\n]| {2}/.test(text) ? text.replace(/[ \t\r\n]+/g, ' ') : text
}

/** A cell's paragraphs with spans, spaces (text:s), tabs, line breaks; comments (office:annotation) left out. */
function richParagraphs(content: string): string[] {
  const paragraphs: string[] = []
  let paragraph: string | undefined
  let ignoreDepth = 0
  let chars = 0
  const append = (text: string): void => {
    if (paragraph === undefined || ignoreDepth > 0 || chars > MAX_ROW_CHARS) return
    chars += text.length
    paragraph += text
  }
  const scanner = new XmlScanner({
    open: (name, attrs) => {
      switch (name) {
        case 'office:annotation':
          ignoreDepth++
          break
        case 'text:p':
        case 'text:h':
          if (ignoreDepth === 0) paragraph = ''
          break
        case 'text:s':
          // never more spaces than the cell may still hold: thousands of huge runs must not cost gigabytes
          if (chars <= MAX_ROW_CHARS) append(' '.repeat(Math.min(repeatCount(attr(attrs, 'text:c')), MAX_ROW_CHARS + 1 - chars)))
          break
        case 'text:tab':
          append('\t')
          break
        case 'text:line-break':
          append('\n')
          break
      }
    },
    close: (name) => {
      if (name === 'office:annotation') ignoreDepth--
      else if ((name === 'text:p' || name === 'text:h') && paragraph !== undefined && ignoreDepth === 0) {
        paragraphs.push(paragraph)
        paragraph = undefined
      }
    },
    text: (raw, literal) => append(collapse(literal ? raw : decodeXml(raw))),
  })
  scanner.write(content)
  scanner.end()
  return paragraphs
}

function repeatCount(attr: string | undefined): number {
  const n = attr === undefined ? 1 : Number.parseInt(attr, 10)
  return Number.isFinite(n) && n > 0 ? n : 1
}

/** The cell's text from its typed value (office:value & co., in cellAttributes) or, for strings, its paragraphs. */
function cellValue(paragraphs: string[]): string {
  const text = paragraphs.length === 1 ? paragraphs[0] : paragraphs.join('\n')
  const a = cellAttributes
  if (a.calcextType === 'error') return '' // a formula error: its text is "#DIV/0!" & co.
  switch (a.valueType) {
    case 'float':
    case 'percentage':
    case 'currency': {
      const value = a.value
      return value === undefined ? text : plainNumberText(value)
    }
    case 'date':
      return (a.dateValue ?? '').slice(0, 10)
    case 'time':
      return isoTime(a.timeValue) ?? text
    case 'boolean':
      return a.booleanValue === 'true' ? 'TRUE' : 'FALSE'
    case 'string':
      return a.stringValue ?? text
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
