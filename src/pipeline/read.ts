import {existsSync} from 'node:fs'
import {open, stat} from 'node:fs/promises'
import {availableParallelism} from 'node:os'
import {fileURLToPath} from 'node:url'
import {Worker} from 'node:worker_threads'

import {romeCalendar, type CalendarDay} from '../clock/index.js'
import type {FlowSpec, Severity} from '../flows/model.js'
import {message} from '../i18n/messages.js'
import {CsvScanner, refineEncoding, sniffDelimiter, sniffEncoding} from '../input/csv.js'
import {csvByteChunks, csvHeaderEnd, csvTailBatches} from '../input/csv-chunks.js'
import {openSheet, readHead, workbookFormat, type ReaderIssue} from '../input/index.js'
import {openChunkedSheet} from '../input/chunked-sheet.js'
import {readAhead} from '../input/row-chunks.js'
import {buildSheet, reportPartFailure, type RawRow} from '../input/workbook.js'
import {ZipError} from '../input/zip.js'
import {compileMapping, type ColumnRule, type Mapping, type Template} from '../mapping/index.js'
import {XmlSyntaxError} from '../input/xml-scan.js'
import {holdYoungGeneration} from '../runtime/heap.js'
import {applyUserNomenclatore} from '../tables/user-nomenclatore.js'
import {BeneficiaryCheck} from '../validate/cross-row.js'
import {columnLetter, type Finding, type RowFinding} from '../validate/finding.js'
import {SIGNATURE_WORDS} from '../validate/group-table.js'
import type {SplitNotice} from '../validate/split.js'
import type {EnteIdentity} from '../flows/ente.js'
import type {ChunkReply, ChunkRequest, WorkerInit, WorkerMessage} from './chunk-worker.js'
import {compileRowPipeline, type ChunkResult, type RowPipeline, type RowPipelineOptions} from './rows.js'

export type {Finding} from '../validate/finding.js'

/**
 * A row that passed every check, rendered (when asked) as UTF-8 XML: `xml[headerStart..headerEnd)`
 * is its beneficiary's opening (rendered for this row, or for an earlier row of the same chunk
 * with the same beneficiary data and address: the same bytes) and `xml[recordStart..recordEnd)`
 * its prestazione. One object is reused for every row: read it during the call.
 */
export interface ValidRecord {
  row: number
  /** the beneficiary, named by the row where it first appears */
  group: number
  groupIsNew: boolean
  /** the group's variant element (an address) differs from its first row's: the opening carries it */
  otherVariant: boolean
  xml: Buffer
  headerStart: number
  headerEnd: number
  recordStart: number
  recordEnd: number
  /**
   * The ente the row names in its Ente_* columns (DESIGN §9: the row's ente overrides flags, env and
   * config), with the run's operator and, for the run's own code, its denominazione when the row
   * gives none. Absent: the row names no ente, the run's ente applies.
   */
  ente?: EnteIdentity
}

export interface ReadProgress {
  rows: number
  /** bytes of the file read so far, and its size: both known for files on disk read in chunks */
  bytes?: number
  totalBytes?: number
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
  /** set when onRecord asked to stop: the last row handled */
  stoppedAtRow?: number
  /** valid rows split into one record per calendar year (DESIGN §5) */
  splitRows: number
  /** records the valid rows became: `valid` plus the extra parts of split rows */
  prestazioni: number
}

