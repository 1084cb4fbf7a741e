import {MAX_SHEET_BYTES} from './workbook.js'
import {xmlRowChunks, type RowGrammar} from './row-chunks.js'
import {attributeRange, integerAt, isDelimiter, tagsFor, type XlsxWorksheet} from './xlsx.js'

/**
 * A worksheet's XML in chunks of whole rows for the worker threads (row-chunks.ts). The first
 * chunk also holds what precedes <sheetData>, and tells the elements' namespace prefix.
 */
export function worksheetByteChunks(sheet: XlsxWorksheet, chunkBytes: number, allocate?: (size: number) => Buffer): AsyncGenerator<Buffer> {
  return xmlRowChunks(sheet.zip.inflate(sheet.entry, {maxBytes: MAX_SHEET_BYTES}), worksheetGrammar, chunkBytes, allocate)
}

/** The byte tags of a worksheet whose elements carry `prefix` ('' or 'x:'). */
export class WorksheetRows implements RowGrammar {
  readonly endExpected = true
  private readonly row: Buffer
  private readonly rowEnd: Buffer
  private readonly dataEnd: Buffer

  constructor(readonly prefix: string) {
    const tags = tagsFor(prefix)
    this.row = Buffer.from(tags.row)
    this.rowEnd = Buffer.from(tags.rowEnd)
    this.dataEnd = Buffer.from(tags.sheetDataEnd)
  }

  rowsEnd(data: Buffer): number {
    // no row follows </sheetData>: it is looked for after the last row only (found from the end; a
    // <row …> written after it, in an extension say, would hide it: no producer writes one)
    const at = data.indexOf(this.dataEnd, Math.max(0, this.lastRowTag(data)))
    return at < 0 ? -1 : at + this.dataEnd.length
  }

  completeRowsEnd(data: Buffer): number {
    const closed = data.lastIndexOf(this.rowEnd)
    let end = closed < 0 ? 0 : closed + this.rowEnd.length
    // empty formatted rows are often self-closed, thousands in a row: count them complete too
    const open = this.lastRowTag(data)
    if (open >= end) {
      const gt = data.indexOf(62, open)
      if (gt > 0 && data[gt - 1] === 47) end = gt + 1
    }
    return end
  }

  /** The number of a chunk's last row, as the scanner numbers rows: its `r`, else one after the one before. */
  lastRowIn(chunk: Buffer, before: number): number {
    const last = this.lastRowTag(chunk)
    if (last < 0) return before
    const number = this.rowNumber(chunk, last)
    if (number > 0) return number
    // rows without r (rare: hand-written SpreadsheetML): count them as the scanner does
    let row = before
    for (let at = chunk.indexOf(this.row); at >= 0; at = chunk.indexOf(this.row, at + 1)) {
      if (!isDelimiter(chunk[at + this.row.length] ?? 32)) continue
      const n = this.rowNumber(chunk, at)
      row = n > 0 ? n : row + 1
    }
    return row
  }

  /** The last <row …> tag (not <rowBreaks>…) in data; -1 if none. */
  private lastRowTag(data: Buffer): number {
    let at = data.lastIndexOf(this.row)
    while (at >= 0 && !isDelimiter(data[at + this.row.length] ?? 32)) at = at > 0 ? data.lastIndexOf(this.row, at - 1) : -1
    return at
  }

  /** The `r` of the row tag at `at`; 0 without one. */
  private rowNumber(chunk: Buffer, at: number): number {
    const gt = chunk.indexOf(62, at)
    const tag = chunk.toString('latin1', at + this.row.length, gt < 0 ? chunk.length : gt)
    const r = attributeRange(tag, 0, tag.length, 114)
    return r ? integerAt(tag, r[0], r[1]) : 0
  }
}

/** The rows' grammar once <sheetData> has been seen (its prefix is the rows'); 'empty' for <sheetData/>. */
function worksheetGrammar(head: Buffer): WorksheetRows | 'empty' | undefined {
  for (let at = head.indexOf('sheetData'); at >= 0; at = head.indexOf('sheetData', at + 1)) {
    const lt = head.lastIndexOf(60, at) // <
    const name = head.toString('latin1', lt + 1, at)
    if (lt < 0 || !/^(?:[A-Za-z_][\w.-]*:)?$/.test(name) || !isDelimiter(head[at + 9] ?? 32)) continue
    const gt = head.indexOf(62, at) // >
    if (gt < 0) return undefined
    return head[gt - 1] === 47 ? 'empty' : new WorksheetRows(name)
  }
  return undefined
}
