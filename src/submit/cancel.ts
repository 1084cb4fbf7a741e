import {romeDay} from '../clock/index.js'
import {UsageError} from '../errors/index.js'
import type {FlowSpec} from '../flows/model.js'
import {openSheet} from '../input/index.js'
import type {Store, Submission} from '../store/sqlite.js'
import type {PushConnection} from '../transport/connect.js'
import {addDelivery, deliverPush, emptyDelivery, type DeliveryReport} from '../transport/deliver.js'
import {queueFlussi} from '../pipeline/build.js'
import type {EnteIdentity} from '../flows/ente.js'
import {escapeXml} from '../xml/writer.js'
import {message, say} from '../i18n/messages.js'
import {cancellationOf, identityOf} from './plan.js'
import {newSubmission, waitForEsiti, type Transport} from './index.js'

/**
 * `cancel` (DESIGN §9): takes back prestazioni INPS has accepted. Each is found by what the
 * operator knows (protocollo domanda, codice prestazione, codice fiscale, dates), and cancelled with
 * exactly the bytes INPS accepted and TipoOperazione=C. Only accepted versions can be cancelled.
 */

/** A prestazione as the operator describes it: canonical column → value (any of the identity fields). */
export type Criteria = Record<string, string>

export interface CancelOptions {
  flow: FlowSpec
  ente: EnteIdentity
  store: Store
  transport: Transport
  endpoint?: string
  connect?: () => Promise<PushConnection>
  waitMs: number
  dryRun?: boolean
  onProgress?: (text: string) => void
}

export interface CancelResult {
  submission?: Submission
  /** the flussi whose accepted version each criteria matched; or, asked again, the accepted cancellations */
  matched: Array<{criteria: Criteria; cancels: string[]; alreadyCancelledBy?: string[]}>
  delivery: DeliveryReport
}

export async function cancelPrestazioni(criteria: Criteria[], opts: CancelOptions): Promise<CancelResult> {
  if (!opts.flow.delta.operation) {
    throw new UsageError('CANCEL_NOT_SUPPORTED', {it: `Il tracciato ${opts.flow.id} non prevede cancellazioni.`, en: `The ${opts.flow.id} record layout has no cancellations.`})
  }
  if (opts.transport === 'file') {
    throw new UsageError('CANCEL_FILE_TRANSPORT', {
      it: 'Con il trasporto file le cancellazioni passano da un foglio: righe con TipoOperazione=C.',
      en: 'With the file transport, cancellations go through a sheet: rows with TipoOperazione=C.',
    }, {
      suggestions: ['casellario submit cancellazioni.csv --transport file --out da-caricare/'],
    })
  }
  const scope = {ente: opts.ente.codice, flow: opts.flow.id, transport: opts.transport, endpoint: opts.endpoint}
  const matched: CancelResult['matched'] = []
  const lines = []
  const seen = new Set<string>()
  for (const c of criteria) {
    const needles = Object.entries(c).map(([column, value]) => ` ${opts.flow.field(column).xml}="${escapeXml(value.trim())}"`)
    const live = opts.store.identitiesContaining(scope, needles).map((identity) => ({identity, live: opts.store.liveRecord(identity)}))
    const accepted = live.filter((l) => l.live?.state === 'accepted')
    if (accepted.length === 0) {
      refuseIfPurged(c, opts)
      const pending = live.find((l) => l.live)
      // asked again after INPS accepted the cancellation: done already, not a mistake
      const done = pending ? [] : live.map((l) => opts.store.acceptedCancellation(l.identity)).filter((id): id is string => id !== undefined)
      if (done.length > 0) {
        matched.push({criteria: c, cancels: [], alreadyCancelledBy: [...new Set(done)]})
        continue
      }
      throw pending
        ? new UsageError('PREVIOUS_AWAITING_ESITO', {
            it: `La prestazione ${describe(c)} (flusso ${pending.live!.idFlusso}) non ha ancora un esito: si può cancellare solo dopo che INPS l'ha accettata.`,
            en: `The prestazione ${describe(c, 'en')} (flusso ${pending.live!.idFlusso}) has no esito yet: it can be cancelled only after INPS has accepted it.`,
          }, {
            suggestions: ['casellario sync', `casellario status ${pending.live!.idFlusso}`],
          })
        : new UsageError('CANCEL_NOT_ACCEPTED', {
            it: `Nessuna prestazione accettata da INPS corrisponde a ${describe(c)}: non c'è nulla da cancellare.`,
            en: `No prestazione accepted by INPS matches ${describe(c, 'en')}: there is nothing to cancel.`,
          }, {
            suggestions: [
              'casellario status --state accepted',
              {it: 'Controlla i valori (protocollo, codice prestazione, codice fiscale).', en: 'Check the values (protocollo, prestazione code, codice fiscale).'},
            ],
          })
    }
    matched.push({criteria: c, cancels: accepted.map((a) => a.live!.idFlusso)})
    for (const a of accepted) {
      if (seen.has(a.identity)) continue
      seen.add(a.identity)
      lines.push(cancellationOf(a.live!, opts.flow, a.identity, 0, lines.length))
    }
  }
  const delivery = emptyDelivery()
  if (opts.dryRun || lines.length === 0) return {matched, delivery}
  const connection = opts.transport === 'push' ? await opts.connect!() : undefined
  try {
    const init = newSubmission(opts)
    const {id} = init
    queueFlussi(opts.store, {
      flow: opts.flow,
      ente: opts.ente,
      day: romeDay(),
      submission: {...init, rows: 0, valid: lines.length, errors: 0},
      state: opts.transport === 'waas' ? 'queued' : 'built',
      lines,
    })
    let submission = opts.store.submission(id)!
    if (connection) {
      const r = await deliverPush(opts.store, submission, connection.client, (done) => opts.onProgress?.(`Inviate ${done}/${lines.length} cancellazioni`))
      addDelivery(delivery, r)
      await waitForEsiti(opts.store, connection, [id], opts)
      submission = opts.store.submission(id)!
    }
    return {submission, matched, delivery}
  } finally {
    await connection?.close()
  }
}

