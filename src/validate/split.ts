import {sameYear} from '../flows/common-rules.js'
import type {YearSplitSpec} from '../flows/model.js'

/**
 * DESIGN §5 "Multi-year services": a periodic prestazione from October to March is one row in the
 * Comune's software and, by the spec's same-year rule, one record per calendar year for INPS.
 * Each part keeps the row's data, with its own period; the months of erogazione, when the row
 * gives them, become the months of that year.
 */

export interface YearPart {
  start: string
  end: string
  /** PeriodoErogazione of the part ('' when the row gave none) */
  months: string
}

/** A row that became several records: its spreadsheet row and each part's period. */
export interface SplitNotice {
  row: number
  parts: Array<{start: string; end: string}>
}

/**
 * The per-year parts of a valid record, or undefined when it stays whole: not a splittable kind,
 * open-ended, within one year, or with an end before its start (which validation reports).
 */
export function yearParts(spec: YearSplitSpec, values: readonly string[]): YearPart[] | undefined {
  if (values[spec.when.index] !== spec.is) return undefined
  const start = values[spec.start.index]
  const end = values[spec.end.index]
  // most rows end in their start's year: decided on the characters, without numbers or substrings
  if (start.length !== 10 || end.length !== 10 || end <= start || sameYear(start, end)) return undefined
  const first = Number(start.slice(0, 4))
  const last = Number(end.slice(0, 4))
  const withMonths = values[spec.months.index] !== ''
  const parts: YearPart[] = []
  for (let year = first; year <= last; year++) {
    const s = year === first ? start : `${year}-01-01`
    const e = year === last ? end : `${year}-12-31`
    parts.push({start: s, end: e, months: withMonths ? String(Number(e.slice(5, 7)) - Number(s.slice(5, 7)) + 1) : ''})
  }
  return parts
}
