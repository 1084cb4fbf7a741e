import {basename} from 'node:path'

import {withoutPassword} from '../config/url.js'
import {colourer, table} from '../cli/terminal.js'
import {AWAITING_ESITO, REFUSED_STATES, UNDELIVERED_STATES, type FlussoState, type Store, type Submission} from '../store/sqlite.js'
import type {SubmitResult} from '../submit/index.js'
import {emptyDelivery} from '../transport/deliver.js'
import type {PlanCounts, PlanRow, RowAction} from '../submit/plan.js'

/**
 * How a submission is told: the JSON document scripts rely on (keys may be added, never removed)
 * and the lines a person reads. Rejections carry INPS's reason and the spreadsheet rows.
 */

export interface RefusedFlusso {
  id_flusso: string
  state: FlussoState
  esito: string | null
  descrizione: string | null
  rows: number[]
}

export interface SubmissionDocument {
  submission: string
  /** the ente (codice) the submission belongs to */
  ente: string
  created_at: string
  transport: string
  endpoint: string | null
  source_file: string | null
  already_submitted: boolean
  resumed: string[]
  rows: number
  valid: number
  errors: number
  warnings: number
  flussi: number
  states: Partial<Record<FlussoState, number>>
  sent: number
  duplicates: number
  accepted: number
  pending: number
  /** waiting to be handed over (a run stopped early) */
  to_send: number
  rejected: RefusedFlusso[]
  conflicts: RefusedFlusso[]
  /** rejected + conflicts beyond the ones listed */
  refused_not_listed: number
  /** rejected or conflicting flussi of the earlier submissions this run resumed */
  resumed_refused: number
  exported: Array<{id_flusso: string; signed: string}>
  /** delta detection for this run: rows inserted, replaced (C + I), unchanged, waiting, … */
  plan?: PlanCounts
}

const LISTED_MAX = 1000

export function submissionDocument(
  store: Store,
  result: Pick<SubmitResult, 'submission' | 'resumed' | 'alreadySubmitted' | 'summary' | 'delivery' | 'exported'> & {plan?: PlanCounts},
): SubmissionDocument {
  const s = result.submission
  const refused = refusedFlussi(store, s.id)
  return {
    ...baseDocument(s),
    already_submitted: result.alreadySubmitted,
    resumed: result.resumed,
    warnings: result.summary?.warnings ?? 0,
    sent: result.delivery.sent,
    duplicates: result.delivery.duplicates,
    rejected: refused.list.filter((f) => f.state === 'rejected'),
    conflicts: refused.list.filter((f) => f.state === 'conflict'),
    refused_not_listed: refused.more,
    resumed_refused: result.resumed.reduce((n, id) => n + refusedCount(store.submission(id)?.states ?? {}), 0),
    exported: result.exported,
    ...(result.plan ? {plan: result.plan} : {}),
  }
}

/** The document of a stored submission (`status ID`), without this run's figures. */
export function storedSubmissionDocument(store: Store, s: Submission): SubmissionDocument {
  return submissionDocument(store, {submission: s, resumed: [], alreadySubmitted: false, delivery: emptyDelivery(), exported: []})
}

/** Flussi of a submission in any of `states`. */
function countIn(states: Submission['states'], among: readonly FlussoState[]): number {
  return among.reduce((total, state) => total + (states[state] ?? 0), 0)
}

function refusedCount(states: Submission['states']): number {
  return countIn(states, REFUSED_STATES)
}

