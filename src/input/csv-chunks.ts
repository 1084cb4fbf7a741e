import {createReadStream} from 'node:fs'
import {open} from 'node:fs/promises'

import {CsvScanner} from './csv.js'
import {BATCH_ROWS, MAX_ROW_CHARS, type ReaderIssue, type SheetRow} from './types.js'

/**
 * Cuts a large CSV file into byte chunks that end at record boundaries, so that worker threads
 * can parse them independently. A boundary is a line feed outside quotes, found with native
 * indexOf jumps (the bytes of `"` and LF mean the same in UTF-8 and Windows-1252).
 *
 * Parsing a chunk on its own gives the same rows as parsing the file in one go only while
 * quotes behave; when a quoted run grows implausibly long (an unbalanced quote) or a record
 * outgrows the chunk, the chunker stops and hands over the rest of the file (`tail`), which is
 * then read sequentially with the scanner's own recovery rules.
 */

const QUOTE = 34
const LF = 10
const CR = 13
/** a quoted cell longer than this is an unbalanced quote, not data (the longest field is 200 characters) */
const MAX_QUOTED_RUN = 256 * 1024

export type CsvChunk = {kind: 'chunk'; bytes: Buffer} | {kind: 'tail'; from: number}

/**
 * `allocate` gives each chunk's buffer (whose ArrayBuffer is then transferred to a worker): the
 * caller may hand back buffers the workers returned, so that a large file does not churn through
 * fresh memory (each new ArrayBuffer costs page faults and pushes V8 towards full collections).
 */
export async function* csvByteChunks(
  path: string,
  from: number,
  chunkBytes: number,
  delimiter: string,
  allocate: (size: number) => Buffer = (size) => Buffer.allocUnsafeSlow(size),
): AsyncGenerator<CsvChunk> {
  const delim = delimiter.charCodeAt(0)
  const handle = await open(path, 'r')
  try {
    const {size} = await handle.stat()
    let position = from
    let carry: Buffer = Buffer.alloc(0)
    for (;;) {
      const block = allocate(carry.length + chunkBytes)
      carry.copy(block, 0)
      const {bytesRead} = await handle.read(block, carry.length, chunkBytes, position)
      position += bytesRead
      const filled = carry.length + bytesRead
      const eof = bytesRead === 0 || position >= size
      const boundary = eof ? filled : lastRecordEnd(block, filled, delim)
      if (boundary === undefined) {
        // an unbalanced quote, or one record bigger than a chunk: the sequential reader takes over here
        yield {kind: 'tail', from: position - filled}
        return
      }
      // the chunk's buffer is transferred to a worker (detached here): take the carry-over first
      const next = Buffer.from(block.subarray(boundary, filled))
      if (boundary > 0) yield {kind: 'chunk', bytes: block.subarray(0, boundary)}
      if (eof) return
      carry = next
    }
  } finally {
    await handle.close()
  }
}

/** a record longer than this (bytes) is surely over MAX_ROW_CHARS (a character is at most 4 UTF-8 bytes): the sequential reader reports it */
const MAX_RECORD_BYTES = 4 * MAX_ROW_CHARS

/**
 * End (after the LF) of the last complete record in buf[0..filled); 0 when none is complete yet
 * (read more); undefined when quotes look unbalanced or a record is too long for chunking.
 * Quotes count as the scanner counts them: only at the start of a field, with "" as an escape.
 */
function lastRecordEnd(buf: Buffer, filled: number, delimiter: number): number | undefined {
  let pos = 0
  let last = 0
  let open = fieldQuote(buf, 0, filled, delimiter)
  for (;;) {
    const nl = buf.indexOf(LF, pos)
    if (nl < 0 || nl >= filled) break
    if (open < 0 || nl < open) {
      last = nl + 1
      pos = nl + 1
      continue
    }
    const close = closingQuote(buf, open, filled)
    if (close === undefined) {
      if (filled - open > MAX_QUOTED_RUN) return undefined
      break // the quoted cell goes on in the next block
    }
    if (close - open > MAX_QUOTED_RUN) return undefined
    pos = close + 1
    open = fieldQuote(buf, pos, filled, delimiter)
  }
  if (last === 0 && filled > MAX_RECORD_BYTES) return undefined
  return last
}

/** The next quote that opens a field (at a record start or after a delimiter); -1 if none. */
function fieldQuote(buf: Buffer, from: number, filled: number, delimiter: number): number {
  for (let q = buf.indexOf(QUOTE, from); q >= 0 && q < filled; q = buf.indexOf(QUOTE, q + 1)) {
    const before = q === 0 ? LF : buf[q - 1]
    if (before === LF || before === CR || before === delimiter) return q
  }
  return -1
}

/** The quote that closes the field opened at `open`, skipping "" pairs; undefined if not in the block. */
function closingQuote(buf: Buffer, open: number, filled: number): number | undefined {
  for (let i = open + 1; ; ) {
    const q = buf.indexOf(QUOTE, i)
    if (q < 0 || q + 1 >= filled) return undefined
    if (buf[q + 1] !== QUOTE) return q
    i = q + 2
  }
}

/** Rows of the file from byte `from` (a record boundary), numbered from 1, read sequentially. */
export async function* csvTailBatches(
  path: string,
  from: number,
  encoding: string,
  delimiter: string,
  onIssue: (issue: ReaderIssue) => void,
): AsyncGenerator<{rows: SheetRow[]}> {
  let queue: SheetRow[] = []
  const scanner = new CsvScanner(delimiter, (row, cells) => queue.push({row, cells}), onIssue)
  const decoder = new TextDecoder(encoding)
  for await (const chunk of createReadStream(path, {start: from, highWaterMark: 256 << 10})) {
    scanner.push(decoder.decode(chunk as Buffer, {stream: true}))
    if (queue.length >= BATCH_ROWS) {
      const rows = queue
      queue = []
      yield {rows}
    }
  }
  scanner.push(decoder.decode())
  scanner.end()
  yield {rows: queue}
}

/**
 * Where the header record ends in the first bytes of a file (after the LF), and its row number
 * (blank lines before it count, as in the scanner). Undefined when the head does not hold it.
 */
export function csvHeaderEnd(head: Buffer, from: number, delimiter: string): {end: number; headerRow: number} | undefined {
  const delim = delimiter.charCodeAt(0)
  let row = 0
  for (let pos = from; pos < head.length; ) {
    let nl = head.indexOf(LF, pos)
    let open = fieldQuote(head, pos, head.length, delim)
    while (open >= 0 && nl >= 0 && open < nl) {
      const close = closingQuote(head, open, head.length)
      if (close === undefined) return undefined
      nl = head.indexOf(LF, close + 1)
      open = fieldQuote(head, close + 1, head.length, delim)
    }
    if (nl < 0) return undefined
    row++
    const blank = nl === pos || (nl === pos + 1 && head[pos] === CR)
    if (!blank) return {end: nl + 1, headerRow: row}
    pos = nl + 1
  }
  return undefined
}
