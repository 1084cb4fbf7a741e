import {closeSync, openSync, writeSync} from 'node:fs'

import {errorDocument, exitCodeOf} from '../errors/index.js'

import {message, say} from '../i18n/messages.js'
import type {Finding} from '../validate/finding.js'
import type {SplitNotice} from '../validate/split.js'

/**
 * Outputs for findings, all streamed so that a file with a million defects never sits in memory:
 * the operator's spreadsheet (--report), the JSON document (--json) and the terminal lines.
 */

const REPORT_COLUMNS = ['riga', 'cella', 'colonna', 'campo', 'codice', 'gravita', 'messaggio'] as const

/** A cell Excel would take as a formula (=, +, -, @, or a leading tab/CR) is neutralised with a quote. */
export function neutraliseFormula(value: string): string {
  return /^[=+\-@\t\r]/.test(value) ? `'${value}` : value
}

export function csvCell(value: string | number): string {
  const s = neutraliseFormula(String(value))
  return /[";\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s
}

/** `validate --report FILE.csv`: `;`-separated UTF-8 with BOM, as Italian Excel opens it; 0600. */
export class FindingsReport {
  private readonly fd: number
  constructor(path: string) {
    this.fd = openSync(path, 'w', 0o600)
    writeSync(this.fd, `\uFEFF${REPORT_COLUMNS.join(';')}\r\n`)
  }

  add(f: Finding): void {
    const cells = [f.row, f.cell ?? '', f.column, f.field, f.code, severityWord(f.severity), f.message]
    writeSync(this.fd, `${cells.map(csvCell).join(';')}\r\n`)
  }

  /** A last line saying how many findings were left out (the operator must not think the list is complete). */
  note(text: string): void {
    writeSync(this.fd, `${['', '', '', '', '', '', csvCell(text)].join(';')}\r\n`)
  }

  close(): void {
    closeSync(this.fd)
  }
}

/** Findings listed by default before the rest are only counted (`--max-findings`). */
export const DEFAULT_MAX_FINDINGS = 10_000

/**
 * Where a command's findings go — terminal lines, the --json document, the --report file — with at
 * most `max` listed: a broken file can have a million defects, and listing them all would cost
 * gigabytes of output and memory while helping nobody. The rest are counted (`findings_total`).
 */
export class FindingsOutput {
  total = 0
  readonly json: StreamingJsonDocument | undefined
  private readonly report: FindingsReport | undefined

  constructor(private readonly opts: {max: number; json: boolean; report?: string; line: (text: string) => void}) {
    this.json = opts.json ? new StreamingJsonDocument() : undefined
    this.report = opts.report ? new FindingsReport(opts.report) : undefined
  }

  readonly add = (f: Finding): void => {
    this.total++
    if (this.total > this.opts.max) {
      if (this.total === this.opts.max + 1 && !this.json) this.opts.line(message('FINDINGS_TRUNCATED', {max: this.opts.max}))
      return
    }
    this.report?.add(f)
    if (this.json) this.json.finding(f)
    else this.opts.line(formatFinding(f))
  }

  get truncated(): boolean {
    return this.total > this.opts.max
  }

  /** The keys every findings document carries. */
  counts(): {findings_total: number; truncated: boolean} {
    return {findings_total: this.total, truncated: this.truncated}
  }

  /** The summary line's mention of findings left out ('' when all were listed). */
  omitted(): string {
    return this.truncated ? ` ${message('FINDINGS_OMITTED', {listed: this.opts.max, total: this.total})}` : ''
  }

  close(): void {
    if (!this.report) return
    if (this.truncated) this.report.note(message('FINDINGS_OMITTED', {listed: this.opts.max, total: this.total}))
    this.report.close()
  }
}

/** One line per finding for a person at a terminal. */
export function formatFinding(f: Finding): string {
  const where = f.row === 0 ? say({it: 'file', en: 'file'}) : say({it: `riga ${f.row}`, en: `row ${f.row}`})
  const column = f.column ? say({it: `, colonna "${f.column}"`, en: `, column "${f.column}"`}) + (f.cell ? ` (${f.cell})` : '') : ''
  return `${where}${column}: ${severityWord(f.severity, true)} ${f.code} — ${f.message}`
}

/** ERRORE / avviso (ERROR / warning): errors stand out in a terminal full of lines. */
function severityWord(severity: Finding['severity'], loud = false): string {
  if (severity === 'error') return loud ? say({it: 'ERRORE', en: 'ERROR'}) : say({it: 'errore', en: 'error'})
  return say({it: 'avviso', en: 'warning'})
}

/**
 * Writes a JSON object to stdout whose `findings` array is streamed as findings arrive; the
 * other keys are written when the command finishes.
 */
export class StreamingJsonDocument {
  /** true once something is on stdout: from then on, even an error must close this document */
  started = false
  private first = true
  constructor(private readonly write: (s: string) => void = (s) => process.stdout.write(s)) {}

  finding(f: Finding): void {
    if (!this.started) this.write('{"findings":[')
    this.started = true
    this.write((this.first ? '' : ',') + JSON.stringify(f))
    this.first = false
  }

  /**
   * A failure after findings were already streamed: the document is closed with the error, so
   * stdout stays one JSON document. Returns false when nothing was written yet (the caller's
   * ordinary error handling applies).
   */
  fail(error: unknown): boolean {
    if (!this.started) return false
    this.end(errorDocument(error))
    process.exitCode = exitCodeOf(error)
    return true
  }

  end(rest: Record<string, unknown>): void {
    if (!this.started) this.write('{"findings":[')
    this.started = true
    const tail = JSON.stringify(rest)
    this.write(']' + (tail === '{}' ? '}' : `,${tail.slice(1)}`) + '\n')
  }
}

/** A list kept for the JSON document stops here; the summary counts every split row. */
export const SPLITS_LISTED_MAX = 10_000

/**
 * Rows split into one record per calendar year (DESIGN §5): a notice, neither error nor warning.
 * Kept (up to a bound) for the JSON document's `splits`; printed as a line for a person.
 */
export class SplitNotices {
  readonly listed: SplitNotice[] = []
  constructor(private readonly print?: (line: string) => void) {}

  readonly add = (notice: SplitNotice): void => {
    if (this.listed.length < SPLITS_LISTED_MAX) this.listed.push(notice)
    this.print?.(formatSplit(notice))
  }
}

export function formatSplit(notice: SplitNotice): string {
  const periods = notice.parts.map((p) => `${p.start}…${p.end}`).join(', ')
  return `${say({it: `riga ${notice.row}: nota`, en: `row ${notice.row}: note`})} SPLIT_BY_YEAR — ${message('SPLIT_BY_YEAR', {parti: notice.parts.length, periodi: periods})}`
}
