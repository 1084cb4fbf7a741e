import {createReadStream} from 'node:fs'
import {open} from 'node:fs/promises'
import {join, extname} from 'node:path'

import {UsageError} from '../errors/index.js'
import {privateWorkFolder} from '../runtime/private-temp.js'
import {readCsv} from './csv.js'
import type {ReadOptions, Sheet} from './types.js'

export type {ReadOptions, ReaderIssue, ReaderIssueCode, Sheet, SheetRow} from './types.js'

// the workbook readers are loaded only for workbooks: CSV runs never need them
const readXlsx: typeof import('./xlsx.js').readXlsx = async (path, opts) => (await import('./xlsx.js')).readXlsx(path, opts)
const readOds: typeof import('./ods.js').readOds = async (path, opts) => (await import('./ods.js')).readOds(path, opts)

const HEAD_BYTES = 64 * 1024
const ZIP_MAGIC = Buffer.from([0x50, 0x4b, 0x03, 0x04])
/** Compound File Binary: Excel 97–2003 .xls */
const OLE_MAGIC = Buffer.from([0xd0, 0xcf, 0x11, 0xe0])
const ODS_MIMETYPE = 'application/vnd.oasis.opendocument.spreadsheet'

/**
 * Opens a spreadsheet by its content, not its name: a `.csv` that is really an XLSX is read
 * as XLSX, a `.xlsx` that is really text is reported. `-` reads standard input.
 * The returned `close` removes any temporary copy (stdin holding a zip).
 */
export async function openSheet(source: string, opts: ReadOptions): Promise<Sheet & {close: () => Promise<void>}> {
  if (source === '-') return openStdin(opts)
  let head: Buffer
  try {
    head = await readHead(source)
  } catch (error) {
    throw new UsageError('INPUT_NOT_FOUND', {
      it: `Impossibile leggere il file ${source}: ${(error as NodeJS.ErrnoException).code ?? 'errore'}`,
      en: `Cannot read the file ${source}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
    }, {
      suggestions: [{it: 'Controlla il percorso del file e i permessi di lettura.', en: 'Check the file path and the read permissions.'}],
    })
  }
  const noop = async (): Promise<void> => {}
  const workbook = workbookFormat(head, source)
  if (workbook) {
    const sheet = workbook === 'ods' ? await readOds(source, opts) : await readXlsx(source, opts)
    return {...sheet, close: noop}
  }
  const ext = extname(source).toLowerCase()
  if (head.subarray(0, 4).equals(OLE_MAGIC) || ['.xlsx', '.xlsm', '.ods', '.xls'].includes(ext)) {
    // an old binary .xls, or a file named like a workbook that is not one
    opts.onIssue({row: 0, code: 'FILE_UNREADABLE', params: {format: head.subarray(0, 4).equals(OLE_MAGIC) ? 'XLS' : ext.slice(1).toUpperCase()}})
    return {info: {format: ext === '.ods' ? 'ods' : 'xlsx'}, header: [], headerRow: 0, batches: (async function* () {})(), close: noop}
  }
  const stream = createReadStream(source, {highWaterMark: 256 << 10})
  const sheet = await readCsv(stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>, head, {...opts, headIsWhole: head.length < HEAD_BYTES, path: source})
  return {...sheet, close: async () => void stream.destroy()}
}

/** A zip is an ODS when it says so (its mimetype comes first) or is named so; any other zip is read as XLSX. */
export function workbookFormat(head: Buffer, path: string): 'xlsx' | 'ods' | undefined {
  if (!head.subarray(0, 4).equals(ZIP_MAGIC)) return undefined
  return head.includes(ODS_MIMETYPE) || extname(path).toLowerCase() === '.ods' ? 'ods' : 'xlsx'
}

export async function readHead(path: string): Promise<Buffer> {
  const handle = await open(path, 'r')
  try {
    const buf = Buffer.alloc(HEAD_BYTES)
    const {bytesRead} = await handle.read(buf, 0, buf.length, 0)
    return buf.subarray(0, bytesRead)
  } finally {
    await handle.close()
  }
}

/** A workbook on stdin larger than this is refused (FILE_TOO_LARGE) rather than copied. */
const MAX_STDIN_WORKBOOK_BYTES = 2 * 2 ** 30

/**
 * stdin: CSV is streamed. A workbook (zip) needs its central directory, at its end, before any
 * sheet can be read, so it is copied as it is (still compressed) into a private folder of the
 * data folder — never $TMPDIR — that is removed when reading ends, on exit or interruption, and
 * swept by the next command after a kill -9 (runtime/private-temp.ts).
 */
async function openStdin(opts: ReadOptions): Promise<Sheet & {close: () => Promise<void>}> {
  const it = process.stdin[Symbol.asyncIterator]() as AsyncIterator<Buffer>
  const first = await it.next()
  const head: Buffer = first.done ? Buffer.alloc(0) : first.value
  if (head.subarray(0, 4).equals(ZIP_MAGIC)) {
    const temp = await privateWorkFolder()
    try {
      const path = join(temp.path, 'stdin')
      const complete = await copyStdin(head, it, path)
      if (!complete) {
        opts.onIssue({row: 0, code: 'FILE_TOO_LARGE', params: {format: 'XLSX', part: '-'}})
        await temp.remove()
        return {info: {format: 'xlsx'}, header: [], headerRow: 0, batches: (async function* () {})(), close: async () => {}}
      }
      const sheet = head.includes(ODS_MIMETYPE) ? await readOds(path, opts) : await readXlsx(path, opts)
      return {...sheet, close: temp.remove}
    } catch (error) {
      await temp.remove()
      throw error
    }
  }
  let replayed = first.done
  const chunks: AsyncIterator<Buffer> = {
    next: async () => {
      if (!replayed) {
        replayed = true
        return {done: false, value: head}
      }
      return it.next()
    },
    return: async () => it.return?.() ?? {done: true, value: undefined},
  }
  const sheet = await readCsv(chunks, head, opts)
  return {...sheet, close: async () => {}}
}

/** Copies stdin to a 0600 file; false (and stdin left unread) when it passes MAX_STDIN_WORKBOOK_BYTES. */
async function copyStdin(head: Buffer, rest: AsyncIterator<Buffer>, path: string): Promise<boolean> {
  const handle = await open(path, 'wx', 0o600)
  try {
    let written = 0
    for (let chunk: Buffer | undefined = head; chunk; ) {
      written += chunk.length
      if (written > MAX_STDIN_WORKBOOK_BYTES) return false
      await handle.write(chunk)
      const next = await rest.next()
      chunk = next.done ? undefined : next.value
    }
    return true
  } finally {
    await handle.close()
  }
}
