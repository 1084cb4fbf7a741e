import {basename} from 'node:path'

import {withoutPassword} from '../config/url.js'
import {colourer, table} from './terminal.js'
import {count, lang, NOUNS, say} from '../i18n/messages.js'
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
  /** a file naming other enti (Ente_Codice, WaaS): their submissions, one per ente, recorded by the same run */
  other_enti?: OtherEnteSubmission[]
}

/** Another ente's submission recorded by the same run: its rows and flussi. */
export type OtherEnteSubmission = Pick<SubmissionDocument, 'submission' | 'ente' | 'rows' | 'valid' | 'flussi' | 'states' | 'accepted' | 'pending' | 'to_send'>

const LISTED_MAX = 1000

export function submissionDocument(
  store: Store,
  result: Pick<SubmitResult, 'submission' | 'resumed' | 'alreadySubmitted' | 'summary' | 'delivery' | 'exported'> & {plan?: PlanCounts; others?: Submission[]},
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
    ...(result.others && result.others.length > 0 ? {other_enti: result.others.map(otherEnteSubmission)} : {}),
  }
}

function otherEnteSubmission(s: Submission): OtherEnteSubmission {
  const {submission, ente, rows, valid, flussi, states, accepted, pending, to_send} = baseDocument(s)
  return {submission, ente, rows, valid, flussi, states, accepted, pending, to_send}
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
  const source = doc.source_file ? basename(doc.source_file) : say({it: 'standard input', en: 'standard input'})
  if (doc.resumed.length > 0) lines.push(say({it: `Ripresi gli invii interrotti: ${doc.resumed.join(', ')}.`, en: `Resumed the interrupted submissions: ${doc.resumed.join(', ')}.`}))
  if (doc.already_submitted) lines.push(say({it: `Nulla di nuovo in ${source} rispetto a quanto già inviato: nessun flusso.`, en: `Nothing new in ${source} compared with what was already sent: no flussi.`}))
  const p = doc.plan
  if (p && (p.unchanged > 0 || p.replace > 0 || p.waiting > 0 || p['cancel-missing'] > 0)) {
    const parts = [
      say({it: `${p.insert} nuove`, en: `${p.insert} new`}),
      say({it: `${p.replace} cambiate (cancellazione + inserimento)`, en: `${p.replace} changed (cancellation + insertion)`}),
      say({it: `${p.unchanged} invariate`, en: `${p.unchanged} unchanged`}),
    ]
    if (p['cancel-missing'] > 0) parts.push(say({it: `${p['cancel-missing']} assenti dall'export cancellate`, en: `${p['cancel-missing']} missing from the export, cancelled`}))
    if (p.waiting > 0) {
      parts.push(say({
        it: `${p.waiting} in attesa dell'esito della versione precedente (rilancia dopo casellario sync)`,
        en: `${p.waiting} waiting for the esito of the previous version (run again after casellario sync)`,
      }))
    }
    lines.push(say({it: `Confronto con quanto già inviato: ${parts.join(', ')}.`, en: `Compared with what was already sent: ${parts.join(', ')}.`}))
  }
  const where = `${doc.transport}${doc.endpoint ? ` → ${doc.endpoint}` : ''}`
  lines.push(
    doc.source_file
      ? say({
          it: `Invio ${c(doc.submission, 'bold')} (${where}), da ${source}: ${count(doc.valid, NOUNS.validRow)} su ${doc.rows}, ${doc.errors} con errori.`,
          en: `Submission ${c(doc.submission, 'bold')} (${where}), from ${source}: ${count(doc.valid, NOUNS.validRow)} of ${doc.rows}, ${doc.errors} with errors.`,
        })
      : say({
          it: `Invio ${c(doc.submission, 'bold')} (${where}): ${count(doc.valid, NOUNS.cancellation)} (casellario cancel).`,
          en: `Submission ${c(doc.submission, 'bold')} (${where}): ${count(doc.valid, NOUNS.cancellation)} (casellario cancel).`,
        }),
  )
  const parts = [count(doc.flussi, NOUNS.flusso)]
  if (doc.sent > 0) {
    parts.push(say({
      it: `${count(doc.sent, NOUNS.deliveredNow)}${doc.duplicates > 0 ? ` (${doc.duplicates} già presenti all'endpoint)` : ''}`,
      en: `${count(doc.sent, NOUNS.deliveredNow)}${doc.duplicates > 0 ? ` (${doc.duplicates} already at the endpoint)` : ''}`,
    }))
  }
  parts.push(c(count(doc.accepted, NOUNS.accepted), 'green'))
  const refused = doc.rejected.length + doc.conflicts.length + doc.refused_not_listed
  parts.push(refused > 0 ? c(count(refused, NOUNS.rejected), 'red') : count(0, NOUNS.rejected))
  if (doc.pending > 0) parts.push(c(say({it: `${doc.pending} in attesa di esito`, en: `${doc.pending} awaiting esito`}), 'yellow'))
  if (doc.to_send > 0) parts.push(c(say({it: `${doc.to_send} da inviare`, en: `${doc.to_send} to send`}), 'yellow'))
  lines.push(`${parts.join(', ')}.`)
  for (const o of doc.other_enti ?? []) {
    lines.push(say({
      it: `  Ente ${c(o.ente, 'bold')}: invio ${o.submission}, ${count(o.valid, NOUNS.validRow)}, ${count(o.flussi, NOUNS.flusso)} (casellario status --ente ${o.ente}).`,
      en: `  Ente ${c(o.ente, 'bold')}: submission ${o.submission}, ${count(o.valid, NOUNS.validRow)}, ${count(o.flussi, NOUNS.flusso)} (casellario status --ente ${o.ente}).`,
    }))
  }
  for (const f of [...doc.rejected, ...doc.conflicts]) {
    const listed = `${f.rows.slice(0, 10).join(', ')}${f.rows.length > 10 ? ', …' : ''}`
    const rows = f.rows.length === 1 ? say({it: `riga ${f.rows[0]}`, en: `row ${f.rows[0]}`}) : say({it: `righe ${listed}`, en: `rows ${listed}`})
    const label = f.state === 'conflict' ? say({it: 'CONFLITTO', en: 'CONFLICT'}) : say({it: 'RESPINTO', en: 'REJECTED'})
    lines.push(`  ${c(label, 'red')} ${f.id_flusso} (${rows}): ${f.esito ?? ''}${f.descrizione ? ` — ${f.descrizione}` : ''}`)
  }
  for (const e of doc.exported.slice(0, 20)) lines.push(`  ${e.signed}`)
  if (refused > 0) {
    lines.push(say({
      it: `Righe da correggere: casellario report ${doc.submission} --rejected da-correggere.csv`,
      en: `Rows to correct: casellario report ${doc.submission} --rejected to-correct.csv`,
    }))
  }
  if (doc.conflicts.length > 0) {
    lines.push(say({
      it: "I conflitti (stesso id_flusso con contenuto diverso all'endpoint) vanno verificati con chi gestisce l'endpoint.",
      en: 'Conflicts (the same id_flusso with different content at the endpoint) must be checked with whoever runs the endpoint.',
    }))
  }
  if (doc.pending > 0 && doc.transport === 'push') lines.push(say({it: 'Per gli esiti: casellario sync (oppure submit … --wait 5m).', en: 'For the esiti: casellario sync (or submit … --wait 5m).'}))
  if (doc.transport === 'file' && doc.pending > 0) {
    lines.push(say({
      it: 'Dopo il caricamento sul portale: casellario status ID_FLUSSO --set-esito OK|RICHIESTA_INVALIDA [--reason "…"].',
      en: 'After uploading to the portal: casellario status ID_FLUSSO --set-esito OK|RICHIESTA_INVALIDA [--reason "…"].',
    }))
  }
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
  const header =
    lang() === 'en'
      ? ['SUBMISSION', ...(opts.ente ? ['ENTE'] : []), 'CREATED (UTC)', 'FLOW', 'TRANSPORT', 'FILE', 'FLUSSI', 'ACCEPTED', 'REJECTED', 'AWAITING', 'TO SEND']
      : ['INVIO', ...(opts.ente ? ['ENTE'] : []), 'CREATO (UTC)', 'FLUSSO', 'TRASPORTO', 'FILE', 'FLUSSI', 'ACCETTATI', 'RESPINTI', 'IN ATTESA', 'DA INVIARE']
  return table(header, rows)
}

const ACTION_LABELS: Record<RowAction, {it: string; en: string}> = {
  insert: {it: 'nuove (inserimento)', en: 'new (insertion)'},
  replace: {it: 'cambiate (cancellazione della versione accettata + inserimento)', en: 'changed (cancellation of the accepted version + insertion)'},
  unchanged: {it: 'invariate (non inviate)', en: 'unchanged (not sent)'},
  waiting: {it: 'in attesa: la versione precedente non ha ancora un esito', en: 'waiting: the previous version has no esito yet'},
  cancel: {it: 'cancellazioni richieste nel foglio', en: 'cancellations asked for in the sheet'},
  refused: {it: 'rifiutate', en: 'refused'},
  'cancel-missing': {it: 'cancellate perché assenti dall’export (--cancel-missing)', en: 'cancelled because missing from the export (--cancel-missing)'},
}

/** `submit --dry-run` for a person: what would be sent, by kind of row. */
export function describePlan(counts: PlanCounts, rows: PlanRow[]): string {
  const lines = [say({it: 'Prova a vuoto: nulla è stato inviato né registrato.', en: 'Dry run: nothing was sent or recorded.'})]
  for (const [action, n] of Object.entries(counts) as Array<[RowAction, number]>) if (n > 0) lines.push(`  ${String(n).padStart(7)}  ${say(ACTION_LABELS[action])}`)
  const cancellations = counts.replace + counts.cancel + counts['cancel-missing']
  const insertions = counts.insert + counts.replace
  lines.push(say({
    it: `Flussi che partirebbero: ${count(cancellations, NOUNS.cancellation)} (TipoOperazione=C), poi ${count(insertions, NOUNS.insertion)}.`,
    en: `Flussi that would go out: ${count(cancellations, NOUNS.cancellation)} (TipoOperazione=C), then ${count(insertions, NOUNS.insertion)}.`,
  }))
  for (const r of rows.filter((x) => x.action === 'refused' || x.action === 'waiting').slice(0, 20)) {
    lines.push(`  ${say({it: 'riga', en: 'row'})} ${r.row}: ${r.reason}${r.previous ? ` (${r.previous})` : ''}`)
  }
  return lines.join('\n')
}
