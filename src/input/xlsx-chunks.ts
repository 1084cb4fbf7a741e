import {XmlSyntaxError} from './xml-scan.js'
import {MAX_SHEET_BYTES} from './workbook.js'
import {attributeRange, integerAt, isDelimiter, tagsFor, type XlsxWorksheet} from './xlsx.js'
import {ZipError} from './zip.js'

/**
 * Cuts a worksheet's inflated XML into chunks of whole rows, so that worker threads can read them
 * on their own, as csv-chunks.ts does for CSV. Only native byte searches run here (the tags are
 * ASCII in UTF-8): the main thread inflates and cuts, the workers decode and scan.
 *
 * A row without an `r` attribute takes the number after the previous row's, so every chunk says
 * which row came last before it. The first chunk also holds what precedes the rows (sheet
 * properties, column widths): it is read where the header is looked for.
 */

export interface WorksheetChunk {
  bytes: Buffer
  /** the number of the last row before this chunk (0 for the first), and of its own last row */
  lastRowBefore: number
  lastRow: number
  /** the namespace prefix of the sheet's elements ('' or 'x:'), from <sheetData> */
  prefix: string
}

/** more than an inflated piece (zip.ts reads 64 KB at a time; inflate pieces are no bigger) */
const PIECE_ROOM = 256 << 10
/** bytes before <sheetData> we are willing to skip (column widths of 16384 columns fit many times) */
const MAX_HEAD_BYTES = 16 << 20
/** a row's XML longer than this is damage, not data (PendingRows holds the sequential reader to the same) */
const MAX_ROW_BYTES = 4 * (16 << 20)

/**
 * The worksheet's XML in chunks of about `chunkBytes` that end after a complete row (and the last
 * one with </sheetData>). Throws ZipError (bombs, caps, damage) or XmlSyntaxError after yielding
 * the rows read whole before the problem. `allocate` gives the buffer each chunk is read into
 * (its memory is then transferred to a worker); it may hand back buffers the workers returned.
 */
export async function* worksheetByteChunks(
  sheet: XlsxWorksheet,
  chunkBytes: number,
  allocate: (size: number) => Buffer = (size) => Buffer.allocUnsafeSlow(size),
): AsyncGenerator<WorksheetChunk> {
  const inflated = sheet.zip.inflate(sheet.entry, {maxBytes: MAX_SHEET_BYTES})
  // room for the inflated piece that takes a block past chunkBytes: blocks are then all one size,
  // and the buffers the workers hand back fit the next ones
  const blockBytes = chunkBytes + PIECE_ROOM
  let block = allocate(blockBytes)
  let filled = 0
  let tags: ReturnType<typeof byteTags> | undefined
  let prefix = ''
  let lastRow = 0
  /** where the search for </sheetData> goes on: bytes before it have been searched */
  let searched = 0
  try {
    for await (const piece of inflated) {
      if (filled + piece.length > block.length) {
        const bigger = allocate(Math.max(block.length * 2, filled + piece.length))
        block.copy(bigger, 0, 0, filled)
        block = bigger
      }
      piece.copy(block, filled)
      filled += piece.length
      if (!tags) {
        const found = sheetDataStart(block, filled)
        if (found === undefined) {
          if (filled > MAX_HEAD_BYTES) throw new ZipError('corrupt', 'worksheet')
          continue
        }
        prefix = found.prefix
        tags = byteTags(prefix)
        if (found.empty) {
          yield {bytes: block.subarray(0, filled), lastRowBefore: 0, lastRow: 0, prefix}
          return
        }
      }
      if (filled < chunkBytes) continue
      const end = block.subarray(0, filled).indexOf(tags.sheetDataEnd, searched)
      searched = Math.max(0, filled - tags.sheetDataEnd.length)
      if (end >= 0) {
        yield lastChunk(block.subarray(0, end + tags.sheetDataEnd.length), lastRow, tags, prefix)
        return // the rows are over: what follows them is not needed
      }
      const boundary = completeRowsEnd(block, filled, tags)
      if (boundary === 0) {
        if (filled > MAX_ROW_BYTES) throw new XmlSyntaxError('row too long')
        continue
      }
      // the chunk's memory goes to a worker (detached here): the start of the next row is copied out first
      const next = allocate(Math.max(blockBytes, 2 * (filled - boundary)))
      block.copy(next, 0, boundary, filled)
      const bytes = block.subarray(0, boundary)
      const lastRowBefore = lastRow
      lastRow = lastRowIn(bytes, tags, lastRow)
      filled -= boundary
      searched = Math.max(0, searched - boundary)
      block = next
      yield {bytes, lastRowBefore, lastRow, prefix}
    }
    if (!tags) throw new ZipError('corrupt', 'worksheet')
    const end = block.subarray(0, filled).indexOf(tags.sheetDataEnd)
    if (end >= 0) {
      yield lastChunk(block.subarray(0, end + tags.sheetDataEnd.length), lastRow, tags, prefix)
      return
    }
    // a document that ends without </sheetData> was cut short: its whole rows, then the error
    const boundary = completeRowsEnd(block, filled, tags)
    if (boundary > 0) yield lastChunk(block.subarray(0, boundary), lastRow, tags, prefix)
    throw new ZipError('corrupt', 'worksheet')
  } finally {
    await inflated.return(undefined)
  }
}

