import type {FieldSpec, FlowSpec} from '../flows/model.js'
import type {ReaderIssue, SheetRow} from '../input/types.js'
import type {Mapping} from '../mapping/index.js'
import type {RowFinding} from '../validate/finding.js'
import {FINGERPRINT_AT as FP0, GroupTable, hashFields, SIGNATURE_WORDS} from '../validate/group-table.js'
import {compileRecordValidator} from '../validate/record.js'
import {yearParts, type SplitNotice} from '../validate/split.js'
import {compileFlussoWriter, XmlBytes} from '../xml/writer.js'

export type {RowFinding} from '../validate/finding.js'

/**
 * Everything that can be done to a row on its own: map, validate, fingerprint its beneficiary
 * data, render its XML. It runs on a batch of rows (in-process, or in a worker thread on a chunk
 * of a large CSV) and returns plain data; the cross-row checks happen afterwards, in row order.
 */

export interface ChunkResult {
  /** rows the spreadsheet shows in this chunk, blank lines included (the next chunk's offset) */
  rowSpan: number
  dataRows: number
  records: number
  /** in row order; a row's reader problems before its field problems */
  findings: RowFinding[]
  /** rows with no error, before the cross-row checks; a row split per year appears once per part, in a run */
  validRows: Int32Array
  /** SIGNATURE_WORDS per valid row: its beneficiary's key and fingerprint (see GroupTable) */
  signatures: Uint32Array
  /** UTF-8 XML, per valid row: the beneficiary opening then the prestazione */
  xml?: Uint8Array
  /** per valid row: header start, record start, record end in `xml` */
  xmlOffsets?: Uint32Array
  /** rows split into one record per calendar year (DESIGN §5), in row order */
  splits: SplitNotice[]
  /**
   * The ente each valid row names (Ente_* columns), when any row of the chunk names one: `rows`
   * parallel to `validRows`, an index into `keys` ("codice\tbelfiore\tdenominazione"), -1 for none
   */
  entes?: {keys: string[]; rows: Int32Array}
  /** a sheet's chunk whose XML is damaged (or asks for too many repeated cells) after this row: the rows end there */
  readFailure?: {afterRow: number; tooManyRepeats?: boolean}
}

export interface RowPipelineOptions {
  /**
   * XML to render for valid rows: none; `grouped`, the beneficiary opening only when it differs
   * from the previous valid row's in the chunk (key, personal data or address: otherwise the
   * previous opening is this row's, byte for byte); `every` row.
   */
  render: 'none' | 'grouped' | 'every'
  currentYear: number
  /** 0-based */
  currentMonth: number
}

/** Rows and reader problems fed in row order (a row's problems before the row); `finish` gives the result. */
export interface RowAccumulator {
  issue: (issue: ReaderIssue) => void
  row: (row: number, cells: string[]) => void
  finish: (rowSpan: number) => ChunkResult
}

export interface RowPipeline {
  /**
   * Starts a chunk; `bytesHint` sizes the XML buffer, rendered into `reuse` when it is big enough;
   * the rows' numbers, signatures and offsets are packed into `reuseTables` when it is big enough.
   */
  begin: (bytesHint?: number, reuse?: ArrayBuffer, reuseTables?: ArrayBuffer) => RowAccumulator
  /** A whole batch with its reader problems (sorted by row). */
  process: (rows: readonly SheetRow[], issues: readonly ReaderIssue[], rowSpan: number) => ChunkResult
}

