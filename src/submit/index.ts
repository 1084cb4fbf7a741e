import {randomBytes} from 'node:crypto'
import {resolve} from 'node:path'

import {engineNow} from '../clock/index.js'
import {UsageError} from '../errors/index.js'
import type {FlowSpec} from '../flows/model.js'
import {sha256OfFile} from '../input/digest.js'
import type {Template} from '../mapping/index.js'
import type {Signer} from '../sign/index.js'
import type {Store, Submission, SubmissionInit} from '../store/sqlite.js'
import {addDelivery, deliverPush, emptyDelivery, syncEsiti, type DeliveryReport} from '../transport/deliver.js'
import type {PushConnection} from '../transport/connect.js'
import {endpointName} from '../transport/http.js'
import {count, NOUNS, say} from '../i18n/messages.js'
import {exportFlussi, type ExportedFlusso} from '../transport/file.js'
import type {Finding, ValidateOptions, ValidationSummary} from '../pipeline/read.js'
import {holdYoungGeneration} from '../runtime/heap.js'
import {privateTempDir} from '../runtime/private-temp.js'
import {buildFlussi} from '../pipeline/build.js'
import type {EnteIdentity} from '../flows/ente.js'
import {DeltaPlanner, type PlanCounts, type PlanRow} from './plan.js'

/**
 * `submit` (DESIGN §3, §8, §9): validate → build → record → deliver → esiti, with the store as
 * the source of truth at every step. The submission and all its flussi are recorded in one
 * transaction before anything leaves; what an earlier run left undelivered is delivered first.
 * Each record is compared with what INPS has (see plan.ts): a repeated export sends only what changed.
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
  /** push: the endpoint's name as the store knows it (a URL or `sandbox`), for --dry-run */
  endpoint?: string
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
  /** a row sent as one prestazione per calendar year (DESIGN §5) */
  onSplit?: ValidateOptions['onSplit']
  /** how far reading the spreadsheet has come (see ValidateOptions) */
  onReadProgress?: ValidateOptions['onProgress']
  onProgress?: (text: string) => void
  /** the command that continues an interrupted run, for messages */
  resume: string
  /** also cancel prestazioni missing from this export (same ente, flow and years) */
  cancelMissing?: boolean
  /** plan only: no endpoint, no writes to the store */
  dryRun?: boolean
  /** each row's decision, as it is taken */
  onPlanRow?: (row: PlanRow) => void
}

export interface SubmitResult {
  submission: Submission
  /** the submissions of the other enti the file's rows name (Ente_Codice; WaaS), one per ente */
  others: Submission[]
  /** earlier submissions to this destination whose undelivered flussi were delivered first */
  resumed: string[]
  /** nothing in this export differs from what was already submitted */
  alreadySubmitted: boolean
  /** what delta detection decided, per kind of row */
  plan: PlanCounts
  summary?: ValidationSummary
  delivery: DeliveryReport
  exported: ExportedFlusso[]
  /** flussi still waiting for their esito */
  pending: number
}

