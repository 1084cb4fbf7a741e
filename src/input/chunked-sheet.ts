import {MAX_ROWS, reportSheetNotFound, type RowParser} from './workbook.js'
import type {ReadOptions} from './types.js'
import type {WorksheetShare} from './xlsx.js'

/**
 * A large workbook read in chunks of whole rows (row-chunks.ts): the main thread reads the first
 * chunks itself (the header is there) with the format's parser, then hands the others to worker
 * threads, saying where each starts. The format readers are loaded only for workbooks.
 */

/** What a worker reads a sheet's chunks with. */
export type SheetReader = {kind: 'xlsx'; worksheet: WorksheetShare} | {kind: 'ods'}

/** The chosen sheet of a workbook, ready to be read in chunks; undefined (and said why) when it cannot be. */
export async function openChunkedSheet(path: string, format: 'xlsx' | 'ods', reader: ReadOptions, chunkBytes: number, allocate: (size: number) => Buffer): Promise<ChunkedSheet | undefined> {
  return (format === 'xlsx' ? chunkedXlsx : chunkedOds)(path, reader, chunkBytes, allocate)
}

/** A workbook read in chunks: what the main thread and the workers need from its format. */
export interface ChunkedSheet {
  /** the sheet's XML, cut after whole rows */
  chunks: AsyncGenerator<Buffer>
  /** reads the first chunks here, where the header is looked for */
  parser: RowParser
  sheetName: () => string | undefined
  /** the document ended without the rows: a format may have more to say (ODS: no such table) */
  noMoreRows?: (markFailed: () => void) => void
  /** what the workers read with (asked once the header has been found here) */
  workerReader: () => SheetReader
  /** where a chunk given to the workers starts: the number of the row before it; and its own last row */
  where: (chunk: Buffer) => {lastRowBefore: number; lastRow: number; prefix?: string}
}

async function chunkedXlsx(path: string, reader: ReadOptions, chunkBytes: number, allocate: (size: number) => Buffer): Promise<ChunkedSheet | undefined> {
  const {openXlsxWorksheet, shareWorksheet, WorksheetParser} = await import('./xlsx.js')
  const {worksheetByteChunks, WorksheetRows} = await import('./xlsx-chunks.js')
  const sheet = await openXlsxWorksheet(path, reader)
  if (!sheet.readable) return undefined
  const parser = new WorksheetParser(sheet.strings, sheet.styles, sheet.date1904)
  let rows: InstanceType<typeof WorksheetRows> | undefined
  let lastRow = 0
  return {
    chunks: worksheetByteChunks(sheet, chunkBytes, allocate),
    parser,
    sheetName: () => sheet.name,
    workerReader: () => {
      rows = new WorksheetRows(parser.prefix ?? '')
      lastRow = parser.lastRow
      return {kind: 'xlsx', worksheet: shareWorksheet(sheet)}
    },
    where: (chunk) => {
      const lastRowBefore = lastRow
      lastRow = rows!.lastRowIn(chunk, lastRowBefore)
      return {lastRowBefore, lastRow, prefix: rows!.prefix}
    },
  }
}

async function chunkedOds(path: string, reader: ReadOptions, chunkBytes: number, allocate: (size: number) => Buffer): Promise<ChunkedSheet | undefined> {
  const {contentByteChunks, openOdsContent, OdsContentParser, OdsTableRows} = await import('./ods.js')
  const opened = await openOdsContent(path, reader)
  if (!opened) return undefined
  const parser = new OdsContentParser(reader.sheet)
  const rows = new OdsTableRows()
  let lastRow = 0
  return {
    chunks: contentByteChunks(opened.zip, opened.content, rows, chunkBytes, allocate),
    parser,
    sheetName: () => parser.sheetName,
    noMoreRows: (markFailed) => {
      if (parser.sheetName !== undefined) return
      markFailed()
      reportSheetNotFound(reader, reader.sheet ?? '1', parser.sheetNames)
    },
    workerReader: () => {
      // from here on the selected table's end is the end of the rows
      rows.inTable = true
      lastRow = parser.rowsRead
      return {kind: 'ods'}
    },
    where: (chunk) => {
      const lastRowBefore = lastRow
      lastRow += rows.rowsIn(chunk)
      return {lastRowBefore, lastRow: Math.min(lastRow, MAX_ROWS)}
    },
  }
}
