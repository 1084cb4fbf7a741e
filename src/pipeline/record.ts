import {createHash} from 'node:crypto'

import {engineNow} from '../clock/index.js'
import {UsageError} from '../errors/index.js'
import type {FlowSpec} from '../flows/model.js'
import type {BuiltFlusso, FlussoState, RecordDetail, Store, SubmissionInit} from '../store/sqlite.js'
import type {EnteIdentity} from '../flows/ente.js'
import {compileFlussoWriter} from '../xml/writer.js'
import {nome, PROGRESSIVE_MAX, tooManyFlussi, type FlussoResult} from './files.js'
import {ofOtherEnte, type PlannedLine, type SpoolLine} from './lines.js'
import type {UploadResult} from './package.js'

/** The other enti a file's rows name, by upper-case code: each with its submission. */
export type OtherEnti = Map<string, {ente: EnteIdentity; submission: SubmissionInit}>

/** A submission's result lists at most this many flussi (the store has them all). */
export const RESULT_LIST_MAX = 10_000

/**
 * Records a submission and its cooperazione flussi (one record each) in one transaction — a kill
 * before the commit leaves nothing half-queued, a kill after leaves everything ready to send.
 * Also how `cancel` queues its cancellations.
 */
export function queueFlussi(
  store: Store,
  args: {
    flow: FlowSpec
    ente: EnteIdentity
    day: string
    now?: Date
    submission: SubmissionInit
    /** the submissions of the other enti the rows name (WaaS: each ente's flussi are pulled on its own path) */
    others?: OtherEnti
    state: FlussoState
    lines: Iterable<SpoolLine | PlannedLine>
  },
): FlussoResult[] {
  const {flow, day, state} = args
  const writer = compileFlussoWriter(flow)
  const tail = Buffer.from(writer.groupClose + writer.close)
  const results: FlussoResult[] = []
  const xmlBytes = new ReusableBytes()
  const entryBytes = new ReusableBytes()
  store.transaction(() => {
    store.insertSubmission(args.submission)
    for (const other of args.others?.values() ?? []) store.insertSubmission(other.submission)
    let tsFlusso = store.nextTsFlusso((args.now ?? engineNow()).getTime())
    for (const line of args.lines) {
      const {ente, submission} = ofOtherEnte(line, args.ente.codice) ? args.others!.get(line.ente.codice.toUpperCase())! : {ente: args.ente, submission: args.submission}
      // one at a time: with delta detection the number of flussi is known only at the end
      const progressive = store.takeProgressives(ente.codice, flow.nameCode, day, 1)
      if (progressive > PROGRESSIVE_MAX) throw tooManyFlussi()
      const idFlusso = nome(ente.codice, flow, day, progressive)
      const detail = 'detail' in line ? line.detail : undefined
      if (detail?.cancels && !stillAccepted(store, detail)) {
        throw new UsageError(
          'CANCEL_RACE',
          {
            it: `La versione da cancellare (flusso ${detail.cancels.idFlusso}) è cambiata nel frattempo: nulla è stato registrato.`,
            en: `The version to cancel (flusso ${detail.cancels.idFlusso}) changed meanwhile: nothing was recorded.`,
          },
          {suggestions: [{it: 'Rilancia il comando: il confronto riparte da quanto registrato ora.', en: 'Run the command again: the comparison starts over from what is recorded now.'}]},
        )
      }
      // SQLite copies what it is given: one buffer for every flusso's XML and one for its entry
      // (a million short-lived buffers would be external memory that grows until a GC frees it)
      xmlBytes.reset()
      xmlBytes.write(writer.open(idFlusso, ente))
      xmlBytes.append(line.header)
      xmlBytes.append(line.record)
      xmlBytes.append(tail)
      const xml = xmlBytes.view()
      const sha256 = createHash('sha256').update(xml).digest('hex')
      // queued for WaaS: kept as the entry INPS will pull, serialised once here rather than at every pull
      let entry: Buffer | undefined
      if (state === 'queued') {
        entryBytes.reset()
        entryBytes.write(waasEntry(submission, flow, idFlusso, tsFlusso, xml))
        entry = entryBytes.view()
      }
      store.insertFlusso({
        idFlusso, submissionId: submission.id, ente: ente.codice, flow: flow.id, packaging: 'cooperazione', state, xml: entry ? undefined : xml, entry, sha256, tsFlusso,
        beneficiari: 1, prestazioni: 1, sourceFile: submission.sourceFile, sourceSha256: submission.sourceSha256, rows: [line.row],
        operation: detail?.op, details: detail ? [detail] : undefined,
      })
      if (results.length < RESULT_LIST_MAX) results.push({id_flusso: idFlusso, file: '', beneficiari: 1, prestazioni: 1, sha256, rows: [line.row]})
      tsFlusso++
    }
  })
  return results
}