export interface ValidateOptions {
  flow: FlowSpec
  template?: Template
  sheet?: string
  /** the day the run checks against (plausible years, dates not in the future): the engine clock's, by default */
  today?: CalendarDay
  onFinding: (finding: Finding) => void
  /** records without errors, in file order (a row split per year: once per part); return false to stop reading */
  onRecord?: (record: ValidRecord) => boolean | void
  /** how far reading has come (rows; bytes of the file when the reader can tell), for a progress line */
  onProgress?: (progress: ReadProgress) => void
  /** a valid row that became one record per calendar year: a notice, neither error nor warning */
  onSplit?: (notice: SplitNotice) => void
  /** XML to render for onRecord (see RowPipelineOptions); none by default */
  render?: RowPipelineOptions['render']
  /** the user's nomenclatore extension (tables update), merged over the built-in codes */
  nomenclatore?: string
  /** the run's ente (flags/env/config): a row naming its own ente takes the operator from it */
  ente?: Partial<EnteIdentity>
  /** asked when canonical headers are missing and no template was given (an interactive mapping) */
  resolveHeader?: (context: {flow: FlowSpec; header: string[]; mapping: Mapping; source: string; sheet?: string}) => Promise<Template | undefined>
}

/**
 * Below this size a CSV is read in-process: starting workers would cost more than it saves.
 * CASELLARIO_PARALLEL_MIN_BYTES changes it (the tests use it to compare both paths on small files).
 */
const PARALLEL_MIN_BYTES = Number(process.env.CASELLARIO_PARALLEL_MIN_BYTES ?? 8 << 20)
/** small chunks keep each worker's live data, and so its heap, small */
const CHUNK_BYTES = 512 << 10
/**
 * A sheet's XML is several times its CSV twin (XLSX about 6, ODS about 15): bigger chunks than a
 * CSV's, still of fewer rows. 1 MB ran as fast as 1.5 MB on the bench's XLSX, with less memory.
 */
const SHEET_CHUNK_BYTES = 2 * CHUNK_BYTES
/**
 * Chunks in flight per worker. A sheet's chunks hold few rows (its XML is several times its CSV
 * twin): four of them keep the workers busy while the main thread writes and hashes a finished
 * flusso (ODS build of the bench: 4.99 → 4.42 s). A CSV's chunks hold several times the rows: two.
 * Four made a 980k-row build 4–7 % faster but its peak 9 MB higher, 1.10× its 100k peak: at the edge
 * of DESIGN §11's flatness, for a gain within this machine's noise.
 */
const CSV_IN_FLIGHT = 2
const SHEET_IN_FLIGHT = 4
const WORKER_URL = new URL('./chunk-worker.js', import.meta.url)
const EMPTY = Buffer.alloc(0)

const READER_SEVERITY: Record<ReaderIssue['code'], Severity> = {
  FILE_EMPTY: 'error',
  FILE_BINARY: 'error',
  FILE_UNREADABLE: 'error',
  ZIP_BOMB: 'error',
  FILE_TOO_LARGE: 'error',
  SHEET_NOT_FOUND: 'error',
  ROW_TOO_LONG: 'error',
  UNTERMINATED_QUOTE: 'error',
  INVALID_CHARACTER: 'error',
}

/**
 * Reads, maps and validates a spreadsheet in one streaming pass. Every row ends up either as
 * a valid record (`onRecord`) or with at least one error finding: nothing is dropped silently.
 * Large CSV files are parsed by worker threads in chunks; the cross-row checks (the same
 * beneficiary's data on every row) always run here, in row order.
 */
export async function validateFile(source: string, opts: ValidateOptions): Promise<ValidationSummary> {
  holdYoungGeneration()
  const run = new ValidationRun(opts)
  run.source = source
  // the workers start while this thread sniffs the file (reading it whole to tell UTF-8 from
  // Windows-1252): their start-up is otherwise time when nothing else happens
  const pool = source !== '-' && (await isLargeFile(source)) ? new ChunkPool(Math.min(availableParallelism(), 4)) : undefined
  try {
    const parallel = pool && (await parallelPlan(source))
    if (parallel?.kind === 'csv') await run.parallel(source, parallel, pool!)
    else if (parallel?.kind === 'workbook') await run.parallelWorkbook(source, parallel.format, pool!)
    else {
      // not a plain CSV or a workbook after all (UTF-16, binary…): no idle workers during the sequential read
      await pool?.close()
      await run.sequential(source)
    }
  } finally {
    await pool?.close()
  }
  return run.summary()
}