/**
 * A prestazione reduced by `purge` is found by its keyed identity when the criteria give every
 * identity field; it cannot be cancelled from here (its bytes are gone): the portal can.
 */
function refuseIfPurged(c: Criteria, opts: CancelOptions): void {
  const fields = opts.flow.delta.identity
  if (!fields.some((f) => c[f.column] !== undefined)) return
  const values = fields.map((f) => escapeXml((c[f.column] ?? '').trim()))
  const live = opts.store.liveRecord(identityOf({transport: opts.transport, endpoint: opts.endpoint}, opts.ente.codice, opts.flow, values))
  if (live?.purged) {
    throw new UsageError('PURGED_NOT_CANCELLABLE', message('PURGED_NOT_CANCELLABLE', {flusso: live.idFlusso}), {
      suggestions: [{it: 'Portale INPS (SIUSS): cancella la prestazione da lì.', en: 'INPS portal (SIUSS): cancel the prestazione there.'}, `casellario status ${live.idFlusso}`],
    })
  }
}

/** Criteria from a spreadsheet: one prestazione per row, columns named as the canonical fields. */
export async function criteriaFromFile(file: string, flow: FlowSpec): Promise<Criteria[]> {
  const upper = new Set(flow.delta.identity.filter((f) => f.upper || f.type.kind === 'codiceFiscale').map((f) => f.column))
  const known = new Map(flow.delta.identity.map((f) => [f.column.toLowerCase(), f.column]))
  const sheet = await openSheet(file, {onIssue: () => {}})
  try {
    const columns = sheet.header.map((h) => known.get(h.trim().toLowerCase()))
    if (!columns.some(Boolean)) {
      throw new UsageError('CANCEL_FILE_COLUMNS', {it: `Il file ${file} non ha colonne che identificano una prestazione.`, en: `The file ${file} has no columns that identify a prestazione.`}, {
        suggestions: [{it: `Colonne: ${[...known.values()].join(', ')}`, en: `Columns: ${[...known.values()].join(', ')}`}],
      })
    }
    const out: Criteria[] = []
    for await (const batch of sheet.batches) {
      for (const r of batch) {
        const c: Criteria = {}
        columns.forEach((column, i) => {
          if (column && (r.cells[i] ?? '').trim() !== '') c[column] = upper.has(column) ? r.cells[i].trim().toUpperCase() : r.cells[i].trim()
        })
        if (Object.keys(c).length > 0) out.push(c)
      }
    }
    return out
  } finally {
    await sheet.close()
  }
}

/** The criteria for a message: a codice fiscale is never repeated back (it would end up in logs). */
export function describe(c: Criteria, language: 'it' | 'en' = 'it'): string {
  return Object.entries(c)
    .map(([k, v]) => `${k}=${k === 'CodiceFiscale' ? (language === 'en' ? '(given)' : '(indicato)') : v}`)
    .join(', ')
}