function baseDocument(s: Submission): Omit<SubmissionDocument, 'already_submitted' | 'resumed' | 'warnings' | 'sent' | 'duplicates' | 'rejected' | 'conflicts' | 'refused_not_listed' | 'resumed_refused' | 'exported'> {
  const n = (state: FlussoState): number => s.states[state] ?? 0
  const sum = (states: readonly FlussoState[]): number => countIn(s.states, states)
  return {
    submission: s.id,
    ente: s.ente,
    created_at: s.createdAt,
    transport: s.transport,
    // a password someone left in an endpoint URL is never shown
    endpoint: s.endpoint ? withoutPassword(s.endpoint) : null,
    source_file: s.sourceFile ?? null,
    rows: s.rows,
    valid: s.valid,
    errors: s.errors,
    flussi: s.flussi,
    states: s.states,
    accepted: n('accepted'),
    pending: sum(AWAITING_ESITO.filter((state) => state !== 'sending')),
    to_send: sum(UNDELIVERED_STATES),
  }
}

/** Rejected and conflicting flussi with their rows, the first LISTED_MAX of them. */
function refusedFlussi(store: Store, submissionId: string): {list: RefusedFlusso[]; more: number} {
  const byId = new Map<string, RefusedFlusso>()
  let more = 0
  for (const r of store.rowOutcomes(submissionId, ['rejected', 'conflict'])) {
    let f = byId.get(r.idFlusso)
    if (!f) {
      if (byId.size >= LISTED_MAX) {
        more++
        continue
      }
      byId.set(r.idFlusso, (f = {id_flusso: r.idFlusso, state: r.state, esito: r.esito, descrizione: r.esitoDescrizione, rows: []}))
    }
    f.rows.push(r.row)
  }
  return {list: [...byId.values()].sort((a, b) => a.id_flusso.localeCompare(b.id_flusso)), more}
}

