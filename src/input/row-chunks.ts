import {XmlSyntaxError} from './xml-scan.js'
import {INFLATE_PIECE} from './zip.js'

/**
 * Cuts a sheet's inflated XML into chunks of whole rows, so that worker threads can read them on
 * their own, as csv-chunks.ts does for CSV. Only native byte searches run here (the tags are
 * ASCII in UTF-8, so a cut never splits a character): the main thread inflates and cuts, the
 * workers scan (as latin1, xml-scan.ts: scanLatin1). The first chunks also hold what precedes the rows (styles, column
 * widths, other sheets): they are read where the header is looked for.
 */

/** Where a format's rows end, in bytes. */
export interface RowGrammar {
  /** the end of the last complete row in data (after its end tag, or a self-closed row); 0 if none */
  completeRowsEnd(data: Buffer): number
  /** the end of the rows themselves (after their closing tag) in data; -1 if not there */
  rowsEnd(data: Buffer): number
  /**
   * The document must not end before the rows do (then it was cut short). False while the rows
   * that matter have not begun: the document is handed over whole, for its reader to judge.
   */
  readonly endExpected: boolean
  /** told of each chunk cut from the data rowsEnd was last asked about, just before it is handed out */
  cut?(chunk: Buffer): void
}

/** room for one inflated piece (zip.ts: INFLATE_PIECE) past the chunk size */
const PIECE_ROOM = INFLATE_PIECE
/** bytes before the rows we are willing to hold while looking for where they start */
const MAX_HEAD_BYTES = 16 << 20
/** a row's XML longer than this is damage, not data (PendingRows holds the one-thread readers to the same) */
const MAX_ROW_BYTES = 4 * (16 << 20)
/**
 * The first chunk ends at its last complete row within this many bytes (when it has one): it is
 * read on the main thread, where the header is looked for, and the rows it holds are checked
 * there, in cold code. A full chunk there cost about 0.15 s of a 200,000-row workbook.
 */
const FIRST_CHUNK_BYTES = 64 << 10

/**
 * The XML in chunks of about `chunkBytes` that end after a complete row (the last one after the
 * end of the rows). `grammarOf` is asked, as bytes arrive, until it can tell how rows look
 * ('empty': the sheet has no rows at all). Errors of the inflate (bombs, caps, damage) are thrown
 * after the chunks read whole before them. `allocate` gives the buffer each chunk is read into
 * (its memory is then transferred to a worker); it may hand back buffers the workers returned.
 */
export async function* xmlRowChunks(
  inflated: AsyncGenerator<Buffer>,
  grammarOf: (head: Buffer) => RowGrammar | 'empty' | undefined,
  chunkBytes: number,
  allocate: (size: number) => Buffer = (size) => Buffer.allocUnsafeSlow(size),
): AsyncGenerator<Buffer> {
  // room for the piece that takes a block past chunkBytes: blocks are then all one size, and the
  // buffers the workers hand back fit the next ones
  const blockBytes = chunkBytes + PIECE_ROOM
  let block = allocate(blockBytes)
  let filled = 0
  let grammar: RowGrammar | undefined
  let limit = Math.min(chunkBytes, FIRST_CHUNK_BYTES)
  try {
    for await (const piece of inflated) {
      if (filled + piece.length > block.length) {
        const bigger = allocate(Math.max(block.length * 2, filled + piece.length))
        block.copy(bigger, 0, 0, filled)
        block = bigger
      }
      piece.copy(block, filled)
      filled += piece.length
      if (!grammar) {
        const found = grammarOf(block.subarray(0, filled))
        if (found === 'empty') {
          yield block.subarray(0, filled)
          return
        }
        if (!found) {
          if (filled > MAX_HEAD_BYTES) throw new XmlSyntaxError('rows not found')
          continue
        }
        grammar = found
      }
      if (filled < limit) continue
      const data = block.subarray(0, filled)
      // searched whole each time (about once per chunk): the grammar may only now know which end counts
      const end = grammar.rowsEnd(data)
      if (end >= 0) {
        yield cut(grammar, block.subarray(0, end))
        return // the rows are over: what follows them is not needed
      }
      // the first chunk: the rows in its first FIRST_CHUNK_BYTES (an inflated piece holds more), if any
      const boundary = (limit < chunkBytes && grammar.completeRowsEnd(data.subarray(0, limit))) || grammar.completeRowsEnd(data)
      limit = chunkBytes
      if (boundary === 0) {
        if (filled > MAX_ROW_BYTES) throw new XmlSyntaxError('row too long')
        continue
      }
      // the chunk's memory goes to a worker (detached once yielded): the start of the next row is copied out first
      const next = allocate(Math.max(blockBytes, 2 * (filled - boundary)))
      block.copy(next, 0, boundary, filled)
      const bytes = cut(grammar, block.subarray(0, boundary))
      filled -= boundary
      block = next
      yield bytes
    }
    const data = block.subarray(0, filled)
    const end = grammar ? grammar.rowsEnd(data) : -1
    if (end >= 0) {
      yield cut(grammar!, block.subarray(0, end))
      return
    }
    if (!grammar?.endExpected) {
      if (filled > 0) yield data
      return
    }
    // a document cut short: its whole rows, then the error
    const boundary = grammar.completeRowsEnd(data)
    if (boundary > 0) yield cut(grammar, block.subarray(0, boundary))
    throw new XmlSyntaxError('document cut short')
  } finally {
    await inflated.return(undefined)
  }
}

function cut(grammar: RowGrammar, chunk: Buffer): Buffer {
  grammar.cut?.(chunk)
  return chunk
}

/**
 * The chunks with the next one always on its way: while the consumer waits for a worker, the part
 * goes on being inflated (a stream that is not read from stops inflating), so the main thread's
 * inflating and cutting overlap the workers' reading. An error comes after the chunks before it,
 * as from the source.
 */
export async function* readAhead(source: AsyncGenerator<Buffer>): AsyncGenerator<Buffer> {
  let next = source.next()
  next.catch(() => {}) // awaited below; it must not count as unhandled meanwhile
  try {
    for (;;) {
      const item = await next
      if (item.done) return
      next = source.next()
      next.catch(() => {})
      yield item.value
    }
  } finally {
    // the generator takes the return after the read on its way (and its error is of no use now)
    await next.catch(() => undefined)
    await source.return(undefined)
  }
}
