import {randomBytes} from 'node:crypto'
import {join, resolve} from 'node:path'

import {UsageError} from '../errors/index.js'
import type {FlowSpec} from '../flows/model.js'
import {sha256OfFile} from '../input/digest.js'
import type {Template} from '../mapping/index.js'
import type {Signer} from '../sign/index.js'
import type {FlussoState, Store, Submission} from '../store/sqlite.js'
import {deliverPush, syncEsiti, type DeliveryReport} from '../transport/deliver.js'
import type {PushConnection} from '../transport/connect.js'
import {exportFlussi, type ExportedFlusso} from '../transport/file.js'
import type {Finding, ValidateOptions, ValidationSummary} from '../validate/run.js'
import {buildFlussi} from '../xml/build.js'
import type {EnteIdentity} from '../xml/writer.js'

/**
 * `submit` (DESIGN §3, §8, §9): validate → build → record → deliver → esiti, with the store as
 * the source of truth at every step. The submission and all its flussi are recorded in one
 * transaction before anything leaves; what an earlier run left undelivered is delivered first;
 * the same spreadsheet content submitted again to the same destination builds nothing new.
 */

export type Transport = 'push' | 'waas' | 'file'

export interface SubmitOptions {
  flow: FlowSpec
  template?: Template
  sheet?: string
  ente: EnteIdentity
  store: Store
  transport: Transport
  /** push: opened before anything is built, so configuration errors come first */
  connect?: () => Promise<PushConnection>
  /** file: the ente's signer and the output folder */
  signer?: () => Promise<Signer>
  outDir?: string
  dataDir: string
  maxBytes: number
  /** poll esiti until every flusso has one or this time has passed */
  waitMs: number
  pollMs?: number
  nomenclatore?: string
  resolveHeader?: ValidateOptions['resolveHeader']
  onFinding: (finding: Finding) => void
  onProgress?: (text: string) => void
  /** the command that continues an interrupted run, for messages */
  resume: string
}

export interface SubmitResult {
  submission: Submission
  /** earlier submissions to this destination whose undelivered flussi were delivered first */
  resumed: string[]
  /** the same content was already submitted: nothing was built */
  alreadySubmitted: boolean
  summary?: ValidationSummary
  delivery: DeliveryReport
  exported: ExportedFlusso[]
  /** flussi still waiting for their esito */
  pending: number
}

export async function submitFile(source: string, opts: SubmitOptions): Promise<SubmitResult> {
  if (source === '-') {
    throw new UsageError('SUBMIT_NEEDS_FILE', "submit legge un file, non lo standard input: serve a riconoscere un invio interrotto e a riprenderlo.", {
      suggestions: ['Salva prima l’export in un file: casellario submit export.csv'],
    })
  }
  const sourceFile = resolve(source)
  const sourceSha256 = await sha256OfFile(sourceFile)
  const connection = opts.transport === 'push' ? await opts.connect!() : undefined
  try {
    const endpoint = connection?.endpoint
    const delivery: DeliveryReport = {sent: 0, duplicates: 0, conflicts: [], refused: []}
    const add = (r: DeliveryReport): void => {
      delivery.sent += r.sent
      delivery.duplicates += r.duplicates
      delivery.conflicts.push(...r.conflicts)
      delivery.refused.push(...r.refused)
    }
    // what an interrupted run left behind goes first, in the order it was built
    const resumed: string[] = []
    if (connection) {
      for (const earlier of opts.store.undeliveredSubmissions('push', endpoint)) {
        opts.onProgress?.(`Riprendo l'invio ${earlier.id}`)
        add(await deliverPush(opts.store, earlier, connection.client))
        resumed.push(earlier.id)
      }
    }
    const key = {sourceSha256, flow: opts.flow.id, ente: opts.ente.codice, transport: opts.transport, endpoint}
    const previous = opts.store.latestSubmissionOf(key)
    let summary: ValidationSummary | undefined
    let submission: Submission
    if (previous) {
      submission = previous
    } else {
      const id = submissionId()
      const built = await buildFlussi(sourceFile, {
        flow: opts.flow,
        template: opts.template,
        sheet: opts.sheet,
        outDir: opts.transport === 'file' ? opts.outDir! : join(opts.dataDir, 'spool'),
        packaging: opts.transport === 'file' ? 'upload' : 'cooperazione',
        maxBytes: opts.maxBytes,
        ente: opts.ente,
        store: opts.store,
        nomenclatore: opts.nomenclatore,
        resolveHeader: opts.resolveHeader,
        onFinding: opts.onFinding,
        into: {
          submission: {
            id,
            flow: opts.flow.id,
            ente: opts.ente.codice,
            codiceEnte: opts.ente.belfiore,
            denominazioneEnte: opts.ente.denominazione || undefined,
            transport: opts.transport,
            endpoint,
            sourceFile,
            sourceSha256,
          },
          state: opts.transport === 'waas' ? 'queued' : 'built',
        },
      })
      summary = built.summary
      submission = opts.store.submission(id)!
    }
    let exported: ExportedFlusso[] = []
    if (connection) {
      const total = submission.flussi
      add(await deliverPush(opts.store, submission, connection.client, (done) => opts.onProgress?.(`Inviati ${done}/${total} flussi`)))
      await waitForEsiti(opts, connection, [submission.id, ...resumed])
    } else if (opts.transport === 'file') {
      exported = await exportFlussi(opts.store, opts.store.flussiOf(submission.id), await opts.signer!())
    }
    const ids = [submission.id, ...resumed]
    return {
      submission: opts.store.submission(submission.id)!,
      resumed,
      alreadySubmitted: previous !== undefined,
      summary,
      delivery,
      exported,
      pending: opts.store.awaitingEsito(ids),
    }
  } finally {
    await connection?.close()
  }
}

/** Reads esiti once, then, with --wait, every `pollMs` until none is missing or time is up. */
async function waitForEsiti(opts: SubmitOptions, connection: PushConnection, ids: string[]): Promise<void> {
  const deadline = Date.now() + opts.waitMs
  for (;;) {
    await syncEsiti(opts.store, connection.client, connection.endpoint)
    const pending = opts.store.awaitingEsito(ids)
    if (pending === 0 || Date.now() >= deadline) return
    opts.onProgress?.(`In attesa degli esiti: ${pending} flussi`)
    await new Promise((r) => setTimeout(r, Math.min(opts.pollMs ?? 1000, Math.max(0, deadline - Date.now()))))
  }
}

/** States that make a submission's exit code 4. */
export const REFUSED_STATES: readonly FlussoState[] = ['rejected', 'conflict']

function submissionId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15)
  return `${stamp}-${randomBytes(2).toString('hex')}`
}
