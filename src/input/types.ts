/**
 * What every spreadsheet reader produces: the header cells, then the data rows in batches
 * (batches keep the per-row async overhead off the 1M-row hot path).
 * Row numbers are the ones the spreadsheet shows: the header is row 1 (or wherever it is),
 * the first data row after it is the next row number.
 */
export interface SheetRow {
  /** row number as the spreadsheet shows it (1-based) */
  row: number
  /** cell texts; '' for an empty cell. Dates from XLSX/ODS as YYYY-MM-DD, numbers as plain decimal text */
  cells: string[]
}

/** A problem found while reading, before any field is looked at. */
export interface ReaderIssue {
  row: number
  code: ReaderIssueCode
  /** values for the message template (no personal data) */
  params?: Record<string, string | number>
}

export type ReaderIssueCode =
  | 'FILE_EMPTY'
  | 'FILE_BINARY'
  | 'FILE_UNREADABLE'
  | 'ZIP_BOMB'
  | 'FILE_TOO_LARGE'
  | 'SHEET_NOT_FOUND'
  | 'ROW_TOO_LONG'
  | 'UNTERMINATED_QUOTE'
  | 'INVALID_CHARACTER'

export interface SheetInfo {
  format: 'csv' | 'xlsx' | 'ods'
  encoding?: string
  delimiter?: string
  sheet?: string
}

export interface Sheet {
  info: SheetInfo
  /** header cells ([] when the file has no rows at all) */
  header: string[]
  headerRow: number
  /** data rows after the header; may be iterated once */
  batches: AsyncIterable<SheetRow[]>
}

export interface ReadOptions {
  /** called for every reader-level problem; reading goes on where it can */
  onIssue: (issue: ReaderIssue) => void
  /** worksheet name or 1-based index for XLSX/ODS (default: the first) */
  sheet?: string
}

/** Longest record a reader accepts; longer ones are reported (ROW_TOO_LONG) and skipped, so memory stays bounded. */
export const MAX_ROW_CHARS = 1 << 20
export const BATCH_ROWS = 2048