function lastChunk(bytes: Buffer, lastRowBefore: number, tags: ReturnType<typeof byteTags>, prefix: string): WorksheetChunk {
  return {bytes, lastRowBefore, lastRow: lastRowIn(bytes, tags, lastRowBefore), prefix}
}

function byteTags(prefix: string) {
  const tags = tagsFor(prefix)
  return {row: Buffer.from(tags.row), rowEnd: Buffer.from(tags.rowEnd), sheetDataEnd: Buffer.from(tags.sheetDataEnd)}
}

/** Where <sheetData> is, with its prefix; empty when it is self-closed (no rows at all). */
function sheetDataStart(block: Buffer, filled: number): {prefix: string; empty: boolean} | undefined {
  const data = block.subarray(0, filled)
  for (let at = data.indexOf('sheetData'); at >= 0; at = data.indexOf('sheetData', at + 1)) {
    const lt = data.lastIndexOf(60, at) // <
    const name = data.toString('latin1', lt + 1, at)
    if (lt < 0 || !/^(?:[A-Za-z_][\w.-]*:)?$/.test(name) || !isDelimiter(data[at + 9] ?? 32)) continue
    const gt = data.indexOf(62, at) // >
    if (gt < 0) return undefined
    return {prefix: name, empty: data[gt - 1] === 47}
  }
  return undefined
}

/** Where the last complete row ends (after </row>, or a self-closed <row …/>); 0 if none. */
function completeRowsEnd(block: Buffer, filled: number, tags: ReturnType<typeof byteTags>): number {
  const data = block.subarray(0, filled)
  const closed = data.lastIndexOf(tags.rowEnd)
  let end = closed < 0 ? 0 : closed + tags.rowEnd.length
  const open = lastRowTag(data, tags)
  if (open >= end) {
    const gt = data.indexOf(62, open)
    if (gt > 0 && data[gt - 1] === 47) end = gt + 1
  }
  return end
}

/** The last <row …> tag (not <rowBreaks>…) in data; -1 if none. */
function lastRowTag(data: Buffer, tags: ReturnType<typeof byteTags>): number {
  let at = data.lastIndexOf(tags.row)
  while (at >= 0 && !isDelimiter(data[at + tags.row.length] ?? 32)) at = at > 0 ? data.lastIndexOf(tags.row, at - 1) : -1
  return at
}

/** The number of a chunk's last row, as the scanner numbers rows: its `r`, else one after the one before. */
function lastRowIn(chunk: Buffer, tags: ReturnType<typeof byteTags>, before: number): number {
  const last = lastRowTag(chunk, tags)
  if (last < 0) return before
  const number = rowNumber(chunk, last, tags)
  if (number > 0) return number
  // rows without r (rare: hand-written SpreadsheetML): count them as the scanner does
  let row = before
  for (let at = chunk.indexOf(tags.row); at >= 0; at = chunk.indexOf(tags.row, at + 1)) {
    if (!isDelimiter(chunk[at + tags.row.length] ?? 32)) continue
    const n = rowNumber(chunk, at, tags)
    row = n > 0 ? n : row + 1
  }
  return row
}

/** The `r` of the row tag at `at`; 0 without one. */
function rowNumber(chunk: Buffer, at: number, tags: ReturnType<typeof byteTags>): number {
  const gt = chunk.indexOf(62, at)
  const tag = chunk.toString('latin1', at + tags.row.length, gt < 0 ? chunk.length : gt)
  const r = attributeRange(tag, 0, tag.length, 114)
  return r ? integerAt(tag, r[0], r[1]) : 0
}
