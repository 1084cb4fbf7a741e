import {parentPort} from 'node:worker_threads'

import {flowById} from '../flows/index.js'
import {CsvScanner} from '../input/csv.js'
import type {SheetReader} from '../input/chunked-sheet.js'
import {OdsContentParser} from '../input/ods.js'
import {acceptRow, dataCells, MAX_REPEATED_CELLS, type RawRow} from '../input/workbook.js'
import {scanLatin1} from '../input/xml-scan.js'
import {WorksheetParser} from '../input/xlsx.js'
import {compileMapping, type Template} from '../mapping/index.js'
import {preloadTables} from '../tables/index.js'
import {applyUserNomenclatore} from '../tables/user-nomenclatore.js'
import {compileRowPipeline, type ChunkResult, type RowAccumulator, type RowPipeline, type RowPipelineOptions} from './rows.js'

/**
 * Worker thread for large files: reads a chunk of bytes that ends at a record boundary (a CSV
 * record, decoded; a row of an XLSX worksheet or an ODS table, scanned as latin1), and runs the row
 * pipeline on its rows.
 * CSV rows are numbered from 1 within the chunk, and the main thread adds the offset; a sheet's
 * rows carry their own numbers. The main thread does the cross-row checks in order.
 */

export interface WorkerInit {
  flow: string
  template?: Template
  header: string[]
  format: 'csv' | 'xlsx' | 'ods'
  reader: {kind: 'csv'; encoding: string; delimiter: string} | SheetReader
  render: RowPipelineOptions['render']
  currentYear: number
  currentMonth: number
  nomenclatore?: string
}

/** What a worker is sent: first its init, then chunks. */
export type WorkerMessage = {init: WorkerInit} | ChunkRequest

export interface ChunkRequest {
  id: number
  bytes: Uint8Array
  /** sheets (XLSX, ODS): the number of the row before the chunk; XLSX: the elements' namespace prefix */
  lastRowBefore?: number
  prefix?: string
  /** an XML buffer the main thread is done with, to render into again */
  spare?: ArrayBuffer
  /** a buffer of row numbers, signatures and offsets (packTables) the main thread is done with */
  spareTables?: ArrayBuffer
}

export interface ChunkReply {
  id: number
  result: ChunkResult
  /** the request's bytes, handed back for the next chunk to be read into */
  input: Uint8Array
}

const PIECE = 64 * 1024
const LINE_FEED = 0x0a
const spares: ArrayBuffer[] = []
const spareTables: ArrayBuffer[] = []
let init: WorkerInit
let pipeline: RowPipeline
let worksheet: WorksheetParser | undefined
let odsTable: OdsContentParser | undefined

// the workers start while the main thread opens the file and looks for the header: time to load the tables
preloadTables()

parentPort!.on('message', (message: WorkerMessage) => {
  if ('init' in message) {
    init = message.init
    applyUserNomenclatore(init.nomenclatore)
    const flow = flowById(init.flow)
    const mapping = compileMapping(flow, init.header, init.template, init.format)
    pipeline = compileRowPipeline(flow, mapping, init.header.length, {render: init.render, currentYear: init.currentYear, currentMonth: init.currentMonth})
    return
  }
  const request = message
  if (request.spare) spares.push(request.spare)
  if (request.spareTables) spareTables.push(request.spareTables)
  const result = init.reader.kind === 'csv' ? csvChunk(request, init.reader) : sheetChunk(request, init.reader)
  // validRows, signatures and xmlOffsets are views of one buffer: listed once
  const transfer = new Set([
    result.validRows.buffer,
    result.signatures.buffer,
    request.bytes.buffer,
    ...(result.xml ? [result.xml.buffer] : []),
    ...(result.xmlOffsets ? [result.xmlOffsets.buffer] : []),
    ...(result.entes ? [result.entes.rows.buffer] : []),
  ])
  parentPort!.postMessage({id: request.id, result, input: request.bytes} satisfies ChunkReply, [...transfer] as ArrayBuffer[])
})

