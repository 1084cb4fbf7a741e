import {parentPort} from 'node:worker_threads'

import {flowById} from '../flows/index.js'
import {CsvScanner} from '../input/csv.js'
import {compileMapping, type Template} from '../mapping/index.js'
import {applyUserNomenclatore} from '../tables/user-nomenclatore.js'
import {compileRowPipeline, type ChunkResult, type RowPipeline, type RowPipelineOptions} from './rows.js'

/**
 * Worker thread for large CSV files: decodes a chunk of bytes that ends at a record boundary,
 * scans it, and runs the row pipeline on it. Rows are numbered from 1 within the chunk; the
 * main thread adds the offset and does the cross-row checks in order.
 */

export interface WorkerInit {
  flow: string
  template?: Template
  header: string[]
  format: 'csv'
  encoding: string
  delimiter: string
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
  const acc = pipeline.begin(request.bytes.length, spares.pop(), spareTables.pop())
  const scanner = new CsvScanner(init.delimiter, acc.row, acc.issue)
  // decoded in small pieces: each piece's text dies young, instead of one chunk-sized string
  // that outlives a few scavenges and fills the old generation (memory would grow with the file)
  const decoder = new TextDecoder(init.encoding)
  for (let at = 0; at < request.bytes.length; at += PIECE) scanner.push(decoder.decode(request.bytes.subarray(at, at + PIECE), {stream: true}))
  scanner.push(decoder.decode())
  scanner.end()
  const result = acc.finish(scanner.rows)
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

