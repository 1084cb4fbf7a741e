import {createWriteStream, closeSync, openSync, writeSync} from 'node:fs'
import {Readable} from 'node:stream'
import {constants, crc32, deflateRawSync} from 'node:zlib'
import yazl from 'yazl'

import {CANONICAL_HEADERS, type PsRow} from './ps-data.js'

/**
 * Workbooks written by the tests themselves, as a second writer beside exceljs: SpreadsheetML
 * and OpenDocument by hand (shared strings, date styles, both date systems, hidden sheets,
 * repeated cells), zipped by yazl with streamed entries (so with data descriptors), and zip
 * bombs built from flushed deflate blocks.
 */

export type TypedCell = {t: 's'; v: string} | {t: 'n'; v: number} | {t: 'd'; v: string}
export type TypedRow = (TypedCell | undefined)[]

const isAmount = (field: string): boolean => field.startsWith('Importo')
const isDate = (field: string): boolean => field.startsWith('Data')

/**
 * The rows as a person typing them into Excel leaves them, and so as Excel's own CSV export
 * would show them: amounts are numbers (1234.50 shows as 1234.5).
 */
export function twinRow(row: PsRow): PsRow {
  const out = {...row}
  for (const field of Object.keys(out)) if (isAmount(field) && /^-?\d+(\.\d+)?$/.test(out[field])) out[field] = String(Number(out[field]))
  return out
}

export const twinRows = (rows: PsRow[]): PsRow[] => rows.map(twinRow)

/** A canonical row as typed cells: real dates (unless `textDates`), numbers for amounts, text for codes. */
export function typedRow(row: PsRow, opts: {textDates?: boolean} = {}): TypedRow {
  return CANONICAL_HEADERS.map((field) => {
    const value = row[field] ?? ''
    if (value === '') return undefined
    if (isDate(field) && !opts.textDates && isRealDate(value)) return {t: 'd', v: value}
    if (isAmount(field) && /^-?\d+(\.\d+)?$/.test(value)) return {t: 'n', v: Number(value)}
    return {t: 's', v: value}
  })
}

/** 2026-02-30 stays text: a workbook cannot hold it as a date, the validator reports it */
function isRealDate(value: string): boolean {
  const ms = Date.parse(`${value}T00:00:00Z`)
  return /^\d{4}-\d{2}-\d{2}$/.test(value) && !Number.isNaN(ms) && new Date(ms).toISOString().slice(0, 10) === value
}

export const headerRow = (headers: string[] = CANONICAL_HEADERS): TypedRow => headers.map((v) => ({t: 's', v}))

/** Days since the epoch of the workbook's date system (1900: Excel's serial, valid from 1900-03-01). */
export function excelSerial(isoDate: string, date1904 = false): number {
  const ms = Date.parse(`${isoDate}T00:00:00Z`)
  return ms / 86_400_000 + (date1904 ? 24107 : 25569)
}

const xml = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')

function column(n: number): string {
  let s = ''
  for (let x = n; x > 0; x = Math.floor((x - 1) / 26)) s = String.fromCharCode(65 + ((x - 1) % 26)) + s
  return s
}

export interface SheetSpec {
  name: string
  hidden?: boolean
  /** rows from row 1; undefined rows are left out (blank), so the sheet is sparse */
  rows: Iterable<TypedRow | undefined>
  /** cells merged with this range (the other cells of the area are absent, as Excel writes them) */
  merge?: string
}

export interface SpreadsheetMlOptions {
  /** text in the shared-strings table (as Excel writes it) rather than inline */
  sharedStrings?: boolean
  date1904?: boolean
  /** streamed entries (data descriptors, as streaming writers produce) rather than buffers */
  stream?: boolean
  /** a namespace prefix on every worksheet element (<x:row>…), as some producers write */
  prefix?: string
  /** rows without their `r` (each follows the previous; a blank row is then an empty <row/>) */
  omitRowNumbers?: boolean
  /** a cell left unclosed in this row: damaged XML inside an intact zip */
  damagedRow?: number
}

