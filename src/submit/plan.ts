import {createHash} from 'node:crypto'

import type {EnteIdentity} from '../flows/ente.js'
import type {FieldSpec, FlowSpec} from '../flows/model.js'
import {message} from '../i18n/messages.js'
import type {LiveRecord, RecordDetail, Store} from '../store/sqlite.js'
import type {Finding} from '../validate/finding.js'
import {ofOtherEnte, type PlannedLine, type Planner, type SpoolLine} from '../pipeline/lines.js'

/**
 * Delta detection (DESIGN §9): a repeated export is compared, prestazione by prestazione, with
 * what INPS has. Unchanged → skipped; changed → a cancellation (TipoOperazione=C) carrying exactly
 * the accepted version's bytes, then an insertion of the new one; new → insertion. A change to a
 * version whose esito is not known yet waits (the cancellation needs it accepted). Rows missing
 * from the export are cancelled only on request, within the export's periods and ente.
 *
 * It works on rendered records (what INPS receives), so identity and fingerprint are the same
 * for every spreadsheet layout and template, and for every flow the model describes.
 */

export type RowAction = 'insert' | 'replace' | 'unchanged' | 'waiting' | 'cancel' | 'refused' | 'cancel-missing'

export interface PlanRow {
  /** spreadsheet row; 0 for a prestazione missing from the export */
  row: number
  action: RowAction
  /** the flusso holding the version INPS has, when there is one */
  previous?: string
  /** why a row is refused or waiting (code) */
  reason?: string
  /** the prestazione's year: a row split per year (DESIGN §5) has one decision per part */
  year?: string
}

export type PlanCounts = Record<RowAction, number>

export type {PlannedLine} from '../pipeline/lines.js'

const INSERT = 1

export class DeltaPlanner implements Planner {
  readonly counts: PlanCounts = {insert: 0, replace: 0, unchanged: 0, waiting: 0, cancel: 0, refused: 0, 'cancel-missing': 0}
  private cancellations = 0
  /** the year of the record being decided */
  private year = ''

  constructor(
    private readonly store: Store,
    private readonly flow: FlowSpec,
    /** the run's ente: a line naming its own (Ente_* columns) is compared within that ente */
    private readonly ente: string,
    /** where INPS's copy is: the same prestazione sent to the sandbox and to INPS are two things */
    private readonly destination: {transport: string; endpoint?: string},
    private readonly opts: {cancelMissing?: boolean; onRow?: (row: PlanRow) => void; onFinding?: (finding: Finding) => void} = {},
  ) {
    store.requireIdentityKeyIfPurged()
  }