export function compileRowPipeline(flow: FlowSpec, mapping: Mapping, headerWidth: number, opts: RowPipelineOptions): RowPipeline {
  const validate = compileRecordValidator(flow, {currentYear: opts.currentYear, currentMonth: opts.currentMonth})
  const writer = opts.render === 'none' ? undefined : compileFlussoWriter(flow)
  // codes are compared and sent in upper case: codici fiscali, Belfiore, prestazione codes, letter enums (I/C)
  const upperCase = flow.fields.filter(isUpperCaseCode).map((f) => f.index)
  const lists = flow.fields.filter((f) => f.list).map((f) => f.index)
  const keyIndex = flow.groupKey.index
  const yearSplit = flow.yearSplit
  // a flow whose rows are whole groups (SINBA) only needs the key: a repeated key is a mistake anyway
  // a variant element (a beneficiary's addresses) may differ between a person's rows: not part of the consistency check
  const variantIndexes = flow.groupVariant?.fields.map((f) => f.index) ?? []
  const groupIndexes = flow.record ? flow.groupFields.filter((f) => f !== flow.groupKey && !variantIndexes.includes(f.index)).map((f) => f.index) : []
  const [enteCodice, enteBelfiore, enteDenominazione] = [flow.ente.codice.index, flow.ente.belfiore.index, flow.ente.denominazione.index]

  // Rows are handled as they arrive, so that a chunk's cells die young (cheap garbage) instead of
  // all surviving until the chunk ends.
  // what a chunk's valid rows leave behind, gathered in arrays kept from chunk to chunk (one chunk
  // at a time) and copied at its end into one buffer (see packTables)
  let rowsWork = new Int32Array(1024)
  let signatures = new Uint32Array(1024 * SIGNATURE_WORDS)
  let offsetsWork = new Uint32Array(3 * 1024)

  const begin = (bytesHint = 0, reuse?: ArrayBuffer, reuseTables?: ArrayBuffer): RowAccumulator => {
    const findings: RowFinding[] = []
    let valid = 0
    // a CSV row becomes about three times its size in XML (3.5 leaves a margin); rounded up to a
    // power of two, so that chunks of about the same size ask for the same capacity and a recycled
    // buffer fits the next one
    const xml = writer ? new XmlBytes(2 ** Math.ceil(Math.log2(Math.max(64 * 1024, bytesHint * 3.5))), reuse) : undefined
    const splits: SplitNotice[] = []
    // the rows' enti: allocated when the first row naming one comes (most files name none)
    let enteKeys: Map<string, number> | undefined
    let enteRows: number[] | undefined
    let previousKey = ''
    let previousVariant = 0
    let previousFp0 = 0
    let previousFp1 = 0
    let dataRows = 0
    let records = 0
    let brokenRow = -1
    /** a valid record: its beneficiary's signature and, when rendering, its XML */
    const emit = (row: number, values: string[]): void => {
      const at = valid * SIGNATURE_WORDS
      if (valid === rowsWork.length) {
        rowsWork = doubled(rowsWork)
        signatures = doubled(signatures)
        offsetsWork = doubled(offsetsWork)
      }
      const key = values[keyIndex]
      const variant = variantIndexes.length > 0 ? hashFields(values, variantIndexes) : 0
      GroupTable.signature(key, values, groupIndexes, signatures, at, variant)
      if (values[enteCodice] !== '' || enteRows) {
        enteKeys ??= new Map()
        enteRows ??= new Array<number>(valid).fill(-1)
        if (values[enteCodice] === '') enteRows.push(-1)
        else {
          const enteKey = `${values[enteCodice]}\t${values[enteBelfiore]}\t${values[enteDenominazione]}`
          let n = enteKeys.get(enteKey)
          if (n === undefined) enteKeys.set(enteKey, (n = enteKeys.size))
          enteRows.push(n)
        }
      }
      rowsWork[valid] = row
      const o = 3 * valid++
      if (xml && writer) {
        offsetsWork[o] = xml.length
        // a person's row with another address carries its opening too: the writer adds the address
        // …and so does one whose personal data differ from the previous row's (a row the cross-row
        // check may refuse): a row without an opening can always take the last one rendered
        if (key !== previousKey || opts.render === 'every' || variant !== previousVariant || signatures[at + FP0] !== previousFp0 || signatures[at + FP0 + 1] !== previousFp1) {
          writer.groupOpen(values, xml)
        }
        previousKey = key
        previousVariant = variant
        previousFp0 = signatures[at + FP0]
        previousFp1 = signatures[at + FP0 + 1]
        offsetsWork[o + 1] = xml.length
        writer.record(values, xml)
        offsetsWork[o + 2] = xml.length
      }
    }

    return {
      issue: (issue) => {
        findings.push({row: issue.row, field: -1, code: issue.code, error: true, params: issue.params})
        if (issue.code === 'ROW_TOO_LONG') dataRows++ // a skipped row is still a row of the file
        else brokenRow = issue.row
      },
      row: (row, cells) => {
        dataRows++
        records++
        let hasError = brokenRow === row
        if (cells.length > headerWidth && hasContentBeyond(cells, headerWidth)) {
          findings.push({row, field: -1, code: 'ROW_EXTRA_CELLS', error: true, params: {cells: cells.length, header: headerWidth}})
          hasError = true
        } else if (cells.length < headerWidth) {
          // the missing cells are read as empty; the warning says the row may have been cut
          findings.push({row, field: -1, code: 'ROW_MISSING_CELLS', error: false, params: {cells: cells.length, header: headerWidth}})
        }
        const values = mapping.extract(cells)
        for (const i of upperCase) if (hasLowerCase(values[i])) values[i] = values[i].toUpperCase()
        for (const i of lists) if (values[i].includes('|')) values[i] = normalizeList(values[i])
        for (const p of validate(values)) {
          findings.push({row, field: p.field.index, code: p.code, error: p.severity === 'error', params: p.params})
          if (p.severity === 'error') hasError = true
        }
        if (hasError) return
        const parts = yearSplit && yearParts(yearSplit, values)
        if (!parts) return emit(row, values)
        // one record per calendar year, each with its own period, all from this row
        const saved = [values[yearSplit.start.index], values[yearSplit.end.index], values[yearSplit.months.index]]
        for (const part of parts) {
          values[yearSplit.start.index] = part.start
          values[yearSplit.end.index] = part.end
          values[yearSplit.months.index] = part.months
          emit(row, values)
        }
        ;[values[yearSplit.start.index], values[yearSplit.end.index], values[yearSplit.months.index]] = saved
        splits.push({row, parts: parts.map(({start, end}) => ({start, end}))})
      },
      finish: (rowSpan) => {
        const tables = packTables(valid, xml !== undefined, reuseTables)
        tables.validRows.set(rowsWork.subarray(0, valid))
        tables.signatures.set(signatures.subarray(0, valid * SIGNATURE_WORDS))
        tables.xmlOffsets?.set(offsetsWork.subarray(0, 3 * valid))
        return {
          rowSpan,
          dataRows,
          records,
          findings,
          validRows: tables.validRows,
          signatures: tables.signatures,
          splits,
          ...(xml ? {xml: xml.bytes(), xmlOffsets: tables.xmlOffsets} : {}),
          ...(enteKeys && enteRows ? {entes: {keys: [...enteKeys.keys()], rows: Int32Array.from(enteRows)}} : {}),
        }
      },
    }
  }

  const process = (rows: readonly SheetRow[], issues: readonly ReaderIssue[], rowSpan: number): ChunkResult => {
    const acc = begin()
    let ip = 0
    for (const {row, cells} of rows) {
      for (; ip < issues.length && issues[ip].row <= row; ip++) acc.issue(issues[ip])
      acc.row(row, cells)
    }
    for (; ip < issues.length; ip++) acc.issue(issues[ip])
    return acc.finish(rowSpan)
  }

  return {begin, process}
}