interface ParallelPlan {
  kind: 'csv'
  encoding: string
  delimiter: string
  header: string[]
  headerRow: number
  dataStart: number
}

/** Big enough for worker threads (when they can run: not from TypeScript sources, on 2+ cores). */
async function isLargeFile(path: string): Promise<boolean> {
  if (!existsSync(fileURLToPath(WORKER_URL)) || availableParallelism() < 2) return false
  const size = await stat(path).then((s) => (s.isFile() ? s.size : 0), () => 0) // missing: the sequential reader says so
  return size >= PARALLEL_MIN_BYTES
}

/**
 * A large workbook (its sheet's XML is cut at row boundaries), or a large, plain CSV file whose header
 * can be found in its first 64 KB: worth splitting.
 */
async function parallelPlan(path: string): Promise<ParallelPlan | {kind: 'workbook'; format: 'xlsx' | 'ods'} | undefined> {
  // unreadable: the sequential reader says why, in the user's terms
  const head = await readHead(path).catch(() => undefined)
  if (!head) return undefined
  const workbook = workbookFormat(head, path)
  if (workbook) return {kind: 'workbook', format: workbook}
  const bytesRead = head.length
  const sniff = refineEncoding(sniffEncoding(head), path)
  if (sniff.binary || sniff.encoding.startsWith('utf-16')) return undefined
  const text = new TextDecoder(sniff.encoding).decode(head.subarray(sniff.bomLength, bytesRead))
  const delimiter = sniffDelimiter(text.slice(0, text.search(/\r|\n/)))
  const end = csvHeaderEnd(head.subarray(0, bytesRead), sniff.bomLength, delimiter)
  if (!end) return undefined
  // the first record of the text is the header (blank lines before it yield no record)
  let header: string[] | undefined
  const scanner = new CsvScanner(delimiter, (_, cells) => (header ??= cells), () => {})
  scanner.push(text)
  scanner.end()
  if (!header) return undefined
  return {kind: 'csv', encoding: sniff.encoding, delimiter, header, headerRow: end.headerRow, dataStart: end.end}
}

class ValidationRun {
  private opts: ValidateOptions
  private readonly flow: FlowSpec
  private readonly counts = {rows: 0, records: 0, valid: 0, errors: 0, warnings: 0, splitRows: 0, prestazioni: 0}
  private readonly beneficiaries: BeneficiaryCheck
  private info: {format: string; encoding?: string; delimiter?: string} = {format: 'csv'}
  private mapping: Mapping | undefined
  private stoppedAtRow: number | undefined
  /** the file being read, for whoever resolves its header (the wizard reads its first rows) */
  source = '-'
  /** one day for the whole run, even one that crosses midnight */
  private readonly today: CalendarDay
  private readonly record: ValidRecord = {row: 0, group: 0, groupIsNew: false, otherVariant: false, xml: EMPTY, headerStart: 0, headerEnd: 0, recordStart: 0, recordEnd: 0, ente: undefined}
  /** the enti rows named, by "codice\tbelfiore\tdenominazione" (a handful per file: an Ambito's comuni) */
  private readonly entes = new Map<string, EnteIdentity>()

  constructor(opts: ValidateOptions) {
    this.opts = opts
    this.flow = opts.flow
    this.today = opts.today ?? romeCalendar()
    applyUserNomenclatore(opts.nomenclatore)
    this.beneficiaries = new BeneficiaryCheck(opts.flow)
  }

  summary(): ValidationSummary {
    return {...this.counts, ...this.info, groups: this.beneficiaries.size, ...(this.stoppedAtRow ? {stoppedAtRow: this.stoppedAtRow} : {})}
  }

  private get stopped(): boolean {
    return this.stoppedAtRow !== undefined
  }

  private currentYear(): number {
    return this.today.year
  }