/** The lines a person reads after `submit` or `status ID`. */
export function describeSubmission(doc: SubmissionDocument): string {
  const c = colourer()
  const lines: string[] = []
  const source = doc.source_file ? basename(doc.source_file) : 'standard input'
  if (doc.resumed.length > 0) lines.push(`Ripresi gli invii interrotti: ${doc.resumed.join(', ')}.`)
  if (doc.already_submitted) lines.push(`Nulla di nuovo in ${source} rispetto a quanto già inviato: nessun flusso.`)
  const p = doc.plan
  if (p && (p.unchanged > 0 || p.replace > 0 || p.waiting > 0 || p['cancel-missing'] > 0)) {
    const parts = [`${p.insert} nuove`, `${p.replace} cambiate (cancellazione + inserimento)`, `${p.unchanged} invariate`]
    if (p['cancel-missing'] > 0) parts.push(`${p['cancel-missing']} assenti dall'export cancellate`)
    if (p.waiting > 0) parts.push(`${p.waiting} in attesa dell'esito della versione precedente (rilancia dopo casellario sync)`)
    lines.push(`Confronto con quanto già inviato: ${parts.join(', ')}.`)
  }
  const where = `${doc.transport}${doc.endpoint ? ` → ${doc.endpoint}` : ''}`
  lines.push(
    doc.source_file
      ? `Invio ${c(doc.submission, 'bold')} (${where}), da ${source}: ${doc.valid} righe valide su ${doc.rows}, ${doc.errors} con errori.`
      : `Invio ${c(doc.submission, 'bold')} (${where}): ${doc.valid} cancellazioni (casellario cancel).`,
  )
  const parts = [`${doc.flussi} flussi`]
  if (doc.sent > 0) parts.push(`${doc.sent} consegnati ora${doc.duplicates > 0 ? ` (${doc.duplicates} già presenti all'endpoint)` : ''}`)
  parts.push(c(`${doc.accepted} accettati`, 'green'))
  const refused = doc.rejected.length + doc.conflicts.length + doc.refused_not_listed
  parts.push(refused > 0 ? c(`${refused} respinti`, 'red') : '0 respinti')
  if (doc.pending > 0) parts.push(c(`${doc.pending} in attesa di esito`, 'yellow'))
  if (doc.to_send > 0) parts.push(c(`${doc.to_send} da inviare`, 'yellow'))
  lines.push(`${parts.join(', ')}.`)
  for (const f of [...doc.rejected, ...doc.conflicts]) {
    const rows = f.rows.length === 1 ? `riga ${f.rows[0]}` : `righe ${f.rows.slice(0, 10).join(', ')}${f.rows.length > 10 ? ', …' : ''}`
    lines.push(`  ${c(f.state === 'conflict' ? 'CONFLITTO' : 'RESPINTO', 'red')} ${f.id_flusso} (${rows}): ${f.esito ?? ''}${f.descrizione ? ` — ${f.descrizione}` : ''}`)
  }
  for (const e of doc.exported.slice(0, 20)) lines.push(`  ${e.signed}`)
  if (refused > 0) lines.push(`Righe da correggere: casellario report ${doc.submission} --rejected da-correggere.csv`)
  if (doc.conflicts.length > 0) lines.push("I conflitti (stesso id_flusso con contenuto diverso all'endpoint) vanno verificati con chi gestisce l'endpoint.")
  if (doc.pending > 0 && doc.transport === 'push') lines.push('Per gli esiti: casellario sync (oppure submit … --wait 5m).')
  if (doc.transport === 'file' && doc.pending > 0) lines.push('Dopo il caricamento sul portale: casellario status ID_FLUSSO --set-esito OK|RICHIESTA_INVALIDA [--reason "…"].')
  return lines.join('\n')
}

/** One line per submission for `status`. */
export function submissionsTable(submissions: Submission[], opts: {ente?: boolean} = {}): string {
  const c = colourer()
  const rows = submissions.map((s) => {
    const d = baseDocument(s)
    const refused = (s.states.rejected ?? 0) + (s.states.conflict ?? 0)
    return [
      s.id,
      ...(opts.ente ? [s.ente] : []),
      s.createdAt.slice(0, 19).replace('T', ' '),
      s.flow,
      s.transport + (s.endpoint ? ` ${withoutPassword(s.endpoint)}` : ''),
      s.sourceFile ? basename(s.sourceFile) : '-',
      String(d.flussi),
      c(String(d.accepted), d.accepted > 0 ? 'green' : 'dim'),
      c(String(refused), refused > 0 ? 'red' : 'dim'),
      c(String(d.pending), d.pending > 0 ? 'yellow' : 'dim'),
      c(String(d.to_send), d.to_send > 0 ? 'yellow' : 'dim'),
    ]
  })
  return table(['INVIO', ...(opts.ente ? ['ENTE'] : []), 'CREATO (UTC)', 'FLUSSO', 'TRASPORTO', 'FILE', 'FLUSSI', 'ACCETTATI', 'RESPINTI', 'IN ATTESA', 'DA INVIARE'], rows)
}

const ACTION_LABELS: Record<RowAction, string> = {
  insert: 'nuove (inserimento)',
  replace: 'cambiate (cancellazione della versione accettata + inserimento)',
  unchanged: 'invariate (non inviate)',
  waiting: 'in attesa: la versione precedente non ha ancora un esito',
  cancel: 'cancellazioni richieste nel foglio',
  refused: 'rifiutate',
  'cancel-missing': 'cancellate perché assenti dall’export (--cancel-missing)',
}

/** `submit --dry-run` for a person: what would be sent, by kind of row. */
export function describePlan(counts: PlanCounts, rows: PlanRow[]): string {
  const lines = ['Prova a vuoto: nulla è stato inviato né registrato.']
  for (const [action, n] of Object.entries(counts) as Array<[RowAction, number]>) if (n > 0) lines.push(`  ${String(n).padStart(7)}  ${ACTION_LABELS[action]}`)
  const cancellations = counts.replace + counts.cancel + counts['cancel-missing']
  lines.push(`Flussi che partirebbero: ${cancellations} cancellazioni (TipoOperazione=C), poi ${counts.insert + counts.replace} inserimenti.`)
  for (const r of rows.filter((x) => x.action === 'refused' || x.action === 'waiting').slice(0, 20)) {
    lines.push(`  riga ${r.row}: ${r.reason}${r.previous ? ` (${r.previous})` : ''}`)
  }
  return lines.join('\n')
}