  /** Cancellations first (as they are decided), then insertions, reading the spool twice. */
  *lines(spool: () => Iterable<SpoolLine>): Generator<PlannedLine> {
    const present = this.store.identityScratch()
    let decisions: Uint8Array = new Uint8Array(1024)
    // per ente: --cancel-missing never crosses enti (DESIGN §9); the enti the rows name, by code
    const periods = new Map<string, Set<string>>()
    const enti = new Map<string, EnteIdentity>()
    let n = 0
    for (const line of spool()) {
      if (n === decisions.length) decisions = grow(decisions)
      const record = this.describe(line)
      this.year = record.period
      const ordinal = n++
      // asked together: on PostgreSQL the two travel in one round trip
      const seen = present.remember(record.identity, line.row)
      const live = this.store.liveRecord(record.identity)
      if (!seen.isNew) {
        this.decide({row: line.row, action: 'refused', reason: 'DUPLICATE_IN_EXPORT'}, {riga: present.firstRow(record.identity)!})
        continue
      }
      if (record.op === 'C') {
        // an explicit cancellation sends back the version INPS has, never the spreadsheet's
        if (live?.purged) this.refusePurged(line.row, live)
        else if (live?.state === 'accepted') {
          this.decide({row: line.row, action: 'cancel', previous: live.idFlusso})
          yield this.cancellation(live, record.identity, line.row, line.ente)
        } else this.decide({row: line.row, action: live ? 'waiting' : 'refused', previous: live?.idFlusso, reason: live ? 'PREVIOUS_AWAITING_ESITO' : 'CANCEL_NOT_ACCEPTED'}, {flusso: live?.idFlusso ?? ''})
        continue
      }
      if (record.period) {
        const ente = this.enteOf(line)
        if (!periods.has(ente)) periods.set(ente, new Set())
        periods.get(ente)!.add(record.period)
        if (ofOtherEnte(line, this.ente) && !enti.has(ente)) enti.set(ente, line.ente)
      }
      if (!live) {
        decisions[ordinal] = INSERT
        this.decide({row: line.row, action: 'insert'})
      } else if (live.fingerprint === (live.purged ? this.store.keyed(record.fingerprint) : record.fingerprint)) {
        this.decide({row: line.row, action: 'unchanged', previous: live.idFlusso})
      } else if (live.purged) {
        this.refusePurged(line.row, live)
      } else if (live.state !== 'accepted') {
        this.decide({row: line.row, action: 'waiting', previous: live.idFlusso, reason: 'PREVIOUS_AWAITING_ESITO'}, {flusso: live.idFlusso})
      } else {
        decisions[ordinal] = INSERT
        this.decide({row: line.row, action: 'replace', previous: live.idFlusso})
        yield this.cancellation(live, record.identity, line.row, line.ente)
      }
    }
    this.year = ''
    if (this.opts.cancelMissing && this.flow.delta.operation) {
      if (!periods.has(this.ente)) periods.set(this.ente, new Set())
      const missing = [...periods].flatMap(([ente, years]) =>
        this.store.liveIdentitiesMissingFrom(present.table, {ente, flow: this.flow.id, ...this.destination}, [...years]).map((identity) => ({identity, ente: enti.get(ente)})),
      )
      for (const {identity, ente} of missing) {
        const live = this.store.liveRecord(identity)
        if (!live) continue
        if (live.state !== 'accepted') {
          this.decide({row: 0, action: 'waiting', previous: live.idFlusso, reason: 'PREVIOUS_AWAITING_ESITO'}, {flusso: live.idFlusso})
          continue
        }
        this.decide({row: 0, action: 'cancel-missing', previous: live.idFlusso})
        yield this.cancellation(live, identity, 0, ente)
      }
    }
    // the second pass describes its records again rather than keeping a million identities from
    // the first in memory: hashing is cheap, memory stays flat
    let i = 0
    for (const line of spool()) {
      if (decisions[i++] !== INSERT) continue
      yield {...line, detail: {...this.describe(line), header: line.header, record: line.record}}
    }
  }

  /** Counts the decision; a refused or waiting row is also a finding at its row, like any other problem. */
  private decide(row: PlanRow, params: Record<string, string | number> = {}): void {
    if (this.year) row.year = this.year
    this.counts[row.action]++
    this.opts.onRow?.(row)
    if (row.reason) {
      const severity = row.action === 'refused' ? 'error' : 'warning'
      this.opts.onFinding?.({row: row.row, column: '', field: '', code: row.reason, severity, message: message(row.reason, params)})
    }
  }

  /** A change to (or a cancellation of) a purged version: the bytes a cancellation must carry are gone. */
  private refusePurged(row: number, live: LiveRecord): void {
    this.decide({row, action: 'refused', previous: live.idFlusso, reason: 'PURGED_NOT_CANCELLABLE'}, {flusso: live.idFlusso})
  }

  /** A cancellation of the version INPS has, in the ente it belongs to (its submission, its flusso's name and Ente). */
  private cancellation(live: LiveRecord, identity: string, row: number, ente: EnteIdentity | undefined): PlannedLine {
    return {...cancellationOf(live, this.flow, identity, row, this.cancellations++), ...(ente ? {ente} : {})}
  }