  private currentMonth(): number {
    return this.today.month
  }

  /** XLSX, ODS, stdin and small CSV files: one thread, batch by batch. */
  async sequential(source: string): Promise<void> {
    const issues = new IssueQueue()
    const sheet = await openSheet(source, {
      sheet: this.opts.sheet,
      onIssue: (issue) => (issue.row > 0 ? issues.add(issue) : this.readerIssue(issue)),
    })
    this.info = {format: sheet.info.format, encoding: sheet.info.encoding, delimiter: sheet.info.delimiter}
    try {
      if (sheet.header.length === 0 || !(await this.useHeader(sheet.header, sheet.headerRow, sheet.info.format))) return
      const pipeline = this.pipeline(sheet.header)
      for await (const batch of sheet.batches) {
        this.consume(pipeline.process(batch, issues.through(batch), 0), 0)
        this.opts.onProgress?.({rows: this.counts.rows})
        if (this.stopped) return
      }
      // problems the reader found after the last row (e.g. a too-long last line)
      if (issues.size > 0) this.consume(pipeline.process([], issues.through([]), 0), 0)
    } finally {
      await sheet.close()
    }
  }

  /** Large CSV files: chunks parsed by worker threads, consumed here in order. */
  async parallel(path: string, plan: ParallelPlan, pool: ChunkPool): Promise<void> {
    this.info = {format: 'csv', encoding: plan.encoding, delimiter: plan.delimiter}
    if (!(await this.useHeader(plan.header, plan.headerRow, 'csv'))) return
    pool.start(this.workerInit(plan.header, {kind: 'csv', encoding: plan.encoding, delimiter: plan.delimiter}))
    const totalBytes = this.opts.onProgress ? await stat(path).then((s) => s.size) : 0
    let bytes = plan.dataStart
    let offset = plan.headerRow
    let tailFrom: number | undefined
    const consumeReady = (result: ChunkResult): void => {
      if (!this.stopped) this.consume(result, offset)
      offset += result.rowSpan
      pool.recycle(result)
    }
    for await (const chunk of csvByteChunks(path, plan.dataStart, CHUNK_BYTES, plan.delimiter, pool.allocate)) {
      if (chunk.kind === 'tail') {
        tailFrom = chunk.from
        break
      }
      await pool.submit(chunk.bytes, consumeReady)
      bytes += chunk.bytes.length
      this.opts.onProgress?.({rows: this.counts.rows, bytes, totalBytes})
      if (this.stopped) return
    }
    await pool.drain(consumeReady)
    if (tailFrom !== undefined && !this.stopped) await this.tail(path, tailFrom, plan, offset)
  }