/** A CSV chunk: its rows numbered from 1. */
function csvChunk(request: ChunkRequest, reader: {encoding: string; delimiter: string}): ChunkResult {
  const acc = pipeline.begin(request.bytes.length, spares.pop(), spareTables.pop())
  const scanner = new CsvScanner(reader.delimiter, acc.row, acc.issue)
  // decoded in small pieces: each piece's text dies young, instead of one chunk-sized string
  // that outlives a few scavenges and fills the old generation (memory would grow with the file).
  // A piece ends after its last line feed, so the scanner carries no half record into the next one:
  // joining the two made V8 copy each piece into a new large string on fresh pages, as many bytes
  // as the whole file, and fresh pages are what costs most on a VM. Workers get UTF-8 or
  // Windows-1252 (UTF-16 is read in one thread), where 0x0A is a whole line feed; the streaming
  // decoder would join a character split by a cut anyway.
  const decoder = new TextDecoder(reader.encoding)
  const bytes = request.bytes
  for (let at = 0; at < bytes.length; ) {
    let end = Math.min(at + PIECE, bytes.length)
    if (end < bytes.length) {
      // searched within the piece only: a long record without line feeds is cut where it falls
      const lineEnd = bytes.subarray(at, end).lastIndexOf(LINE_FEED)
      if (lineEnd >= 0) end = at + lineEnd + 1
    }
    scanner.push(decoder.decode(bytes.subarray(at, end), {stream: true}))
    at = end
  }
  scanner.push(decoder.decode())
  scanner.end()
  return acc.finish(scanner.rows)
}

/**
 * A chunk of a sheet's XML (an XLSX worksheet, an ODS table): whole rows, numbered as the sheet
 * numbers them. Damaged XML ends the rows (readFailure), as it ends them when the sheet is read in
 * one thread; so does a row repeated into more cells than any sheet holds.
 */
function sheetChunk(request: ChunkRequest, reader: SheetReader): ChunkResult {
  // a sheet's XML takes about three times the bytes of the flusso XML it becomes
  const acc = pipeline.begin(request.bytes.length / 3, spares.pop(), spareTables.pop())
  const parser = sheetParser(request, reader)
  const bytes = Buffer.from(request.bytes.buffer, request.bytes.byteOffset, request.bytes.byteLength)
  const rowEnd = reader.kind === 'ods' ? ODS_ROW_END : Buffer.from(`</${request.prefix ?? ''}row>`)
  let failure: ChunkResult['readFailure']
  try {
    // read in pieces cut after a row's end tag (ASCII: never inside a character), each scanned
    // whole as latin1 (xml-scan.ts: scanLatin1) and dying young, like the CSV chunks' pieces
    for (let at = 0; at < bytes.length; ) {
      let end = bytes.length
      if (at + PIECE < bytes.length) {
        const cut = bytes.lastIndexOf(rowEnd, at + PIECE - rowEnd.length)
        const next = cut > at ? cut : bytes.indexOf(rowEnd, at + PIECE)
        if (next >= 0) end = next + rowEnd.length
      }
      const from = at
      if (parser instanceof OdsContentParser) scanLatin1(bytes, at, end, (text) => parser.writeRowBytes(bytes, from, text))
      else scanLatin1(bytes, at, end, (text) => parser.writeRows(text))
      if (!sheetRows(parser.take(), acc)) {
        failure = {afterRow: parser.lastRow, tooManyRepeats: true}
        break
      }
      at = end
    }
  } catch {
    failure = {afterRow: parser.lastRow}
    // the rows read whole before the damage are rows of the file
    if (!sheetRows(parser.take(), acc)) failure.tooManyRepeats = true
  }
  return {...acc.finish(0), ...(failure ? {readFailure: failure} : {})}
}

const ODS_ROW_END = Buffer.from('</table:table-row>')

function sheetParser(request: ChunkRequest, reader: SheetReader): WorksheetParser | OdsContentParser {
  if (reader.kind === 'ods') {
    odsTable ??= new OdsContentParser(undefined)
    odsTable.resume(request.lastRowBefore ?? 0)
    return odsTable
  }
  worksheet ??= WorksheetParser.shared(reader.worksheet)
  worksheet.resume(request.prefix ?? '', request.lastRowBefore ?? 0)
  return worksheet
}

/** The rows as the pipeline takes them (repeated ones expanded); false when a repeat asks for too many cells. */
function sheetRows(rows: RawRow[], acc: RowAccumulator): boolean {
  for (const raw of rows) {
    if (!acceptRow(raw, acc.issue)) continue
    const cells = dataCells(raw.cells, init.header.length)
    const repeat = raw.repeat ?? 1
    if (repeat > 1 && cells.length * (repeat - 1) > MAX_REPEATED_CELLS) return false
    // every copy of a repeated row gets its own array, as in one thread
    for (let i = 0; i < repeat; i++) acc.row(raw.row + i, i === 0 ? cells : cells.slice())
  }
  return true
}
