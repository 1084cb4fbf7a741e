import {closeSync, openSync, readSync} from 'node:fs'
import {isUtf8} from 'node:buffer'

import {BATCH_ROWS, MAX_ROW_CHARS, type ReadOptions, type ReaderIssue, type Sheet, type SheetRow} from './types.js'

/**
 * CSV/TSV reader built for throughput: a hand-written scanner over decoded chunks (csv-parse
 * reads ~70k rows/s here, too slow for DESIGN §11), with the behaviour Excel users expect:
 * sniffed delimiter and encoding, quoted fields with embedded newlines, CRLF/LF/CR line ends,
 * row numbers as the spreadsheet shows them (one record = one row, blank lines counted).
 */

const QUOTE = 34 // "
const LF = 10
const CR = 13
const DELIMITERS = [',', ';', '\t', '|'] as const

export interface CsvSniff {
  encoding: 'utf-8' | 'utf-16le' | 'utf-16be' | 'windows-1252'
  /** bytes to skip at the start (BOM) */
  bomLength: number
  binary: boolean
}

/** Encoding from the first bytes: BOMs, UTF-16 without BOM, valid UTF-8, else Windows-1252 (what Excel writes). */
export function sniffEncoding(head: Buffer, whole = false): CsvSniff {
  if (head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) return {encoding: 'utf-8', bomLength: 3, binary: false}
  if (head[0] === 0xff && head[1] === 0xfe) return {encoding: 'utf-16le', bomLength: 2, binary: false}
  if (head[0] === 0xfe && head[1] === 0xff) return {encoding: 'utf-16be', bomLength: 2, binary: false}
  const sample = head.subarray(0, 8192)
  let nulEven = 0
  let nulOdd = 0
  let control = 0
  for (let i = 0; i < sample.length; i++) {
    const b = sample[i]
    if (b === 0) {
      if (i % 2 === 0) nulEven++
      else nulOdd++
    }
    if (b < 9 || (b > 13 && b < 32)) control++
  }
  const half = sample.length / 2
  if (nulOdd > half * 0.4 && nulEven === 0) return {encoding: 'utf-16le', bomLength: 0, binary: false}
  if (nulEven > half * 0.4 && nulOdd === 0) return {encoding: 'utf-16be', bomLength: 0, binary: false}
  // a stray NUL in a text export is a bad cell (reported on its row); many control bytes are a binary file
  if (control * 100 > sample.length) return {encoding: 'utf-8', bomLength: 0, binary: true}
  return {encoding: isUtf8Prefix(head, whole) ? 'utf-8' : 'windows-1252', bomLength: 0, binary: false}
}

/** Valid UTF-8, tolerating a multi-byte character cut at the end of a sample that is not the whole input. */
function isUtf8Prefix(head: Buffer, whole: boolean): boolean {
  try {
    new TextDecoder('utf-8', {fatal: true}).decode(head, {stream: !whole})
    return true
  } catch {
    return false
  }
}

/**
 * Whether a whole file is valid UTF-8 (checked in blocks with the native validator): a
 * Windows-1252 export whose first accented name is at row 500 must not be read as UTF-8.
 */
export function isFileUtf8(path: string, from = 0): boolean {
  const fd = openSync(path, 'r')
  try {
    const block = Buffer.allocUnsafe(4 << 20)
    let carry = 0
    let position = from
    for (;;) {
      const n = readSync(fd, block, carry, block.length - carry, position)
      position += n
      const filled = carry + n
      if (n === 0) return carry === 0 || isUtf8(block.subarray(0, carry))
      const cut = completeUtf8Length(block, filled)
      if (!isUtf8(block.subarray(0, cut))) return false
      block.copy(block, 0, cut, filled)
      carry = filled - cut
    }
  } finally {
    closeSync(fd)
  }
}

/** Length of buf[0..filled) without a multi-byte character cut at its end. */
function completeUtf8Length(buf: Buffer, filled: number): number {
  for (let back = 1; back <= 3 && back <= filled; back++) {
    const b = buf[filled - back]
    if ((b & 0xc0) !== 0x80) {
      // a lead byte: how long its character is
      const length = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1
      return length > back ? filled - back : filled
    }
  }
  return filled
}

/** For a file, a UTF-8 guess from the first bytes is confirmed on the whole file (BOMs are certain). */
export function refineEncoding(sniff: CsvSniff, path: string | undefined): CsvSniff {
  if (!path || sniff.binary || sniff.encoding !== 'utf-8' || sniff.bomLength > 0) return sniff
  return isFileUtf8(path) ? sniff : {...sniff, encoding: 'windows-1252'}
}

