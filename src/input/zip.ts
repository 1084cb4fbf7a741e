/**
 * A small zip reader for workbooks (XLSX and ODS are zips): the central directory is read from
 * the end of the file, each part is inflated as a stream (node:zlib) straight from its local
 * entry. Sizes come from the central directory, so entries written with data descriptors (sizes
 * after the data, as streaming writers do) read like any other. Nothing is written to disk.
 *
 * Every part is inflated under two caps, because a workbook is untrusted input: its inflated
 * bytes, and its inflate ratio once past a few MB (a deflate bomb reaches ~1000:1, real sheets
 * stay far below 100:1). Either one ends the part with a ZipError at once.
 */
import {createReadStream} from 'node:fs'
import {open, type FileHandle} from 'node:fs/promises'
import {createInflateRaw, crc32} from 'node:zlib'

export type ZipFailure =
  | 'not-zip' // no zip structure at all
  | 'truncated' // starts like a zip, but its end (the central directory) or some data is missing
  | 'corrupt' // structure or data that does not add up (bad deflate data, CRC, sizes)
  | 'unsupported' // encrypted entries, compression methods other than store/deflate
  | 'ZIP_BOMB' // a part inflates beyond the ratio cap
  | 'FILE_TOO_LARGE' // a part inflates beyond the byte cap

export class ZipError extends Error {
  constructor(
    readonly reason: ZipFailure,
    /** the part concerned, when there is one (a path inside the zip: never personal data) */
    readonly part?: string,
  ) {
    super(`zip: ${reason}${part ? ` (${part})` : ''}`)
    this.name = 'ZipError'
  }
}

export interface ZipEntry {
  name: string
  method: number
  flags: number
  crc: number
  compressedSize: number
  uncompressedSize: number
  localHeaderOffset: number
}

export interface InflateLimits {
  /** inflated bytes allowed for this part */
  maxBytes: number
  /** inflated ÷ compressed allowed once more than RATIO_GRACE_BYTES are out */
  maxRatio?: number
}

/** Below this, any ratio is fine: small parts (a blank styles.xml) compress extremely well. */
const RATIO_GRACE_BYTES = 8 << 20
export const DEFAULT_MAX_RATIO = 100
const READ_CHUNK = 64 << 10
/**
 * Inflated bytes per piece. Each piece costs a round trip through the stream machinery on the main
 * thread, which also cuts the rows for the workers: 64 KB pieces took twice the time of 1 MB ones
 * to inflate a 600 MB content.xml, and on the 3 GB content.xml of a 1,000,000-row ODS 1 MB pieces
 * made `validate` 13 % faster than 256 KB ones (XLSX: the same; 2 MB: no better; 3 MB more at the
 * peak). The caps are still checked every megabyte.
 */
export const INFLATE_PIECE = 1 << 20

const EOCD = 0x06054b50
const EOCD64 = 0x06064b50
const EOCD64_LOCATOR = 0x07064b50
const CENTRAL = 0x02014b50
const LOCAL = 0x04034b50
const EOCD_MIN = 22
const MAX_COMMENT = 0xffff
/** more entries than any workbook has: the directory is read whole, so it is bounded */
const MAX_ENTRIES = 100_000
const MAX_DIRECTORY_BYTES = 64 << 20

export class ZipArchive {
  private constructor(
    private readonly path: string,
    private readonly size: number,
    readonly entries: ZipEntry[],
  ) {}

  /** Reads the central directory; throws ZipError (not-zip, truncated, corrupt, unsupported). */
  static async open(path: string): Promise<ZipArchive> {
    const handle = await open(path, 'r')
    try {
      const {size} = await handle.stat()
      const directory = await readDirectory(handle, size)
      return new ZipArchive(path, size, directory)
    } finally {
      await handle.close()
    }
  }

  find(name: string): ZipEntry | undefined {
    return this.entries.find((e) => e.name === name)
  }

  /** A small part, whole, in memory (workbook.xml, rels, styles): bounded by maxBytes. */
  async read(entry: ZipEntry, limits: InflateLimits): Promise<Buffer> {
    const chunks: Buffer[] = []
    for await (const chunk of this.inflate(entry, limits)) chunks.push(chunk)
    return Buffer.concat(chunks)
  }

  /** The part's inflated bytes, chunk by chunk, under the caps; checked against its CRC at the end. */
  async *inflate(entry: ZipEntry, limits: InflateLimits): AsyncGenerator<Buffer> {
    if (entry.flags & 1) throw new ZipError('unsupported', entry.name) // encrypted
    if (entry.method !== 0 && entry.method !== 8) throw new ZipError('unsupported', entry.name)
    // the declared size is a promise the data must keep: over the cap, refuse before inflating
    if (entry.uncompressedSize > limits.maxBytes) throw new ZipError('FILE_TOO_LARGE', entry.name)
    const start = await this.dataStart(entry)
    if (start + entry.compressedSize > this.size) throw new ZipError('truncated', entry.name)
    // an empty stored part: nothing to read (a zero-length read range is not a range at all)
    if (entry.compressedSize === 0) {
      if (entry.uncompressedSize !== 0 || entry.method === 8) throw new ZipError('corrupt', entry.name)
      return
    }
    const maxRatio = limits.maxRatio ?? DEFAULT_MAX_RATIO
    let read = 0
    let out = 0
    let crc = 0
    const source = createReadStream(this.path, {start, end: start + entry.compressedSize - 1, highWaterMark: READ_CHUNK})
    source.on('data', (chunk) => (read += chunk.length))
    const stream = entry.method === 8 ? source.pipe(createInflateRaw({chunkSize: INFLATE_PIECE})) : source
    if (stream !== source) source.on('error', (err) => stream.destroy(err))
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        out += chunk.length
        if (out > RATIO_GRACE_BYTES && out > maxRatio * Math.max(read, 1)) throw new ZipError('ZIP_BOMB', entry.name)
        // more than declared: a lying header (the cap applied to the declared size)
        if (out > entry.uncompressedSize) throw new ZipError('corrupt', entry.name)
        crc = crc32(chunk, crc)
        yield chunk
      }
    } catch (err) {
      if (err instanceof ZipError) throw err
      throw new ZipError('corrupt', entry.name) // bad deflate data; the zlib message says nothing more useful
    } finally {
      source.destroy()
      stream.destroy()
    }
    if (out !== entry.uncompressedSize || (crc >>> 0) !== entry.crc) throw new ZipError('corrupt', entry.name)
  }

  private async dataStart(entry: ZipEntry): Promise<number> {
    const handle = await open(this.path, 'r')
    try {
      const header = Buffer.alloc(30)
      const {bytesRead} = await handle.read(header, 0, 30, entry.localHeaderOffset)
      if (bytesRead < 30) throw new ZipError('truncated', entry.name)
      if (header.readUInt32LE(0) !== LOCAL) throw new ZipError('corrupt', entry.name)
      return entry.localHeaderOffset + 30 + header.readUInt16LE(26) + header.readUInt16LE(28)
    } finally {
      await handle.close()
    }
  }
}