/** Inside the queueing transaction: the version a cancellation takes back is still the accepted, live one. */
function stillAccepted(store: Store, detail: RecordDetail): boolean {
  const live = store.liveRecord(detail.identity)
  return live?.state === 'accepted' && live.idFlusso === detail.cancels!.idFlusso && live.seq === detail.cancels!.seq
}

/** The WaaS OpenAPI `Flusso` entry of a flusso. */
function waasEntry(submission: SubmissionInit, flow: FlowSpec, idFlusso: string, tsFlusso: number, xml: Buffer): string {
  return JSON.stringify({
    codice_ente: submission.codiceEnte,
    ...(submission.denominazioneEnte ? {denominazione_ente: submission.denominazioneEnte.slice(0, 256)} : {}),
    id_flusso: idFlusso,
    tipo: flow.waasTipo,
    ts_flusso: new Date(tsFlusso).toISOString(),
    flusso: xml.toString('base64'),
  })
}

/** A growable buffer written again for each flusso. */
class ReusableBytes {
  private buf = Buffer.allocUnsafeSlow(16 << 10)
  private used = 0

  reset(): void {
    this.used = 0
  }

  write(text: string): void {
    this.reserve(Buffer.byteLength(text))
    this.used += this.buf.write(text, this.used)
  }

  append(bytes: Buffer): void {
    this.reserve(bytes.length)
    this.used += bytes.copy(this.buf, this.used)
  }

  view(): Buffer {
    return this.buf.subarray(0, this.used)
  }

  private reserve(length: number): void {
    if (this.used + length <= this.buf.length) return
    const bigger = Buffer.allocUnsafeSlow(Math.max(this.buf.length * 2, this.used + length))
    this.buf.copy(bigger, 0, 0, this.used)
    this.buf = bigger
  }
}

/** Upload packaging for a submission: the files, with their rows, recorded in one transaction. */
export function recordSubmission(
  store: Store,
  args: {flow: FlowSpec; packaging: string; now?: Date; submission: SubmissionInit; state: FlussoState; flussi: UploadResult[]},
): void {
  const {submission, state} = args
  store.transaction(() => {
    store.insertSubmission(submission)
    let tsFlusso = store.nextTsFlusso((args.now ?? engineNow()).getTime())
    for (const f of args.flussi) {
      store.insertFlusso({
        idFlusso: f.id_flusso, submissionId: submission.id, ente: f.ente, flow: args.flow.id, packaging: args.packaging, state, file: f.file,
        sha256: f.sha256, tsFlusso, beneficiari: f.beneficiari, prestazioni: f.prestazioni, sourceFile: submission.sourceFile,
        sourceSha256: submission.sourceSha256, rows: f.rows ?? [], operation: f.operation, details: f.details,
      })
      tsFlusso++
    }
  })
}

/** The flussi of a build (no submission), in one transaction. */
export function recordBuilt(store: Store, args: {flow: FlowSpec; packaging: string; sourceFile?: string; flussi: Array<FlussoResult & {ente: string}>}): void {
  const built: BuiltFlusso[] = args.flussi.map((f) => ({
    idFlusso: f.id_flusso,
    ente: f.ente,
    flow: args.flow.id,
    packaging: args.packaging,
    file: f.file,
    sha256: f.sha256,
    beneficiari: f.beneficiari,
    prestazioni: f.prestazioni,
    sourceFile: args.sourceFile,
  }))
  store.recordBuilt(built)
}