/** The delimiter that occurs most often outside quotes in the header line. */
export function sniffDelimiter(firstLine: string): string {
  const counts = new Map<string, number>(DELIMITERS.map((d) => [d, 0]))
  let inQuotes = false
  for (const ch of firstLine) {
    if (ch === '"') inQuotes = !inQuotes
    else if (!inQuotes && counts.has(ch)) counts.set(ch, counts.get(ch)! + 1)
  }
  let best = ','
  let bestCount = 0
  for (const [d, n] of counts) {
    if (n > bestCount) {
      best = d
      bestCount = n
    }
  }
  return best
}

/** quoted cells shorter than this are never checked for swallowed records (the longest field is 200 characters) */
const SWALLOW_CHECK_CHARS = 256

/** records start this wide at most: one junk line of delimiters must not widen every later record */
const MAX_BLANK_CELLS = 1024

/**
 * Incremental scanner. `push` takes decoded text; complete records go to `onRecord`.
 * Keeps at most one incomplete record (bounded by MAX_ROW_CHARS) between pushes.
 */
export class CsvScanner {
  private pending = ''
  private row = 0
  private suspect = false
  /** skipping the rest of an over-long record: quote state carried across chunks */
  private skipping: {inQuotes: boolean} | undefined
  private readonly delim: number
  /** '' for each cell of the widest record so far: copied to start each record */
  private blank: string[] = []

  constructor(
    readonly delimiter: string,
    private readonly onRecord: (row: number, cells: string[]) => void,
    private readonly onIssue: (issue: ReaderIssue) => void,
  ) {
    this.delim = delimiter.charCodeAt(0)
  }

  /** rows seen so far, blank lines included */
  get rows(): number {
    return this.row
  }

  push(text: string): void {
    // NUL bytes and undecodable bytes are rare: look for them per chunk, then per row only if present
    this.suspect ||= hasBadCharacters(text)
    let buf = this.pending + text
    let pos = 0
    if (this.skipping) {
      pos = this.skipOverLongRecord(buf, 0)
      if (pos < 0) {
        this.pending = ''
        return
      }
    }
    const consumed = this.scan(buf, pos, false)
    buf = buf.slice(consumed)
    if (buf.length > MAX_ROW_CHARS) {
      buf = this.handleOverLong(buf)
    }
    this.pending = buf
  }

  end(): void {
    if (this.skipping) {
      this.skipping = undefined
      this.pending = ''
      return
    }
    if (this.pending.length > 0) this.scan(this.pending, 0, true)
    this.pending = ''
  }

  /** Parses whole records from `pos`; returns where the first incomplete record starts. */
  private scan(buf: string, pos: number, final: boolean): number {
    const len = buf.length
    const delim = this.delim
    records: while (pos < len) {
      const recordStart = pos
      // sized like the widest record so far: cells are set in place rather than grown push by push
      const cells = this.blank.slice()
      let n = 0
      let complete = false
      // one record
      for (;;) {
        let c = buf.charCodeAt(pos)
        if (c === QUOTE) {
          const quoted = this.readQuoted(buf, pos, final)
          if (quoted === undefined) {
            if (!final) return recordStart
            // end of input inside quotes: an unbalanced quote
            pos = this.recoverUnterminatedQuote(buf, recordStart)
            continue records
          }
          if (quoted.value.length > SWALLOW_CHECK_CHARS && this.swallowedRecords(quoted.value)) {
            pos = this.recoverUnterminatedQuote(buf, recordStart)
            continue records
          }
          cells[n++] = quoted.value
          pos = quoted.end
          c = pos < len ? buf.charCodeAt(pos) : -1
        } else {
          const start = pos
          while (pos < len) {
            c = buf.charCodeAt(pos)
            if (c === delim || c === LF || c === CR) break
            pos++
          }
          if (pos >= len) {
            if (!final) return recordStart
            cells[n++] = buf.slice(start, pos)
            complete = true
            break
          }
          cells[n++] = buf.slice(start, pos)
        }
        if (c === delim) {
          pos++
          if (pos >= len) {
            if (!final) return recordStart
            cells[n++] = ''
            complete = true
            break
          }
          continue
        }
        if (c === LF) {
          pos++
          complete = true
          break
        }
        if (c === CR) {
          if (pos + 1 >= len && !final) return recordStart
          pos += buf.charCodeAt(pos + 1) === LF ? 2 : 1
          complete = true
          break
        }
        // end of input right after a quoted field
        complete = true
        break
      }
      if (!complete) continue
      if (n < cells.length) cells.length = n
      else if (n > this.blank.length && n <= MAX_BLANK_CELLS) this.blank = cells.map(() => '')
      this.emit(cells, pos - recordStart)
    }
    return pos
  }