/**
 * A chunk's row numbers, signatures and XML offsets as views of one buffer: `reuse` when it is big
 * enough, otherwise a new one rounded up to a power of two (so that it fits the next chunks). A
 * worker hands the buffer to the main thread, which hands it back with a later chunk: a buffer per
 * chunk would be garbage there, freed only when the main thread's heap is collected, and the
 * process's memory would grow with the file until it is.
 */
export function packTables(rows: number, offsets: boolean, reuse?: ArrayBuffer): {validRows: Int32Array; signatures: Uint32Array; xmlOffsets?: Uint32Array} {
  const words = rows * (1 + SIGNATURE_WORDS + (offsets ? 3 : 0))
  const buffer = reuse && reuse.byteLength >= words * 4 ? reuse : new ArrayBuffer(4 * 2 ** Math.ceil(Math.log2(Math.max(1024, words))))
  return {
    validRows: new Int32Array(buffer, 0, rows),
    signatures: new Uint32Array(buffer, 4 * rows, rows * SIGNATURE_WORDS),
    ...(offsets ? {xmlOffsets: new Uint32Array(buffer, 4 * rows * (1 + SIGNATURE_WORDS), 3 * rows)} : {}),
  }
}

function doubled<T extends Int32Array | Uint32Array>(a: T): T {
  const bigger = new (a.constructor as new (length: number) => T)(a.length * 2)
  bigger.set(a)
  return bigger
}

function isUpperCaseCode(f: FieldSpec): boolean {
  if (f.upper || f.type.kind === 'codiceFiscale' || f.type.kind === 'belfiore') return true
  return f.type.kind === 'enum' && Object.keys(f.type.values).some((code) => /[A-Z]/.test(code))
}

/** `a| |b|` → `a|b`; only separators → '' (absent: an empty list would be an empty XML element) */
function normalizeList(cell: string): string {
  return cell
    .split('|')
    .map((item) => item.trim())
    .filter((item) => item !== '')
    .join('|')
}

function hasLowerCase(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c >= 97 && c <= 122) return true
  }
  return false
}

function hasContentBeyond(cells: readonly string[], width: number): boolean {
  for (let i = width; i < cells.length; i++) if (cells[i].trim() !== '') return true
  return false
}