  /**
   * Large workbooks: the sheet's XML is inflated here and cut after whole rows; worker threads
   * scan the chunks, and the results are consumed here in order. The header is looked for here,
   * in the first chunks, exactly as the one-thread reader looks for it.
   */
  async parallelWorkbook(path: string, format: 'xlsx' | 'ods', pool: ChunkPool): Promise<void> {
    this.info = {format}
    const issues = new IssueQueue()
    const reader = {sheet: this.opts.sheet, onIssue: (issue: ReaderIssue) => (issue.row > 0 ? issues.add(issue) : this.readerIssue(issue))}
    const sheet = await openChunkedSheet(path, format, reader, SHEET_CHUNK_BYTES, pool.allocate)
    if (!sheet) return
    const {parser, chunks} = sheet
    let lastRow = 0
    let failed = false
    const fail = (err: unknown): void => {
      failed = true
      reportPartFailure(reader, format, err, {afterRow: lastRow})
    }
    try {
      let headerFound = false
      const headRows = async function* (): AsyncGenerator<RawRow[]> {
        const decoder = new TextDecoder('utf-8')
        while (!headerFound && !parser.finished) {
          try {
            const next = await chunks.next()
            if (next.done) {
              parser.end() // a document cut short says so here
              sheet.noMoreRows?.(() => (failed = true))
              return
            }
            parser.write(decoder.decode(next.value))
          } catch (err) {
            fail(err)
            // the rows read whole before the damage are still rows of the file
            yield parser.take()
            return
          } finally {
            lastRow = parser.lastRow
          }
          yield parser.take()
        }
      }
      const head = await buildSheet(format, {rows: headRows(), sheetName: sheet.sheetName, failed: () => failed}, reader)
      headerFound = true
      if (head.header.length === 0 || !(await this.useHeader(head.header, head.headerRow, format))) return
      // the rows after the header in the chunks read here: checked once every worker has a chunk
      // to read (until then they would wait, while this thread checks its rows in cold code). They
      // come first in row order, and nothing a worker sends back is consumed before them: results
      // are consumed only once SHEET_IN_FLIGHT chunks per worker are in flight, or when draining.
      const pipeline = this.pipeline(head.header)
      let headChecked = false
      const checkHead = async (): Promise<void> => {
        if (headChecked) return
        headChecked = true
        for await (const batch of head.batches) {
          this.consume(pipeline.process(batch, issues.through(batch), 0), 0)
          if (this.stopped) return
        }
        if (issues.size > 0) this.consume(pipeline.process([], issues.through([]), 0), 0)
      }
      if (failed || parser.finished) return await checkHead()

      pool.inFlight = SHEET_IN_FLIGHT
      pool.start(this.workerInit(head.header, sheet.workerReader()))
      const consumeReady = (result: ChunkResult): void => {
        if (!this.stopped && !failed) {
          this.consume(result, 0)
          if (result.readFailure) {
            lastRow = result.readFailure.afterRow
            fail(result.readFailure.tooManyRepeats ? new ZipError('FILE_TOO_LARGE', 'rows-repeated') : new XmlSyntaxError('sheet'))
          }
        }
        pool.recycle(result)
      }
      const reading = readAhead(chunks)
      try {
        for (let submitted = 0; ; ) {
          let next: IteratorResult<Buffer>
          try {
            next = await reading.next()
          } catch (err) {
            // bombs, caps, damage: the rows read whole before it still count, then the reason is
            // said. Only reading ends this way: an error of the run's own (writing a flusso, the
            // store) or a worker's propagates, never reported as a damaged file.
            await checkHead()
            await pool.drain(consumeReady)
            if (!failed) fail(err)
            return
          }
          if (next.done) break
          const where = sheet.where(next.value)
          await pool.submit(next.value, consumeReady, where)
          if (++submitted === pool.size) await checkHead()
          this.opts.onProgress?.({rows: this.counts.rows})
          if (this.stopped || failed) return
          lastRow = where.lastRow
        }
      } finally {
        await reading.return(undefined)
      }
      await checkHead()
      if (this.stopped) return
      await pool.drain(consumeReady)
    } finally {
      await chunks.return(undefined)
    }
  }

  private workerInit(header: string[], reader: WorkerInit['reader']): WorkerInit {
    return {
      flow: this.flow.id,
      template: this.opts.template,
      header,
      format: reader.kind,
      reader,
      render: this.opts.render ?? 'none',
      currentYear: this.currentYear(),
      currentMonth: this.currentMonth(),
      nomenclatore: this.opts.nomenclatore,
    }
  }

  /** A problem with the whole file (row 0): reported at once. */
  private readerIssue(issue: ReaderIssue): void {
    this.report({row: 0, column: '', field: '', code: issue.code, severity: READER_SEVERITY[issue.code]}, issue.params)
  }

  /** The rest of a file the chunker could not split safely, read sequentially from a record boundary. */
  private async tail(path: string, from: number, plan: ParallelPlan, offset: number): Promise<void> {
    const pipeline = this.pipeline(plan.header)
    const issues = new IssueQueue()
    for await (const {rows} of csvTailBatches(path, from, plan.encoding, plan.delimiter, issues.add)) {
      this.consume(pipeline.process(rows, issues.through(rows), 0), offset)
      if (this.stopped) return
    }
    if (issues.size > 0) this.consume(pipeline.process([], issues.through([]), 0), offset)
  }

