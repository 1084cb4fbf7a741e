import {parentPort} from 'node:worker_threads'

import {flowById} from '../flows/index.js'
import {CsvScanner} from '../input/csv.js'
import {acceptRow, dataCells} from '../input/workbook.js'
import {WorksheetParser, type WorksheetShare} from '../input/xlsx.js'
import {compileMapping, type Template} from '../mapping/index.js'
import {applyUserNomenclatore} from '../tables/user-nomenclatore.js'
import {compileRowPipeline, type ChunkResult, type RowAccumulator, type RowPipeline, type RowPipelineOptions} from './rows.js'

/**
 * Worker thread for large files: decodes a chunk of bytes that ends at a record boundary (a CSV
 * record, a worksheet's row), scans it, and runs the row pipeline on it. CSV rows are numbered
 * from 1 within the chunk, and the main thread adds the offset; worksheet rows carry their own
 * numbers. The main thread does the cross-row checks in order.
 */

export interface WorkerInit {
  flow: string
  template?: Template
  header: string[]
  format: 'csv' | 'xlsx'
  reader: {kind: 'csv'; encoding: string; delimiter: string} | {kind: 'xlsx'; worksheet: WorksheetShare}
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
  /** worksheets: the number of the row before the chunk, and the elements' namespace prefix */
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
const spares: ArrayBuffer[] = []
const spareTables: ArrayBuffer[] = []
let init: WorkerInit
let pipeline: RowPipeline
let worksheet: WorksheetParser | undefined

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
  const result = init.reader.kind === 'csv' ? csvChunk(request, init.reader) : worksheetChunk(request, init.reader.worksheet)
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
  // that outlives a few scavenges and fills the old generation (memory would grow with the file)
  const decoder = new TextDecoder(reader.encoding)
  for (let at = 0; at < request.bytes.length; at += PIECE) scanner.push(decoder.decode(request.bytes.subarray(at, at + PIECE), {stream: true}))
  scanner.push(decoder.decode())
  scanner.end()
  return acc.finish(scanner.rows)
}

/**
 * A worksheet chunk: whole rows of <sheetData>, numbered as the sheet numbers them. Damaged XML
 * ends the rows (readFailure), as it ends them when the sheet is read in one thread.
 */
function worksheetChunk(request: ChunkRequest, share: WorksheetShare): ChunkResult {
  // XML takes about three times the bytes of the XML it becomes
  const acc = pipeline.begin(request.bytes.length / 3, spares.pop(), spareTables.pop())
  worksheet ??= WorksheetParser.shared(share)
  worksheet.resume(request.prefix ?? '', request.lastRowBefore ?? 0)
  const bytes = Buffer.from(request.bytes.buffer, request.bytes.byteOffset, request.bytes.byteLength)
  const rowEnd = Buffer.from(`</${request.prefix ?? ''}row>`)
  let failed = false
  try {
    // decoded in pieces cut after a row's end tag (ASCII: never inside a character), each scanned
    // whole and dying young, like the CSV chunks' pieces
    for (let at = 0; at < bytes.length; ) {
      let end = bytes.length
      if (at + PIECE < bytes.length) {
        const cut = bytes.lastIndexOf(rowEnd, at + PIECE - rowEnd.length)
        const next = cut > at ? cut : bytes.indexOf(rowEnd, at + PIECE)
        if (next >= 0) end = next + rowEnd.length
      }
      worksheet.writeRows(bytes.toString('utf8', at, end))
      worksheetRows(worksheet, acc)
      at = end
    }
  } catch {
    failed = true
  }
  worksheetRows(worksheet, acc)
  return {...acc.finish(0), ...(failed ? {readFailure: {afterRow: worksheet.lastRow}} : {})}
}

function worksheetRows(parser: WorksheetParser, acc: RowAccumulator): void {
  for (const raw of parser.take()) if (acceptRow(raw, acc.issue)) acc.row(raw.row, dataCells(raw.cells, init.header.length))
}
