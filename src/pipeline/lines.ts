import type {RecordDetail} from '../store/sqlite.js'
import type {EnteIdentity} from '../flows/ente.js'

/**
 * A rendered record on its way to a flusso: its beneficiary's opening and its prestazione, as
 * UTF-8 XML, with the spreadsheet row it came from and its beneficiary's number.
 */
export interface SpoolLine {
  group: number
  row: number
  /** rendered Beneficiario opening and PrestazioniSociali, UTF-8 */
  header: Buffer
  record: Buffer
  /** the row's own ente, when the spreadsheet names one per row */
  ente?: EnteIdentity
}

/** A record to write: the spool's line plus what the store keeps about it. */
export interface PlannedLine extends SpoolLine {
  detail: RecordDetail
}

/**
 * The plan step (delta detection, DESIGN §9): reads the run's records (twice, if it must) and
 * yields what to send, cancellations first. The pipeline hands it the records and packages what
 * it yields; the planner itself belongs to the submission that made it.
 */
export interface Planner {
  lines(spool: () => Iterable<SpoolLine>): Iterable<PlannedLine>
}

/**
 * Whether a line belongs to an ente other than the run's. Codes compare case-insensitively: a row
 * writes its code in upper case, the run keeps the store's existing spelling (see checkEnte).
 */
export function ofOtherEnte(line: {ente?: EnteIdentity}, run: string): line is {ente: EnteIdentity} {
  return line.ente !== undefined && line.ente.codice.toUpperCase() !== run.toUpperCase()
}