  /** A quoted field at `pos`; undefined when its closing quote is not in `buf` yet. */
  private readQuoted(buf: string, pos: number, final: boolean): {value: string; end: number} | undefined {
    let i = pos + 1
    let hasEscapes = false
    for (;;) {
      const q = buf.indexOf('"', i)
      if (q < 0) return undefined
      if (q + 1 < buf.length && buf.charCodeAt(q + 1) === QUOTE) {
        hasEscapes = true
        i = q + 2
        continue
      }
      if (q + 1 >= buf.length && !final) return undefined // might be the first half of ""
      let value = buf.slice(pos + 1, q)
      if (hasEscapes) value = value.replaceAll('""', '"')
      // Excel keeps text after a closing quote ("abc"def → abcdef): be as lenient
      let end = q + 1
      const len = buf.length
      if (end < len) {
        const delim = this.delim
        let c = buf.charCodeAt(end)
        if (c !== delim && c !== LF && c !== CR) {
          const tailStart = end
          while (end < len) {
            c = buf.charCodeAt(end)
            if (c === delim || c === LF || c === CR) break
            end++
          }
          if (end >= len && !final) return undefined
          value += buf.slice(tailStart, end)
        }
      }
      return {value, end}
    }
  }

  /**
   * A quoted cell that holds whole lines of delimited cells is a quote left open that swallowed the
   * records after it (until some later quote closed it), not data: no field of the layout is
   * longer than 200 characters, and no note has a record's worth of delimiters on one line.
   */
  private swallowedRecords(value: string): boolean {
    const first = value.indexOf('\n')
    if (first < 0) return false
    const needed = Math.max(2, this.blank.length - 1)
    let count = 0
    for (let i = first + 1; i < value.length; i++) {
      const c = value.charCodeAt(i)
      if (c === this.delim) {
        if (++count >= needed) return true
      } else if (c === LF) count = 0
    }
    return false
  }

  private emit(cells: string[], length = 0): void {
    this.row++
    // a record longer than the limit is reported the same however the input was cut into chunks
    if (length > MAX_ROW_CHARS) {
      this.onIssue({row: this.row, code: 'ROW_TOO_LONG', params: {max: MAX_ROW_CHARS}})
      return
    }
    // a blank line, or a line of delimiters only (Excel writes them for formatted empty rows),
    // is a row the spreadsheet shows but not a record
    if (cells[0].length === 0 && isBlank(cells)) return
    if (this.suspect) {
      const column = cells.findIndex(hasBadCharacters)
      if (column >= 0) this.onIssue({row: this.row, code: 'INVALID_CHARACTER', params: {column: column + 1}})
    }
    this.onRecord(this.row, cells)
  }

  /**
   * An opening quote that never closes would swallow the rest of the file. Report it and read
   * that line again with quotes taken literally, so the rows after it are not lost.
   */
  private recoverUnterminatedQuote(buf: string, recordStart: number): number {
    this.onIssue({row: this.row + 1, code: 'UNTERMINATED_QUOTE'})
    let lineEnd = buf.indexOf('\n', recordStart)
    if (lineEnd < 0) lineEnd = buf.length
    let line = buf.slice(recordStart, lineEnd)
    if (line.endsWith('\r')) line = line.slice(0, -1)
    this.emit(line.split(String.fromCharCode(this.delim)))
    return lineEnd + 1
  }

  /** `buf` holds one record longer than MAX_ROW_CHARS: an unbalanced quote, or a row too long to be data. */
  private handleOverLong(buf: string): string {
    if (buf.charCodeAt(0) === QUOTE || this.startsQuotedFieldLate(buf)) {
      const firstLineEnd = buf.indexOf('\n')
      if (firstLineEnd >= 0 && firstLineEnd < MAX_ROW_CHARS) {
        const next = this.recoverUnterminatedQuote(buf, 0)
        const rest = buf.slice(next)
        const consumed = this.scan(rest, 0, false)
        const left = rest.slice(consumed)
        return left.length > MAX_ROW_CHARS ? this.handleOverLong(left) : left
      }
    }
    this.row++
    this.onIssue({row: this.row, code: 'ROW_TOO_LONG', params: {max: MAX_ROW_CHARS}})
    this.skipping = {inQuotes: false}
    const next = this.skipOverLongRecord(buf, 0)
    if (next < 0) return ''
    const rest = buf.slice(next)
    const consumed = this.scan(rest, 0, false)
    return rest.slice(consumed)
  }

