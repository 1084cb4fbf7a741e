import type {Severity} from '../flows/model.js'

/** DESIGN §5: what the operator reads to fix a row. */
export interface Finding {
  /** spreadsheet row (header = 1); 0 for the file as a whole */
  row: number
  /** the column header as it is in the user's file ('' when the problem is the whole row or file) */
  column: string
  /** canonical field name */
  field: string
  code: string
  severity: Severity
  message: string
  /** cell reference such as "F12", when the column is known */
  cell?: string
}

/** A problem found in one row, before it is put in the operator's terms (see Finding). */
export interface RowFinding {
  /** row as the spreadsheet shows it (relative to the chunk for worker chunks) */
  row: number
  /** canonical field index, -1 for the row as a whole */
  field: number
  code: string
  error: boolean
  params?: Record<string, string | number>
}

/** 1 → A, 27 → AA */
export function columnLetter(n: number): string {
  let s = ''
  for (let x = n; x > 0; x = Math.floor((x - 1) / 26)) s = String.fromCharCode(65 + ((x - 1) % 26)) + s
  return s
}