export async function submitFile(source: string, opts: SubmitOptions): Promise<SubmitResult> {
  if (source === '-') {
    throw new UsageError(
      'SUBMIT_NEEDS_FILE',
      {
        it: 'submit legge un file, non lo standard input: serve a riconoscere un invio interrotto e a riprenderlo.',
        en: 'submit reads a file, not standard input: it needs one to recognise an interrupted submission and resume it.',
      },
      {suggestions: [{it: 'Salva prima l’export in un file: casellario submit export.csv', en: 'Save the export to a file first: casellario submit export.csv'}]},
    )
  }
  // before hashing the file: reading it is the first pass over it (see holdYoungGeneration)
  holdYoungGeneration()
  const sourceFile = resolve(source)
  const sourceSha256 = await sha256OfFile(sourceFile)
  if (opts.cancelMissing && !opts.flow.delta.operation) {
    throw new UsageError('CANCEL_NOT_SUPPORTED', {
      it: `Il tracciato ${opts.flow.id} non prevede cancellazioni: --cancel-missing non si applica.`,
      en: `The ${opts.flow.id} record layout has no cancellations: --cancel-missing does not apply.`,
    })
  }
  const connection = opts.transport === 'push' && !opts.dryRun ? await opts.connect!() : undefined
  try {
    const endpoint = opts.transport !== 'push' ? undefined : (connection?.endpoint ?? (opts.endpoint ? endpointName(opts.endpoint) : undefined))
    const delivery = emptyDelivery()
    // what an interrupted run left behind goes first, in the order it was built
    const resumed: string[] = []
    if (connection) {
      // only this ente's: another ente's flussi must not go out under this run's voucher and signature
      for (const earlier of opts.store.undeliveredSubmissions('push', endpoint, opts.ente.codice)) {
        opts.onProgress?.(say({it: `Riprendo l'invio ${earlier.id}`, en: `Resuming submission ${earlier.id}`}))
        addDelivery(delivery, await deliverPush(opts.store, earlier, connection.client))
        resumed.push(earlier.id)
      }
    }
    const leftovers: ExportedFlusso[] = []
    if (opts.transport === 'file' && !opts.dryRun) {
      for (const earlier of opts.store.undeliveredSubmissions('file', undefined, opts.ente.codice)) {
        leftovers.push(...(await exportFlussi(opts.store, opts.store.flussiOf(earlier.id), await opts.signer!())))
        resumed.push(earlier.id)
      }
    }
    const init = newSubmission({...opts, endpoint}, {sourceFile, sourceSha256})
    const workDir = privateTempDir(opts.dataDir)
    const planner = new DeltaPlanner(opts.store, opts.flow, opts.ente.codice, {transport: opts.transport, endpoint}, {cancelMissing: opts.cancelMissing, onRow: opts.onPlanRow, onFinding: opts.onFinding})
    const {summary, otherSubmissions = []} = await buildFlussi(sourceFile, {
      flow: opts.flow,
      template: opts.template,
      sheet: opts.sheet,
      outDir: opts.transport === 'file' && !opts.dryRun ? opts.outDir! : workDir,
      workDir,
      packaging: opts.transport === 'file' ? 'upload' : 'cooperazione',
      maxBytes: opts.maxBytes,
      ente: opts.ente,
      store: opts.store,
      nomenclatore: opts.nomenclatore,
      resolveHeader: opts.resolveHeader,
      onFinding: opts.onFinding,
      onSplit: opts.onSplit,
      onProgress: opts.onReadProgress,
      into: {
        submission: init,
        state: opts.transport === 'waas' ? 'queued' : 'built',
        planner,
        dryRun: opts.dryRun,
        // WaaS: INPS pulls each ente's flussi on that ente's own path, with a voucher for it
        // its id: the run's and the ente's code (ids drawn in the same second could collide over many enti)
        forEnte: opts.transport === 'waas' ? (ente) => ({...newSubmission({...opts, ente, endpoint}, {sourceFile, sourceSha256}), id: `${init.id}-${ente.codice.toUpperCase()}`}) : undefined,
      },
    })
    const plan = planner.counts
    const nothingNew = plan.insert + plan.replace + plan.cancel + plan['cancel-missing'] === 0
    if (opts.dryRun) {
      const dry: Submission = {...init, rows: summary.rows, valid: summary.valid, errors: summary.errors, createdAt: engineNow().toISOString(), states: {}, flussi: 0}
      return {submission: dry, others: [], resumed, alreadySubmitted: nothingNew, plan, summary, delivery, exported: [], pending: 0}
    }
    const submission = opts.store.submission(init.id)!
    let exported: ExportedFlusso[] = []
    if (connection) {
      const total = submission.flussi
      addDelivery(delivery, await deliverPush(opts.store, submission, connection.client, (done) => opts.onProgress?.(say({it: `Inviati ${done}/${total} flussi`, en: `Sent ${done}/${total} flussi`}))))
      await waitForEsiti(opts.store, connection, [submission.id, ...resumed], opts)
    } else if (opts.transport === 'file') {
      exported = [...leftovers, ...(await exportFlussi(opts.store, opts.store.flussiOf(submission.id), await opts.signer!()))]
    }
    const ids = [submission.id, ...otherSubmissions, ...resumed]
    return {
      submission: opts.store.submission(submission.id)!,
      others: otherSubmissions.map((id) => opts.store.submission(id)!),
      resumed,
      alreadySubmitted: nothingNew,
      plan,
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
export async function waitForEsiti(store: Store, connection: PushConnection, ids: string[], opts: {waitMs: number; pollMs?: number; onProgress?: (text: string) => void}): Promise<void> {
  const deadline = Date.now() + opts.waitMs
  for (;;) {
    await syncEsiti(store, connection.client, connection.endpoint)
    const pending = store.awaitingEsito(ids)
    if (pending === 0 || Date.now() >= deadline) return
    opts.onProgress?.(say({it: `In attesa degli esiti: ${count(pending, NOUNS.flusso)}`, en: `Waiting for esiti: ${count(pending, NOUNS.flusso)}`}))
    await new Promise((r) => setTimeout(r, Math.min(opts.pollMs ?? 1000, Math.max(0, deadline - Date.now()))))
  }
}


/** A new submission of this ente and flow to this destination (its counts come when it is recorded). */
export function newSubmission(
  to: {flow: FlowSpec; ente: EnteIdentity; transport: Transport; endpoint?: string},
  source: {sourceFile?: string; sourceSha256?: string} = {},
): Omit<SubmissionInit, 'rows' | 'valid' | 'errors'> {
  return {
    id: submissionId(),
    flow: to.flow.id,
    ente: to.ente.codice,
    codiceEnte: to.ente.belfiore,
    denominazioneEnte: to.ente.denominazione || undefined,
    transport: to.transport,
    endpoint: to.endpoint,
    ...source,
  }
}

function submissionId(now = engineNow()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15)
  return `${stamp}-${randomBytes(2).toString('hex')}`
}
