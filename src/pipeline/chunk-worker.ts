import {parentPort} from 'node:worker_threads'

import {flowById} from '../flows/index.js'
import {CsvScanner} from '../input/csv.js'
import type {ReaderIssue, SheetInfo} from '../input/types.js'
import {compileMapping, type Template} from '../mapping/index.js'
import {applyUserNomenclatore} from '../tables/user-nomenclatore.js'
import {unpackRows, type PackedRows} from './packed-rows.js'
import {compileRowPipeline, type ChunkResult, type RowPipeline, type RowPipelineOptions} from './rows.js'

/**
 * Worker thread for large files. A CSV chunk: decodes bytes that end at a record boundary, scans
 * them, and runs the row pipeline on them; rows are numbered from 1 within the chunk and the main
 * thread adds the offset. A workbook batch: rows the main thread read from the sheet's XML
 * (packed-rows.ts), numbered as the sheet shows them. Either way the main thread does the
 * cross-row checks in order.
 */

export interface WorkerInit {
  flow: string
  template?: Template
  header: string[]
  format: SheetInfo['format']
  encoding: string
  delimiter: string
  render: RowPipelineOptions['render']
  currentYear: number
  currentMonth: number
  nomenclatore?: string
}

/** What a worker is sent: first its init, then chunks (CSV) or batches of rows (workbooks). */
export type WorkerMessage = {init: WorkerInit} | ChunkRequest | RowsRequest

/** A workbook's rows, with the reader's problems up to the last of them. */
export interface RowsRequest {
  id: number
  rows: PackedRows
  issues: ReaderIssue[]
  spare?: ArrayBuffer
}

export interface ChunkRequest {
  id: number
  bytes: Uint8Array
  /** an XML buffer the main thread is done with, to render into again */
  spare?: ArrayBuffer
}

export interface ChunkReply {
  id: number
  result: ChunkResult
  /** the request's bytes, handed back for the next chunk to be read into (CSV) */
  input?: Uint8Array
}

const PIECE = 64 * 1024
const spares: ArrayBuffer[] = []
let init: WorkerInit
let pipeline: RowPipeline

parentPort!.on('message', (message: WorkerMessage) => {
  if ('init' in message) {
    init = message.init
    applyUserNomenclatore(init.nomenclatore)
    const flow = flowById(init.flow)
    const mapping = compileMapping(flow, init.header, init.template, init.format)
    pipeline = compileRowPipeline(flow, mapping, init.header.length, {render: init.render, currentYear: init.currentYear, currentMonth: init.currentMonth})
    return
  }
  if (message.spare) spares.push(message.spare)
  if ('rows' in message) return processRows(message)
  const request = message
  const acc = pipeline.begin(request.bytes.length, spares.pop())
  const scanner = new CsvScanner(init.delimiter, acc.row, acc.issue)
  // decoded in small pieces: each piece's text dies young, instead of one chunk-sized string
  // that outlives a few scavenges and fills the old generation (memory would grow with the file)
  const decoder = new TextDecoder(init.encoding)
  for (let at = 0; at < request.bytes.length; at += PIECE) scanner.push(decoder.decode(request.bytes.subarray(at, at + PIECE), {stream: true}))
  scanner.push(decoder.decode())
  scanner.end()
  const result = acc.finish(scanner.rows)
  parentPort!.postMessage({id: request.id, result, input: request.bytes} satisfies ChunkReply, [...resultBuffers(result), request.bytes.buffer as ArrayBuffer])
})

function processRows(request: RowsRequest): void {
  const rows = unpackRows(request.rows)
  // sized like a CSV chunk of the same text (the XML estimate is per input byte)
  const acc = pipeline.begin(request.rows.text.length, spares.pop())
  let ip = 0
  for (const {row, cells} of rows) {
    for (; ip < request.issues.length && request.issues[ip].row <= row; ip++) acc.issue(request.issues[ip])
    acc.row(row, cells)
  }
  for (; ip < request.issues.length; ip++) acc.issue(request.issues[ip])
  const result = acc.finish(0)
  parentPort!.postMessage({id: request.id, result} satisfies ChunkReply, resultBuffers(result))
}

function resultBuffers(result: ChunkResult): ArrayBuffer[] {
  return [
    result.validRows.buffer,
    result.signatures.buffer,
    ...(result.xml ? [result.xml.buffer] : []),
    ...(result.xmlOffsets ? [result.xmlOffsets.buffer] : []),
    ...(result.entes ? [result.entes.rows.buffer] : []),
  ] as ArrayBuffer[]
}