/** An XLSX written by hand: parts in Excel's order, styles with a custom and a built-in date format. */
export async function writeSpreadsheetMl(path: string, sheets: SheetSpec[], opts: SpreadsheetMlOptions = {}): Promise<void> {
  const zip = new yazl.ZipFile()
  const strings = new Map<string, number>()
  const add = (name: string, text: string): void => zip.addBuffer(Buffer.from(text), name)
  add(
    '[Content_Types].xml',
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">' +
      '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>' +
      '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/></Types>',
  )
  add(
    '_rels/.rels',
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">' +
      '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>',
  )
  add(
    'xl/workbook.xml',
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">' +
      `<workbookPr${opts.date1904 ? ' date1904="1"' : ''}/><sheets>` +
      sheets.map((s, i) => `<sheet name="${xml(s.name)}" sheetId="${i + 1}"${s.hidden ? ' state="hidden"' : ''} r:id="rId${i + 1}"/>`).join('') +
      '</sheets></workbook>',
  )
  add(
    'xl/_rels/workbook.xml.rels',
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">' +
      sheets.map((_, i) => `<Relationship Id="rId${i + 1}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet${i + 1}.xml"/>`).join('') +
      `<Relationship Id="rIdS" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>` +
      (opts.sharedStrings ? `<Relationship Id="rIdT" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>` : '') +
      '</Relationships>',
  )
  // xf 1: a custom dd/mm/yyyy; xf 2: built-in 14 (the short date of the locale); xf 3: a number with 2 decimals
  add(
    'xl/styles.xml',
    '<?xml version="1.0" encoding="UTF-8"?><styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">' +
      '<numFmts count="2"><numFmt numFmtId="164" formatCode="dd/mm/yyyy;@"/><numFmt numFmtId="165" formatCode="#,##0.00\\ &quot;€&quot;"/></numFmts>' +
      '<cellStyleXfs count="1"><xf numFmtId="14"/></cellStyleXfs>' +
      '<cellXfs count="4"><xf numFmtId="0"/><xf numFmtId="164" applyNumberFormat="1"/><xf numFmtId="14" applyNumberFormat="1"/><xf numFmtId="165" applyNumberFormat="1"/></cellXfs></styleSheet>',
  )
  sheets.forEach((sheet, i) => {
    const body = sheetXml(sheet, opts, strings)
    if (opts.stream) zip.addReadStream(Readable.from(body), `xl/worksheets/sheet${i + 1}.xml`)
    else zip.addBuffer(Buffer.from([...body].join('')), `xl/worksheets/sheet${i + 1}.xml`)
  })
  if (opts.sharedStrings) {
    // Excel writes the table after the sheets; with streamed sheets it is complete only once they are read
    const table = async function* (): AsyncGenerator<string> {
      yield `<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="${strings.size}" uniqueCount="${strings.size}">`
      for (const s of strings.keys()) yield /^\s|\s$/.test(s) ? `<si><t xml:space="preserve">${xml(s)}</t></si>` : `<si><t>${xml(s)}</t></si>`
      yield '</sst>'
    }
    zip.addReadStream(Readable.from(table()), 'xl/sharedStrings.xml')
  }
  zip.end()
  await new Promise<void>((resolve, reject) => zip.outputStream.pipe(createWriteStream(path, {mode: 0o600})).on('close', resolve).on('error', reject))
}

function* sheetXml(sheet: SheetSpec, opts: SpreadsheetMlOptions, strings: Map<string, number>): Generator<string> {
  const p = opts.prefix ? `${opts.prefix}:` : ''
  yield `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><${p}worksheet xmlns${opts.prefix ? `:${opts.prefix}` : ''}="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><${p}sheetData>`
  let r = 0
  let parts: string[] = []
  for (const row of sheet.rows) {
    r++
    if (!row) {
      if (opts.omitRowNumbers) parts.push(`<${p}row/>`)
      continue
    }
    parts.push(opts.omitRowNumbers ? `<${p}row>` : `<${p}row r="${r}">`)
    row.forEach((cell, i) => {
      if (!cell) return
      const ref = `${column(i + 1)}${r}`
      if (r === opts.damagedRow) parts.push(`<${p}c r="${ref}" t="inlineStr"><${p}is><${p}t>${xml(String(cell.v))}</${p}c>`)
      else if (cell.t === 'n') parts.push(`<${p}c r="${ref}" s="3"><${p}v>${cell.v}</${p}v></${p}c>`)
      else if (cell.t === 'd') parts.push(`<${p}c r="${ref}" s="${r % 2 === 0 ? 1 : 2}"><${p}v>${excelSerial(cell.v, opts.date1904)}</${p}v></${p}c>`)
      else if (opts.sharedStrings) {
        let index = strings.get(cell.v)
        if (index === undefined) strings.set(cell.v, (index = strings.size))
        parts.push(`<${p}c r="${ref}" t="s"><${p}v>${index}</${p}v></${p}c>`)
      } else parts.push(`<${p}c r="${ref}" t="inlineStr"><${p}is><${p}t>${xml(cell.v)}</${p}t></${p}is></${p}c>`)
    })
    parts.push(`</${p}row>`)
    if (parts.length > 4096) {
      yield parts.join('')
      parts = []
    }
  }
  yield parts.join('')
  yield `</${p}sheetData>${sheet.merge ? `<${p}mergeCells count="1"><${p}mergeCell ref="${sheet.merge}"/></${p}mergeCells>` : ''}</${p}worksheet>`
}

// ---------------------------------------------------------------------------------------------
// ODS
// ---------------------------------------------------------------------------------------------