  /** True when some field of the first line opens a quote (e.g. `a;"b…`). */
  private startsQuotedFieldLate(buf: string): boolean {
    const firstLineEnd = buf.indexOf('\n')
    const line = firstLineEnd < 0 ? buf : buf.slice(0, firstLineEnd)
    const d = String.fromCharCode(this.delim)
    return line.includes(d + '"')
  }

  /** Advances past the end of the record being skipped; -1 if it goes on past `buf`. */
  private skipOverLongRecord(buf: string, pos: number): number {
    const state = this.skipping!
    const len = buf.length
    while (pos < len) {
      const c = buf.charCodeAt(pos)
      if (c === QUOTE) state.inQuotes = !state.inQuotes
      else if (!state.inQuotes && (c === LF || c === CR)) {
        this.skipping = undefined
        return c === CR && buf.charCodeAt(pos + 1) === LF ? pos + 2 : pos + 1
      }
      pos++
    }
    return -1
  }
}

/**
 * Reads CSV from a byte stream. `chunks` yields the whole input, starting with the bytes in
 * `head` (used only for sniffing).
 */
export async function readCsv(chunks: AsyncIterator<Buffer>, head: Buffer, opts: ReadOptions & {headIsWhole?: boolean; path?: string}): Promise<Sheet> {
  const sniff = refineEncoding(sniffEncoding(head, opts.headIsWhole), opts.path)
  if (sniff.binary) {
    opts.onIssue({row: 0, code: 'FILE_BINARY'})
    await chunks.return?.()
    return emptySheet(sniff.encoding)
  }
  const decoder = new TextDecoder(sniff.encoding)

  // Decode until the header record is complete (it may contain quoted newlines).
  let queue: SheetRow[] = []
  let header: string[] | undefined
  let headerRow = 1
  let scanner: CsvScanner | undefined
  let text = ''
  let skipBom = sniff.bomLength
  let done = false
  const onRecord = (row: number, cells: string[]): void => {
    if (header === undefined) {
      header = cells
      headerRow = row
      return
    }
    queue.push({row, cells})
  }
  while (!done && header === undefined) {
    const next = await chunks.next()
    if (next.done) {
      done = true
      text += decoder.decode()
    } else {
      let buf = next.value
      if (skipBom > 0) {
        buf = buf.subarray(skipBom)
        skipBom = 0
      }
      text += decoder.decode(buf, {stream: true})
    }
    if (scanner === undefined) {
      const nl = text.search(/\r|\n/)
      if (nl < 0 && !done && text.length < MAX_ROW_CHARS) continue
      scanner = new CsvScanner(sniffDelimiter(nl < 0 ? text : text.slice(0, nl)), onRecord, opts.onIssue)
    }
    scanner.push(text)
    text = ''
    if (done) scanner.end()
  }
  if (header === undefined) {
    opts.onIssue({row: 0, code: 'FILE_EMPTY'})
    return emptySheet(sniff.encoding)
  }
  const activeScanner = scanner!
  const delimiter = activeScanner.delimiter

  async function* batches(): AsyncGenerator<SheetRow[]> {
    while (!done) {
      while (queue.length < BATCH_ROWS && !done) {
        const next = await chunks.next()
        let chunkText: string
        if (next.done) {
          done = true
          chunkText = decoder.decode()
        } else {
          chunkText = decoder.decode(next.value, {stream: true})
        }
        activeScanner.push(chunkText)
        if (done) activeScanner.end()
      }
      if (queue.length > 0) {
        const out = queue
        queue = []
        yield out
      }
    }
    if (queue.length > 0) {
      const out = queue
      queue = []
      yield out
    }
  }

  return {info: {format: 'csv', encoding: sniff.encoding, delimiter}, header, headerRow, batches: batches()}
}

function isBlank(cells: string[]): boolean {
  for (const c of cells) if (c.trim() !== '') return false
  return true
}

function hasBadCharacters(text: string): boolean {
  return text.includes('\u0000') || text.includes('\uFFFD')
}

function emptySheet(encoding: string): Sheet {
  return {info: {format: 'csv', encoding}, header: [], headerRow: 0, batches: (async function* () {})()}
}