  private describe(line: SpoolLine): Omit<RecordDetail, 'header' | 'record'> {
    return describeRecord(this.flow, this.enteOf(line), this.destination, line.header, line.record)
  }

  /** The ente a line belongs to: its own when the row names one, the run's otherwise. */
  private enteOf(line: SpoolLine): string {
    return ofOtherEnte(line, this.ente) ? line.ente.codice : this.ente
  }
}

/**
 * What the store keeps to recognise a rendered record later: its identity (destination, ente,
 * flow and the identity fields), its fingerprint (all INPS receives but the operation), its
 * operation and its year. `import` describes the records of earlier flussi the same way.
 */
export function describeRecord(
  flow: FlowSpec,
  ente: string,
  destination: {transport: string; endpoint?: string},
  header: Buffer,
  record: Buffer,
): Omit<RecordDetail, 'header' | 'record'> {
  const {identity, period, operation} = flow.delta
  const bytes = [header, record]
  const values = identity.map((f) => attribute(bytes, f))
  const op = operation && attribute(bytes, operation) === 'C' ? 'C' : 'I'
  return {
    identity: identityOf(destination, ente, flow, values),
    // the content INPS receives, apart from the operation itself
    fingerprint: createHash('sha256').update(header).update(op === 'C' ? withOperation(record, flow, 'I') : record).digest('hex'),
    op,
    period: period.map((f) => attribute(bytes, f).slice(0, 4)).find((y) => y !== '') ?? '',
  }
}

/**
 * What makes a prestazione the same one at one destination: its identity fields' rendered (escaped)
 * values, in the flow's order, hashed with the destination, ente and flow.
 */
export function identityOf(destination: {transport: string; endpoint?: string}, ente: string, flow: FlowSpec, values: string[]): string {
  return createHash('sha256')
    .update([destination.transport === 'push' ? (destination.endpoint ?? '') : 'inps', ente, flow.id, ...values].join('\u001F'))
    .digest('hex')
}

/** The accepted version, byte for byte, with TipoOperazione="C": its own beneficiary element. */
export function cancellationOf(live: LiveRecord, flow: FlowSpec, identity: string, row: number, ordinal: number): PlannedLine {
  const record = withOperation(live.record, flow, 'C')
  return {
    group: -1 - ordinal,
    row,
    header: live.header,
    record,
    detail: {identity, fingerprint: live.fingerprint, op: 'C', period: live.period, header: live.header, record, cancels: {idFlusso: live.idFlusso, seq: live.seq}},
  }
}

function grow(a: Uint8Array): Uint8Array {
  const bigger = new Uint8Array(a.length * 2)
  bigger.set(a)
  return bigger
}

/** An attribute's (escaped) value in rendered XML: ` Name="…"`, searched in each part. */
function attribute(parts: Buffer[], field: FieldSpec): string {
  const needle = ` ${field.xml}="`
  for (const part of parts) {
    const at = part.indexOf(needle)
    if (at < 0) continue
    const start = at + needle.length
    return part.toString('utf8', start, part.indexOf(34, start))
  }
  return ''
}

/** The record element with its operation attribute set to `op` (added when absent). */
export function withOperation(record: Buffer, flow: FlowSpec, op: 'I' | 'C'): Buffer {
  const field = flow.delta.operation
  if (!field) return record
  const needle = Buffer.from(` ${field.xml}="`)
  const at = record.indexOf(needle)
  if (at >= 0) {
    const copy = Buffer.from(record)
    copy[at + needle.length] = op.charCodeAt(0)
    return copy
  }
  const open = Buffer.from(`<${flow.record?.name ?? flow.group.name}`)
  const start = record.indexOf(open)
  if (start < 0) return record
  const cut = start + open.length
  return Buffer.concat([record.subarray(0, cut), Buffer.from(` ${field.xml}="${op}"`), record.subarray(cut)])
}
