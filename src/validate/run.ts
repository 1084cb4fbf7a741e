import type {FieldSpec, FlowSpec, Severity} from '../flows/model.js'
import {message} from '../i18n/messages.js'
import {openSheet, type ReaderIssue} from '../input/index.js'
import {compileMapping, type Mapping, type Template} from '../mapping/index.js'
import {GroupTable} from './group-table.js'
import {compileRecordValidator, type RecordProblem} from './record.js'

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

export interface ValidRecord {
  row: number
  /** canonical values, '' = absent */
  values: string[]
  /** beneficiary number in order of first appearance */
  group: number
  groupIsNew: boolean
}

export interface ValidationSummary {
  rows: number
  records: number
  valid: number
  errors: number
  warnings: number
  format: string
  encoding?: string
  delimiter?: string
  /** beneficiaries (distinct group keys) among valid records */
  groups: number
  /** true when some beneficiary's rows are not contiguous in the file */
  scattered: boolean
}

export interface ValidateOptions {
  flow: FlowSpec
  template?: Template
  sheet?: string
  /** for plausibility of years; defaults to today */
  currentYear?: number
  onFinding: (finding: Finding) => void
  /** records without errors, in file order */
  onRecord?: (record: ValidRecord) => void
}

const READER_SEVERITY: Record<ReaderIssue['code'], Severity> = {
  FILE_EMPTY: 'error',
  FILE_BINARY: 'error',
  FILE_UNREADABLE: 'error',
  SHEET_NOT_FOUND: 'error',
  ROW_TOO_LONG: 'error',
  UNTERMINATED_QUOTE: 'error',
  INVALID_CHARACTER: 'error',
}

/**
 * Reads, maps and validates a spreadsheet in one streaming pass. Every row ends up either as
 * a valid record (`onRecord`) or with at least one error finding: nothing is dropped silently.
 */
export async function validateFile(source: string, opts: ValidateOptions): Promise<ValidationSummary> {
  const {flow} = opts
  const summary = {rows: 0, records: 0, valid: 0, errors: 0, warnings: 0, groups: 0, scattered: false}
  const report = (f: Omit<Finding, 'message'> & {params?: Record<string, string | number>}): void => {
    const {params, ...rest} = f
    if (f.severity === 'error') summary.errors++
    else summary.warnings++
    opts.onFinding({...rest, message: message(f.code, params)})
  }
  /** rows the reader already found broken: they must not pass as valid */
  const brokenRows = new Set<number>()
  const sheet = await openSheet(source, {
    sheet: opts.sheet,
    onIssue: (issue) => {
      if (issue.row > 0) brokenRows.add(issue.row)
      if (issue.code === 'ROW_TOO_LONG') summary.rows++
      report({row: issue.row, column: '', field: '', code: issue.code, severity: READER_SEVERITY[issue.code], params: issue.params})
    },
  })
  const base = {format: sheet.info.format, encoding: sheet.info.encoding, delimiter: sheet.info.delimiter}
  try {
    if (sheet.header.length === 0) return {...summary, ...base}
    const mapping = compileMapping(flow, sheet.header, opts.template, sheet.info.format)
    for (const p of mapping.problems) {
      report({row: sheet.headerRow, column: p.column, field: p.field, code: p.code, severity: 'error', params: {column: p.column, field: p.field}})
    }
    if (mapping.problems.length > 0) {
      // a wrong header makes every row wrong: say it once, read no further
      return {...summary, ...base}
    }
    const validate = compileRecordValidator(flow, {currentYear: opts.currentYear ?? new Date().getFullYear()})
    const toFinding = findingMaker(mapping, report)
    const upperCase = flow.fields.filter((f) => f.type.kind === 'codiceFiscale' || f.type.kind === 'belfiore').map((f) => f.index)
    const groups = new GroupTable()
    const keyIndex = flow.groupKey.index
    const groupFields = flow.groupFields.filter((f) => f !== flow.groupKey)
    const groupIndexes = groupFields.map((f) => f.index)
    const headerWidth = sheet.header.length
    let lastGroup = -1

    for await (const batch of sheet.batches) {
      for (const {row, cells} of batch) {
        summary.rows++
        if (cells.length > headerWidth && cells.slice(headerWidth).some((c) => c.trim() !== '')) {
          report({row, column: '', field: '', code: 'ROW_EXTRA_CELLS', severity: 'error', params: {cells: cells.length, header: headerWidth}})
          brokenRows.add(row)
        }
        const values = mapping.extract(cells)
        summary.records++
        for (const i of upperCase) values[i] = values[i].toUpperCase()
        const problems = validate(values)
        let hasError = brokenRows.delete(row)
        for (const p of problems) {
          toFinding(row, p)
          if (p.severity === 'error') hasError = true
        }
        if (hasError) continue
        const key = values[keyIndex]
        if (!GroupTable.fits(key)) continue
        const g = groups.lookup(key, values, groupIndexes, row)
        if (g.differing.length > 0) {
          for (const d of g.differing) {
            toFinding(row, {field: d < 0 ? flow.groupKey : groupFields[d], code: 'BENEFICIARY_INCONSISTENT', severity: 'error', params: {riga: g.firstRow}})
          }
          continue
        }
        if (!g.isNew && g.group !== lastGroup) summary.scattered = true
        lastGroup = g.group
        summary.valid++
        opts.onRecord?.({row, values, group: g.group, groupIsNew: g.isNew})
      }
    }
    summary.groups = groups.size
    return {...summary, ...base}
  } finally {
    await sheet.close()
  }
}

function findingMaker(mapping: Mapping, report: (f: Omit<Finding, 'message'> & {params?: Record<string, string | number>}) => void) {
  return (row: number, p: RecordProblem | {field: FieldSpec; code: string; severity: Severity; params?: Record<string, string | number>}): void => {
    const source = mapping.sourceIndex[p.field.index]
    report({
      row,
      column: mapping.sourceColumn[p.field.index] || p.field.column,
      field: p.field.column,
      code: p.code,
      severity: p.severity,
      params: p.params,
      ...(source > 0 ? {cell: `${columnLetter(source)}${row}`} : {}),
    })
  }
}

/** 1 → A, 27 → AA */
export function columnLetter(n: number): string {
  let s = ''
  for (let x = n; x > 0; x = Math.floor((x - 1) / 26)) s = String.fromCharCode(65 + ((x - 1) % 26)) + s
  return s
}