const ODS_NS = [
  'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"',
  'xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0"',
  'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"',
  'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"',
  'xmlns:calcext="urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0"',
].join(' ')

/**
 * An ODS as LibreOffice writes it: typed cells, empty runs as repeated cells, the sheet's empty
 * tail as repeated rows. `styled`: also the markup LibreOffice writes around formatted data: row
 * and cell styles, dates with a style, some text in a span with a run of spaces as text:s, a cell
 * merged over the next one (a covered cell), and a line break between rows and some cells.
 */
export async function writeOds(path: string, sheets: SheetSpec[], opts: {styled?: boolean} = {}): Promise<void> {
  const zip = new yazl.ZipFile()
  zip.addBuffer(Buffer.from('application/vnd.oasis.opendocument.spreadsheet'), 'mimetype', {compress: false})
  zip.addBuffer(
    Buffer.from(
      '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">' +
        '<manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>' +
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>',
    ),
    'META-INF/manifest.xml',
  )
  zip.addReadStream(Readable.from(odsContent(sheets, opts.styled ?? false)), 'content.xml')
  zip.end()
  await new Promise<void>((resolve, reject) => zip.outputStream.pipe(createWriteStream(path, {mode: 0o600})).on('close', resolve).on('error', reject))
}

function* odsContent(sheets: SheetSpec[], styled: boolean): Generator<string> {
  yield `<?xml version="1.0" encoding="UTF-8"?><office:document-content ${ODS_NS} office:version="1.2"><office:automatic-styles>` +
    '<style:style style:name="ta1" style:family="table"><style:table-properties table:display="true"/></style:style>' +
    '<style:style style:name="ta2" style:family="table"><style:table-properties table:display="false"/></style:style>' +
    '</office:automatic-styles><office:body><office:spreadsheet>'
  for (const sheet of sheets) {
    yield `<table:table table:name="${xml(sheet.name)}" table:style-name="${sheet.hidden ? 'ta2' : 'ta1'}"><table:table-column table:number-columns-repeated="1024"/>`
    let rows = 0
    let blank = 0
    let parts: string[] = []
    for (const row of sheet.rows) {
      rows++
      if (!row) {
        blank++
        continue
      }
      if (blank > 0) parts.push(`<table:table-row table:number-rows-repeated="${blank}"><table:table-cell table:number-columns-repeated="1024"/></table:table-row>`)
      blank = 0
      parts.push(styled ? '\n<table:table-row table:style-name="ro1">' : '<table:table-row>')
      let empty = 0
      for (const [c, cell] of row.entries()) {
        if (!cell) {
          empty++
          continue
        }
        if (empty > 0) parts.push(empty === 1 ? '<table:table-cell/>' : `<table:table-cell table:number-columns-repeated="${empty}"/>`)
        empty = 0
        const odd = styled && (rows + c) % 7 === 0
        if (odd) parts.push('\n ')
        if (cell.t === 'n') parts.push(`<table:table-cell office:value-type="float" office:value="${cell.v}" calcext:value-type="float"><text:p>${String(cell.v).replace('.', ',')}</text:p></table:table-cell>`)
        else if (cell.t === 'd') parts.push(`<table:table-cell${styled ? ' table:style-name="ce1"' : ''} office:value-type="date" office:date-value="${cell.v}" calcext:value-type="date"><text:p>${cell.v.split('-').reverse().join('/')}</text:p></table:table-cell>`)
        else if (odd && cell.v.includes('  ')) {
          // a run of spaces as LibreOffice keeps it, inside a span
          parts.push(`<table:table-cell office:value-type="string" calcext:value-type="string"><text:p><text:span text:style-name="T1">${cell.v.split('  ').map(xml).join(' <text:s/>')}</text:span></text:p></table:table-cell>`)
        } else if (odd && c + 1 < row.length && !row[c + 1]) {
          // merged over the (empty) next cell, which LibreOffice writes as a covered cell: that
          // cell is written here, so the empty run it would start counts from -1
          parts.push(`<table:table-cell office:value-type="string" calcext:value-type="string" table:number-columns-spanned="2" table:number-rows-spanned="1"><text:p>${xml(cell.v)}</text:p></table:table-cell><table:covered-table-cell/>`)
          empty = -1
        } else parts.push(`<table:table-cell office:value-type="string" calcext:value-type="string"><text:p>${xml(cell.v)}</text:p></table:table-cell>`)
      }
      parts.push(`<table:table-cell table:number-columns-repeated="${1024 - row.length + empty}"/></table:table-row>`)
      if (parts.length > 4096) {
        yield parts.join('')
        parts = []
      }
    }
    yield parts.join('')
    yield `<table:table-row table:number-rows-repeated="${1_048_576 - rows}"><table:table-cell table:number-columns-repeated="1024"/></table:table-row></table:table>`
  }
  yield '</office:spreadsheet></office:body></office:document-content>'
}