  private pipeline(header: string[]): RowPipeline {
    return compileRowPipeline(this.flow, this.mapping!, header.length, {render: this.opts.render ?? 'none', currentYear: this.currentYear(), currentMonth: this.currentMonth()})
  }

  /**
   * Compiles the mapping; a wrong header makes every row wrong: say it once and read no further.
   * On a terminal, a person may first be asked which of their columns holds each missing field.
   */
  private async useHeader(header: string[], headerRow: number, format: 'csv' | 'xlsx' | 'ods'): Promise<boolean> {
    this.mapping = compileMapping(this.flow, header, this.opts.template, format)
    if (this.mapping.problems.length > 0 && !this.opts.template && this.opts.resolveHeader) {
      const template = await this.opts.resolveHeader({flow: this.flow, header, mapping: this.mapping, source: this.source, sheet: this.opts.sheet})
      if (template) {
        this.opts = {...this.opts, template}
        this.mapping = compileMapping(this.flow, header, template, format)
      }
    }
    for (const p of this.mapping.problems) {
      this.report({row: headerRow, column: p.column, field: p.field, code: p.code, severity: 'error'}, {column: p.column, field: p.field})
    }
    return this.mapping.problems.length === 0
  }

  /** One chunk's results, in row order: findings, then the cross-row check and onRecord for valid rows. */
  private consume(result: ChunkResult, offset: number): void {
    this.counts.rows += result.dataRows
    this.counts.records += result.records
    const {findings} = result
    let fi = 0
    const record = this.record
    record.xml = result.xml ? Buffer.from(result.xml.buffer, result.xml.byteOffset, result.xml.length) : EMPTY
    const o = result.xmlOffsets
    let split = 0
    // the parts of a row split per year come in a run: the row is judged once, by its first part
    let previousRow = -1
    let previousRefused = false
    let headerStart = 0
    let headerEnd = 0
    for (let v = 0; v < result.validRows.length; v++) {
      const row = result.validRows[v] + offset
      const nextPart = row === previousRow
      previousRow = row
      if (o && o[v * 3] < o[v * 3 + 1]) {
        // the opening rendered for this row (or, when absent, the last one: same beneficiary, same bytes)
        headerStart = o[v * 3]
        headerEnd = o[v * 3 + 1]
      }
      if (nextPart && previousRefused) continue
      for (; fi < findings.length && findings[fi].row + offset <= row; fi++) this.rowFinding(findings[fi], offset)
      previousRefused = true
      const refused = this.beneficiaries.judge(result.signatures, v * SIGNATURE_WORDS, row)
      if (refused) {
        for (const f of refused) this.rowFinding(f, 0)
        continue
      }
      previousRefused = false
      this.counts.prestazioni++
      if (!nextPart) {
        this.counts.valid++
        for (; split < result.splits.length && result.splits[split].row < row - offset; split++);
        if (split < result.splits.length && result.splits[split].row === row - offset) this.splitNotice(result.splits[split++], offset)
      }
      if (!this.opts.onRecord) continue
      record.row = row
      record.group = this.beneficiaries.group
      record.groupIsNew = this.beneficiaries.isNew
      record.otherVariant = this.beneficiaries.otherVariant
      record.headerStart = headerStart
      record.headerEnd = headerEnd
      record.recordStart = o ? o[v * 3 + 1] : 0
      record.recordEnd = o ? o[v * 3 + 2] : 0
      const enteAt = result.entes ? result.entes.rows[v] : -1
      record.ente = enteAt < 0 ? undefined : this.enteOf(result.entes!.keys[enteAt])
      if (this.opts.onRecord(record) === false) {
        this.stoppedAtRow = row
        return
      }
    }
    for (; fi < findings.length; fi++) this.rowFinding(findings[fi], offset)
  }