async function readAt(handle: FileHandle, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(length)
  const {bytesRead} = await handle.read(buf, 0, length, position)
  return buf.subarray(0, bytesRead)
}

async function readDirectory(handle: FileHandle, size: number): Promise<ZipEntry[]> {
  const head = await readAt(handle, 0, 4)
  const looksLikeZip = head.length === 4 && head.readUInt32LE(0) === LOCAL
  const tailStart = Math.max(0, size - EOCD_MIN - MAX_COMMENT)
  const tail = await readAt(handle, tailStart, size - tailStart)
  let at = -1
  for (let i = tail.length - EOCD_MIN; i >= 0; i--) {
    if (tail.readUInt32LE(i) === EOCD) {
      at = i
      break
    }
  }
  if (at < 0) throw new ZipError(looksLikeZip ? 'truncated' : 'not-zip')

  let count = tail.readUInt16LE(at + 10)
  let dirSize = tail.readUInt32LE(at + 12)
  let dirOffset = tail.readUInt32LE(at + 16)
  if (count === 0xffff || dirSize === 0xffffffff || dirOffset === 0xffffffff) {
    // zip64: the real values are in the zip64 end record, found through its locator
    const locatorAt = tailStart + at - 20
    const locator = locatorAt >= 0 ? await readAt(handle, locatorAt, 20) : Buffer.alloc(0)
    if (locator.length < 20 || locator.readUInt32LE(0) !== EOCD64_LOCATOR) throw new ZipError('corrupt')
    const record = await readAt(handle, Number(locator.readBigUInt64LE(8)), 56)
    if (record.length < 56 || record.readUInt32LE(0) !== EOCD64) throw new ZipError('corrupt')
    count = Number(record.readBigUInt64LE(32))
    dirSize = Number(record.readBigUInt64LE(40))
    dirOffset = Number(record.readBigUInt64LE(48))
  }
  if (count > MAX_ENTRIES || dirSize > MAX_DIRECTORY_BYTES) throw new ZipError('unsupported')
  if (dirOffset + dirSize > size) throw new ZipError(looksLikeZip ? 'truncated' : 'not-zip')

  const dir = await readAt(handle, dirOffset, dirSize)
  const entries: ZipEntry[] = []
  let p = 0
  for (let i = 0; i < count; i++) {
    if (p + 46 > dir.length || dir.readUInt32LE(p) !== CENTRAL) throw new ZipError('corrupt')
    const nameLength = dir.readUInt16LE(p + 28)
    const extraLength = dir.readUInt16LE(p + 30)
    const commentLength = dir.readUInt16LE(p + 32)
    const flags = dir.readUInt16LE(p + 8)
    const entry: ZipEntry = {
      // bit 11: UTF-8 names; the parts a workbook needs are ASCII either way
      name: dir.toString(flags & 0x800 ? 'utf8' : 'latin1', p + 46, p + 46 + nameLength),
      method: dir.readUInt16LE(p + 10),
      flags,
      crc: dir.readUInt32LE(p + 16),
      compressedSize: dir.readUInt32LE(p + 20),
      uncompressedSize: dir.readUInt32LE(p + 24),
      localHeaderOffset: dir.readUInt32LE(p + 42),
    }
    readZip64Extra(entry, dir.subarray(p + 46 + nameLength, p + 46 + nameLength + extraLength))
    if (entry.localHeaderOffset + 30 > size) throw new ZipError('truncated', entry.name)
    entries.push(entry)
    p += 46 + nameLength + extraLength + commentLength
  }
  return entries
}

/** Sizes and offset saturated at 0xFFFFFFFF are in the zip64 extra field (id 1), in this order. */
function readZip64Extra(entry: ZipEntry, extra: Buffer): void {
  for (let p = 0; p + 4 <= extra.length; ) {
    const id = extra.readUInt16LE(p)
    const length = extra.readUInt16LE(p + 2)
    if (id === 1) {
      let q = p + 4
      const next = (): number => {
        if (q + 8 > p + 4 + length) throw new ZipError('corrupt', entry.name)
        const value = Number(extra.readBigUInt64LE(q))
        q += 8
        return value
      }
      if (entry.uncompressedSize === 0xffffffff) entry.uncompressedSize = next()
      if (entry.compressedSize === 0xffffffff) entry.compressedSize = next()
      if (entry.localHeaderOffset === 0xffffffff) entry.localHeaderOffset = next()
      return
    }
    p += 4 + length
  }
}