// ---------------------------------------------------------------------------------------------
// Zip bombs
// ---------------------------------------------------------------------------------------------

/**
 * An XLSX whose every worksheet inflates to `inflatedMb` MB from ~1/1000 of
 * that: one 1 MB block of rows deflated with a full flush (byte-aligned, no history), repeated,
 * then a final empty block — a valid deflate stream with honest sizes and CRC in the directory.
 */
export function writeZipBomb(path: string, opts: {sheets: number; inflatedMb: number}): {bytes: number} {
  // white space between rows: what deflate shrinks the most (~1000:1), as real bombs do
  const block = Buffer.alloc(1 << 20, ' ')
  const head = Buffer.from('<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>')
  const deflatedHead = deflateRawSync(head, {flush: constants.Z_FULL_FLUSH, finishFlush: constants.Z_FULL_FLUSH})
  const deflatedBlock = deflateRawSync(block, {level: 9, finishFlush: constants.Z_FULL_FLUSH})
  const tail = Buffer.from('</sheetData></worksheet>')
  const deflatedTail = deflateRawSync(tail)
  let crc = crc32(head)
  for (let i = 0; i < opts.inflatedMb; i++) crc = crc32(block, crc)
  crc = crc32(tail, crc)
  const sheet = {
    crc: crc >>> 0,
    size: head.length + block.length * opts.inflatedMb + tail.length,
    compressed: deflatedHead.length + deflatedBlock.length * opts.inflatedMb + deflatedTail.length,
    write: (fd: number): void => {
      writeSync(fd, deflatedHead)
      for (let i = 0; i < opts.inflatedMb; i++) writeSync(fd, deflatedBlock)
      writeSync(fd, deflatedTail)
    },
  }
  const small = (text: string): {name?: string; crc: number; size: number; compressed: number; write: (fd: number) => void} => {
    const raw = Buffer.from(text)
    const data = deflateRawSync(raw)
    return {crc: crc32(raw) >>> 0, size: raw.length, compressed: data.length, write: (fd) => void writeSync(fd, data)}
  }
  const parts: [string, ReturnType<typeof small>][] = [
    ['[Content_Types].xml', small('<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>')],
    ['_rels/.rels', small('<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>')],
    [
      'xl/workbook.xml',
      small(
        '<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>' +
          Array.from({length: opts.sheets}, (_, i) => `<sheet name="Foglio${i + 1}" sheetId="${i + 1}" r:id="rId${i + 1}"/>`).join('') +
          '</sheets></workbook>',
      ),
    ],
    [
      'xl/_rels/workbook.xml.rels',
      small(
        '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">' +
          Array.from({length: opts.sheets}, (_, i) => `<Relationship Id="rId${i + 1}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet${i + 1}.xml"/>`).join('') +
          '</Relationships>',
      ),
    ],
    ...Array.from({length: opts.sheets}, (_, i): [string, typeof sheet] => [`xl/worksheets/sheet${i + 1}.xml`, sheet]),
  ]
  const fd = openSync(path, 'w', 0o600)
  let offset = 0
  const central: Buffer[] = []
  for (const [name, part] of parts) {
    const local = Buffer.alloc(30)
    local.writeUInt32LE(0x04034b50, 0)
    local.writeUInt16LE(20, 4)
    local.writeUInt16LE(8, 8) // deflate
    local.writeUInt32LE(part.crc, 14)
    local.writeUInt32LE(part.compressed, 18)
    local.writeUInt32LE(part.size, 22)
    local.writeUInt16LE(Buffer.byteLength(name), 26)
    writeSync(fd, local)
    writeSync(fd, name)
    part.write(fd)
    const entry = Buffer.alloc(46)
    entry.writeUInt32LE(0x02014b50, 0)
    entry.writeUInt16LE(20, 4)
    entry.writeUInt16LE(20, 6)
    entry.writeUInt16LE(8, 10)
    entry.writeUInt32LE(part.crc, 16)
    entry.writeUInt32LE(part.compressed, 20)
    entry.writeUInt32LE(part.size, 24)
    entry.writeUInt16LE(Buffer.byteLength(name), 28)
    entry.writeUInt32LE(offset, 42)
    central.push(entry, Buffer.from(name))
    offset += 30 + Buffer.byteLength(name) + part.compressed
  }
  const directory = Buffer.concat(central)
  writeSync(fd, directory)
  const end = Buffer.alloc(22)
  end.writeUInt32LE(0x06054b50, 0)
  end.writeUInt16LE(parts.length, 8)
  end.writeUInt16LE(parts.length, 10)
  end.writeUInt32LE(directory.length, 12)
  end.writeUInt32LE(offset, 16)
  writeSync(fd, end)
  closeSync(fd)
  return {bytes: offset + directory.length + 22}
}