  /** A row's ente from its Ente_* values, completed from the run's ente; one object per distinct ente. */
  private enteOf(key: string): EnteIdentity {
    let ente = this.entes.get(key)
    if (!ente) {
      const [codice, belfiore, denominazione] = key.split('\t')
      const run = this.opts.ente ?? {}
      const sameEnte = run.codice !== undefined && run.codice.trim().toUpperCase() === codice
      ente = {
        codice,
        belfiore,
        denominazione: denominazione || (sameEnte ? run.denominazione?.trim() || undefined : undefined),
        cfOperatore: run.cfOperatore?.trim().toUpperCase() ?? '',
      }
      this.entes.set(key, ente)
    }
    return ente
  }

  private splitNotice(notice: SplitNotice, offset: number): void {
    this.counts.splitRows++
    const row = notice.row + offset
    this.opts.onSplit?.({row, parts: notice.parts})
  }

  private rowFinding(f: RowFinding, offset: number): void {
    const row = f.row + offset
    if (f.field < 0) return this.report({row, column: '', field: '', code: f.code, severity: f.error ? 'error' : 'warning'}, f.params)
    const field = this.flow.fields[f.field]
    const source = this.mapping!.sourceIndex[f.field]
    const rule = this.opts.template?.columns[field.column]
    this.report(
      {
        row,
        column: this.mapping!.sourceColumn[f.field] || field.column,
        field: field.column,
        code: f.code,
        severity: f.error ? 'error' : 'warning',
        ...(source > 0 ? {cell: `${columnLetter(source)}${row}`} : {}),
      },
      typeof rule === 'object' ? inUserTerms(f.code, f.params, rule) : f.params,
    )
  }

  private report(f: Omit<Finding, 'message'>, params?: Record<string, string | number>): void {
    if (f.severity === 'error') this.counts.errors++
    else this.counts.warnings++
    this.opts.onFinding({...f, message: message(f.code, params)})
  }
}

/**
 * A finding's hint in the terms of the user's template: a date in its pattern (gg/mm/aaaa), an
 * amount the Italian way, the values the column really holds (M, F) rather than the codes they map to.
 */
function inUserTerms(code: string, params: Record<string, string | number> | undefined, rule: Exclude<ColumnRule, string>): Record<string, string | number> | undefined {
  if (code === 'INVALID_DATE' && rule.date) return {...params, hint: 'pattern', pattern: rule.date.replace(/d+/, 'gg').replace(/M+/, 'mm').replace(/y+/, 'aaaa')}
  if (code === 'INVALID_DECIMAL' && rule.decimal === 'it') return {...params, hint: 'it'}
  if (code === 'NOT_IN_LIST' && rule.map) return {...params, allowed: Object.keys(rule.map).join(', ')}
  return params
}

/** Reader problems waiting for their rows: a reader may report a row before yielding its batch. */
class IssueQueue {
  private items: ReaderIssue[] = []
  readonly add = (issue: ReaderIssue): void => void this.items.push(issue)

  get size(): number {
    return this.items.length
  }

  /** The problems of rows up to the last of `rows` (all of them when `rows` is empty: the end). */
  through(rows: readonly {row: number}[]): ReaderIssue[] {
    const last = rows.length > 0 ? rows[rows.length - 1].row : Number.MAX_SAFE_INTEGER
    const now = this.items.filter((i) => i.row <= last)
    this.items = this.items.filter((i) => i.row > last)
    return now
  }
}

/**
 * A few worker threads, each with at most `inFlight` chunks in flight; results are handed back in order.
 * Buffers travel in a loop rather than being allocated per chunk: a worker hands back the bytes
 * it parsed (the next chunk is read into them) and the main thread hands back the XML it has
 * written (the next chunk is rendered into it).
 */
class ChunkPool {
  private readonly workers: Worker[]
  private readonly pending = new Map<number, {resolve: (r: ChunkResult) => void; reject: (e: unknown) => void}>()
  private readonly results: Promise<ChunkResult>[] = []
  private next = 0
  private readonly freeInputs: ArrayBuffer[] = []
  private readonly spareXml: ArrayBuffer[] = []
  private readonly spareTables: ArrayBuffer[] = []
  /** chunks in flight per worker (CSV_IN_FLIGHT, SHEET_IN_FLIGHT) */
  inFlight = CSV_IN_FLIGHT
  /** a worker that died (even with nothing in flight): later chunks must fail, not wait forever */
  private failure: unknown

  constructor(size: number) {
    this.workers = Array.from({length: size}, () => {
      // Small heaps: a chunk's rows die young, and the tables are all that lives long. Without
      // limits V8 lets each worker's heap grow to hundreds of MB of garbage (DESIGN §11: < 300 MB).
      const worker = new Worker(WORKER_URL, {resourceLimits: {maxYoungGenerationSizeMb: 16, maxOldGenerationSizeMb: 48}})
      worker.on('message', (reply: ChunkReply) => {
        this.freeInputs.push(reply.input.buffer as ArrayBuffer)
        const p = this.pending.get(reply.id)
        this.pending.delete(reply.id)
        p?.resolve(reply.result)
      })
      worker.on('error', (error) => {
        this.failure ??= error
        for (const p of this.pending.values()) p.reject(error)
        this.pending.clear()
      })
      return worker
    })
  }

  /** worker threads */
  get size(): number {
    return this.workers.length
  }

  /** What the workers parse (known once the file has been sniffed): sent before any chunk. */
  start(init: WorkerInit): void {
    for (const worker of this.workers) worker.postMessage({init} satisfies WorkerMessage)
  }

  /** A buffer for the next chunk: one a worker handed back when it is big enough. */
  readonly allocate = (size: number): Buffer => {
    const free = this.freeInputs.pop()
    // some room over the chunk size: the carry-over of a partial record varies from chunk to chunk
    return free && free.byteLength >= size ? Buffer.from(free, 0, size) : Buffer.from(new ArrayBuffer(size + (64 << 10)), 0, size)
  }

  /** After `consume`: the chunk's XML has been copied out, its buffers can be written into again. */
  recycle(result: ChunkResult): void {
    if (result.xml) this.spareXml.push(result.xml.buffer as ArrayBuffer)
    this.spareTables.push(result.validRows.buffer as ArrayBuffer)
  }

  /** Sends a chunk; when too many are in flight, first hands the oldest result to `consume`. */
  async submit(bytes: Buffer, consume: (r: ChunkResult) => void, where: Pick<ChunkRequest, 'lastRowBefore' | 'prefix'> = {}): Promise<void> {
    while (this.results.length >= this.workers.length * this.inFlight) consume(await this.results.shift()!)
    if (this.failure !== undefined) throw this.failure
    const id = this.next++
    const result = new Promise<ChunkResult>((resolve, reject) => {
      this.pending.set(id, {resolve, reject})
      const view = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
      const spare = this.spareXml.pop()
      const spareTables = this.spareTables.pop()
      const request: WorkerMessage = {id, bytes: view, lastRowBefore: where.lastRowBefore, prefix: where.prefix, ...(spare ? {spare} : {}), ...(spareTables ? {spareTables} : {})}
      const transfer = [bytes.buffer as ArrayBuffer, ...(spare ? [spare] : []), ...(spareTables ? [spareTables] : [])]
      this.workers[id % this.workers.length].postMessage(request, transfer)
    })
    // awaited in order later; a failure must not surface as an unhandled rejection meanwhile
    result.catch(() => {})
    this.results.push(result)
  }

  async drain(consume: (r: ChunkResult) => void): Promise<void> {
    while (this.results.length > 0) consume(await this.results.shift()!)
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()))
  }
}
