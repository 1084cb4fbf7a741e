import assert from 'node:assert/strict'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import ExcelJS from 'exceljs'
// jszip comes with exceljs: used here only to build ODS fixtures and to reorder / damage zips
import JSZip from 'jszip'
import {readOds} from '../src/input/ods.js'
import {BATCH_ROWS, type ReaderIssue, type ReadOptions, type Sheet, type SheetRow} from '../src/input/types.js'
import {readXlsx} from '../src/input/xlsx.js'

type Reader = (path: string, opts: ReadOptions) => Promise<Sheet>

interface Result {
  sheet: Sheet
  rows: SheetRow[]
  issues: ReaderIssue[]
}

async function read(reader: Reader, path: string, sheet?: string): Promise<Result> {
  const issues: ReaderIssue[] = []
  const result = await reader(path, {onIssue: (i) => issues.push(i), ...(sheet !== undefined && {sheet})})
  const rows: SheetRow[] = []
  for await (const batch of result.batches) {
    assert.ok(batch.length > 0 && batch.length <= BATCH_ROWS, `batch of ${batch.length} rows`)
    rows.push(...batch)
  }
  return {sheet: result, rows, issues}
}

const tmp = mkdtempSync(join(tmpdir(), 'casellario-xlsx-ods-'))
after(() => rmSync(tmp, {recursive: true, force: true}))
const file = (name: string): string => join(tmp, name)

function assertUnreadable(result: Result, reason: string): void {
  assert.deepEqual(result.sheet.header, [])
  assert.equal(result.sheet.headerRow, 0)
  assert.deepEqual(result.rows, [])
  assert.equal(result.issues.length, 1, JSON.stringify(result.issues))
  assert.equal(result.issues[0].row, 0)
  if (reason === 'sheet-not-found') return assert.equal(result.issues[0].code, 'SHEET_NOT_FOUND')
  assert.equal(result.issues[0].code, 'FILE_UNREADABLE')
  assert.equal(result.issues[0].params?.reason, reason)
}

// ---------------------------------------------------------------------------------------------
// XLSX
// ---------------------------------------------------------------------------------------------

async function writeMainXlsx(path: string): Promise<void> {
  const wb = new ExcelJS.Workbook()
  const ws = wb.addWorksheet('Beneficiari')
  ws.getCell('A1').value = 'Codice fiscale'
  ws.getCell('B1').value = 'Nome'
  ws.getCell('C1').value = 'Data nascita'
  ws.getCell('D1').value = 'Importo'
  ws.getCell('E1').value = 'Note'
  ws.getRow(2).values = ['RSSMRA80A01H501U', 'Niccolò & <Figli>', new Date(Date.UTC(1980, 0, 1)), 1234.56, 'città']
  // row 3 left blank on purpose
  ws.getRow(4).values = ['VRDGPP85T10F205X', 'Perché', new Date(Date.UTC(2024, 2, 1, 15, 30)), 58091, true]
  ws.getRow(5).values = [
    {richText: [{text: 'Ricco '}, {font: {bold: true}, text: 'testo'}]},
    {text: 'sito', hyperlink: 'https://example.org'},
    {formula: 'DATE(2024,1,2)', result: 45293},
    {formula: 'D2+D4', result: 59325.56},
    0.1 + 0.2,
  ]
  ws.getRow(6).values = [1e-7, 1.5e21, {error: '#N/A'}, -0.5, '', '', 'oltre']
  for (const ref of ['C2', 'C4', 'C5']) ws.getCell(ref).numFmt = 'dd/mm/yyyy'
  // an empty but formatted trailing area, as users leave behind
  for (let r = 7; r <= 30; r++) ws.getCell(`H${r}`).fill = {type: 'pattern', pattern: 'solid', fgColor: {argb: 'FFFFFF00'}}
  ws.getCell('A12').numFmt = '0.00'

  const other = wb.addWorksheet('Altro')
  other.getCell('B3').value = 'Titolo'
  other.getCell('B4').value = 'valore'
  await wb.xlsx.writeFile(path)
}

const MAIN_ROWS: SheetRow[] = [
  {row: 2, cells: ['RSSMRA80A01H501U', 'Niccolò & <Figli>', '1980-01-01', '1234.56', 'città']},
  {row: 4, cells: ['VRDGPP85T10F205X', 'Perché', '2024-03-01', '58091', 'TRUE']},
  {row: 5, cells: ['Ricco testo', 'sito', '2024-01-02', '59325.56', '0.3']},
  {row: 6, cells: ['0.0000001', '1500000000000000000000', '', '-0.5', '', '', 'oltre']},
]

/** Rewrites a zip with its parts in the given order (others after), as another producer would. */
async function reorderZip(from: string, to: string, first: string[]): Promise<void> {
  const src = await JSZip.loadAsync(readFileSync(from))
  const names = Object.keys(src.files).filter((n) => !src.files[n].dir)
  const out = new JSZip()
  for (const name of [...first, ...names.filter((n) => !first.includes(n))]) {
    out.file(name, await src.file(name)!.async('nodebuffer'))
  }
  writeFileSync(to, await out.generateAsync({type: 'nodebuffer', compression: 'DEFLATE'}))
}

describe('readXlsx', () => {
  const main = file('main.xlsx')
  before(() => writeMainXlsx(main))

  it('reads the first sheet: exact cells, real row numbers, blank rows and empty tail skipped', async () => {
    const {sheet, rows, issues} = await read(readXlsx, main)
    assert.deepEqual(issues, [])
    assert.deepEqual(sheet.info, {format: 'xlsx', sheet: 'Beneficiari'})
    assert.deepEqual(sheet.header, ['Codice fiscale', 'Nome', 'Data nascita', 'Importo', 'Note'])
    assert.equal(sheet.headerRow, 1)
    assert.deepEqual(rows, MAIN_ROWS)
  })

  it('selects a sheet by name or 1-based position; the header is the first non-empty row', async () => {
    for (const selector of ['Altro', '2']) {
      const {sheet, rows, issues} = await read(readXlsx, main, selector)
      assert.deepEqual(issues, [])
      assert.equal(sheet.info.sheet, 'Altro')
      assert.deepEqual(sheet.header, ['', 'Titolo'])
      assert.equal(sheet.headerRow, 3)
      assert.deepEqual(rows, [{row: 4, cells: ['', 'valore']}])
    }
  })

  it('reports a sheet that does not exist', async () => {
    const result = await read(readXlsx, main, 'Nessuno')
    assertUnreadable(result, 'sheet-not-found')
    assert.equal(result.issues[0].params?.sheets, 'Beneficiari, Altro')
  })

  it('reads a zip laid out as LibreOffice does (worksheets before styles and workbook)', async () => {
    const reordered = file('lo-order.xlsx')
    await reorderZip(main, reordered, [
      '[Content_Types].xml',
      '_rels/.rels',
      'xl/_rels/workbook.xml.rels',
      'xl/sharedStrings.xml',
      'xl/worksheets/sheet1.xml',
      'xl/worksheets/sheet2.xml',
      'xl/styles.xml',
      'xl/workbook.xml',
    ])
    const {sheet, rows, issues} = await read(readXlsx, reordered)
    assert.deepEqual(issues, [])
    assert.equal(sheet.info.sheet, 'Beneficiari')
    assert.deepEqual(rows, MAIN_ROWS) // dates included: styles were known in time
    const second = await read(readXlsx, reordered, 'Altro')
    assert.deepEqual(second.rows, [{row: 4, cells: ['', 'valore']}])
  })

  it('reads a worksheet whose elements carry a namespace prefix (<x:row>, <x:c>…), as some producers write', async () => {
    const prefixed = file('prefixed.xlsx')
    const zip = await JSZip.loadAsync(readFileSync(main))
    const sheet = await zip.file('xl/worksheets/sheet1.xml')!.async('string')
    zip.file(
      'xl/worksheets/sheet1.xml',
      sheet
        .replace(/<(\/?)([A-Za-z]+)(?=[\s>/])/g, (whole, slash: string, name: string) => (whole.startsWith('<?') ? whole : `<${slash}x:${name}`))
        .replace('<x:worksheet xmlns=', '<x:worksheet xmlns:x='),
    )
    writeFileSync(prefixed, await zip.generateAsync({type: 'nodebuffer', compression: 'DEFLATE'}))
    assert.match(await (await JSZip.loadAsync(readFileSync(prefixed))).file('xl/worksheets/sheet1.xml')!.async('string'), /<x:row [^>]*><x:c /)
    const {rows, issues} = await read(readXlsx, prefixed)
    assert.deepEqual(issues, [])
    assert.deepEqual(rows, MAIN_ROWS)
  })

  it('reports a plain text file named .xlsx without throwing', async () => {
    const fake = file('fake.xlsx')
    writeFileSync(fake, 'Codice fiscale;Nome\nRSSMRA80A01H501U;Mario\n')
    assertUnreadable(await read(readXlsx, fake), 'not-zip')
  })

  it('reports a truncated zip without throwing', async () => {
    const truncated = file('truncated.xlsx')
    const bytes = readFileSync(main)
    writeFileSync(truncated, bytes.subarray(0, Math.floor(bytes.length * 0.6)))
    assertUnreadable(await read(readXlsx, truncated), 'truncated')
  })

  it('reports damaged worksheet data (intact zip directory) without throwing or hanging', async () => {
    const damaged = file('damaged.xlsx')
    const bytes = Buffer.from(readFileSync(main))
    const at = bytes.indexOf('xl/worksheets/sheet1.xml') + 'xl/worksheets/sheet1.xml'.length
    for (let i = at + 10; i < at + 200; i++) bytes[i] ^= 0x5a
    writeFileSync(damaged, bytes)
    const result = await read(readXlsx, damaged)
    assert.deepEqual(result.issues.map((i) => [i.code, i.params?.reason]), [['FILE_UNREADABLE', 'corrupt']])
  })

  it('reports a zip that holds no workbook (an ODS, here)', async () => {
    const ods = file('not-a-workbook.xlsx')
    writeFileSync(ods, await odsZip([table('Foglio1', '<table:table-row>' + str('a') + '</table:table-row>')]))
    const result = await read(readXlsx, ods)
    assertUnreadable(result, 'missing-part')
    assert.equal(result.issues[0].params?.detected, 'ods')
  })

  it('reports a missing file without throwing', async () => {
    assertUnreadable(await read(readXlsx, file('does-not-exist.xlsx')), 'not-zip')
  })

  it('reports an empty sheet as FILE_EMPTY', async () => {
    const wb = new ExcelJS.Workbook()
    wb.addWorksheet('Vuoto').getCell('C5').numFmt = '0.00'
    const path = file('empty.xlsx')
    await wb.xlsx.writeFile(path)
    const {sheet, rows, issues} = await read(readXlsx, path)
    assert.deepEqual(sheet.header, [])
    assert.deepEqual(rows, [])
    assert.deepEqual(issues, [{row: 0, code: 'FILE_EMPTY'}])
  })

  it('keeps accented text intact across stream chunks (inline strings)', async () => {
    // exceljs decodes every chunk on its own: a character split between chunks became U+FFFD
    const path = file('inline.xlsx')
    const writer = new ExcelJS.stream.xlsx.WorkbookWriter({filename: path, useSharedStrings: false})
    const ws = writer.addWorksheet('Dati')
    ws.addRow(['Nome']).commit()
    for (let i = 0; i < 10_000; i++) ws.addRow([`àèìòù ÀÈÌÒÙ çñ ${i} €`]).commit()
    await writer.commit()
    const {rows, issues} = await read(readXlsx, path)
    assert.deepEqual(issues, [])
    assert.equal(rows.length, 10_000)
    rows.forEach((r, i) => assert.equal(r.cells[0], `àèìòù ÀÈÌÒÙ çñ ${i} €`))
  })

  it('a shared string longer than a page (5 million characters) makes its row ROW_TOO_LONG, never an empty cell', async () => {
    const path = file('long-shared.xlsx')
    const writer = new ExcelJS.stream.xlsx.WorkbookWriter({filename: path, useSharedStrings: true})
    const ws = writer.addWorksheet('Dati')
    ws.addRow(['Nome', 'Altro']).commit()
    ws.addRow(['x'.repeat(5_000_000), 'b']).commit()
    ws.addRow(['c', 'd']).commit()
    await writer.commit()
    const {rows, issues} = await read(readXlsx, path)
    assert.deepEqual(issues, [{row: 2, code: 'ROW_TOO_LONG', params: {max: 1 << 20}}])
    assert.deepEqual(rows, [{row: 3, cells: ['c', 'd']}])
  })

  it('streams 50,000 rows with bounded memory', async function () {
    this.timeout(300_000)
    const path = file('big.xlsx')
    const total = 50_000
    const writer = new ExcelJS.stream.xlsx.WorkbookWriter({filename: path, useSharedStrings: true, useStyles: true})
    const ws = writer.addWorksheet('Beneficiari')
    ws.addRow(['Codice fiscale', 'Nome', 'Data', 'Importo', 'Numero']).commit()
    for (let i = 0; i < total; i++) {
      const row = ws.addRow([`CF${String(i).padStart(14, '0')}`, `Niccolò Perché Città ${i}`, new Date(Date.UTC(2000, 0, 1 + (i % 9000))), i + 0.01, i])
      row.getCell(3).numFmt = 'dd/mm/yyyy'
      row.commit()
    }
    await writer.commit()

    const issues: ReaderIssue[] = []
    const before = process.memoryUsage().rss
    let peak = before
    const started = process.hrtime.bigint()
    const sheet = await readXlsx(path, {onIssue: (i) => issues.push(i)})
    let count = 0
    let last: SheetRow | undefined
    for await (const batch of sheet.batches) {
      for (const r of batch) {
        assert.ok(!r.cells.some((c) => c.includes('\uFFFD')), `row ${r.row}`)
        if (r.row === 12_346) assert.deepEqual(r.cells, ['CF00000000012344', 'Niccolò Perché Città 12344', '2009-02-26', '12344.01', '12344'])
      }
      count += batch.length
      last = batch[batch.length - 1]
      peak = Math.max(peak, process.memoryUsage().rss)
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9
    const growthMb = (peak - before) / 2 ** 20
    console.log(
      `      50k-row XLSX (${(readFileSync(path).length / 2 ** 20).toFixed(1)} MB): ${seconds.toFixed(2)} s, ` +
        `${Math.round(total / seconds)} rows/s, rss growth ${growthMb.toFixed(1)} MB`,
    )
    assert.deepEqual(issues, [])
    assert.equal(count, total)
    assert.equal(sheet.headerRow, 1)
    assert.equal(last?.row, total + 1)
    assert.ok(growthMb < 400, `rss grew by ${growthMb} MB`)
  })
})

// ---------------------------------------------------------------------------------------------
// ODS
// ---------------------------------------------------------------------------------------------

const NS = [
  'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"',
  'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"',
  'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"',
  'xmlns:calcext="urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0"',
].join(' ')

function table(name: string, rows: string): string {
  return `<table:table table:name="${name}"><table:table-column table:number-columns-repeated="1024"/>${rows}</table:table>`
}
const str = (text: string, extra = ''): string =>
  `<table:table-cell office:value-type="string" calcext:value-type="string"${extra}><text:p>${text}</text:p></table:table-cell>`
const float = (value: string, extra = ''): string =>
  `<table:table-cell office:value-type="float" office:value="${value}"${extra}><text:p>${value}</text:p></table:table-cell>`
const empty = (repeat: number): string => `<table:table-cell table:number-columns-repeated="${repeat}"/>`
const emptyRows = (repeat: number): string =>
  `<table:table-row table:number-rows-repeated="${repeat}">${empty(1024)}</table:table-row>`

/** An ODS file of one table, written under `name`; its path. */
async function oneTableOds(name: string, tableName: string, rows: string): Promise<string> {
  const path = file(name)
  writeFileSync(path, await odsZip([table(tableName, rows)]))
  return path
}

/** A minimal valid ODS: mimetype stored first, manifest, content.xml. */
async function odsZip(tables: string[], contentOverride?: string): Promise<Buffer> {
  const zip = new JSZip()
  zip.file('mimetype', 'application/vnd.oasis.opendocument.spreadsheet', {compression: 'STORE'})
  zip.file(
    'META-INF/manifest.xml',
    '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">' +
      '<manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>' +
      '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>',
  )
  const content =
    contentOverride ??
    `<?xml version="1.0" encoding="UTF-8"?><office:document-content ${NS} office:version="1.2"><office:body><office:spreadsheet>${tables.join('')}</office:spreadsheet></office:body></office:document-content>`
  zip.file('content.xml', content)
  return zip.generateAsync({type: 'nodebuffer', compression: 'DEFLATE'})
}

const FIRST_TABLE = table(
  'Foglio1',
  emptyRows(2) + // rows 1-2
    `<table:table-row>${str('Nome')}${str('Data')}${str('Importo')}${str('Flag')}${empty(1020)}</table:table-row>` + // 3
    '<table:table-row>' + // 4
    str('Niccolò &amp; &lt;Figli&gt;', '') +
    '<table:table-cell office:value-type="date" office:date-value="2024-03-01T10:00:00"><text:p>01/03/2024</text:p>' +
    '<office:annotation><text:p>un commento</text:p></office:annotation></table:table-cell>' +
    float('1234.56') +
    '<table:table-cell office:value-type="boolean" office:boolean-value="true"><text:p>VERO</text:p></table:table-cell>' +
    empty(1020) +
    '</table:table-row>' +
    `<table:table-row table:number-rows-repeated="3">${str('Rossi')}${float('58091')}` + // 5-7
    '<table:table-cell office:value-type="percentage" office:value="0.25"><text:p>25%</text:p></table:table-cell>' +
    `${empty(1021)}</table:table-row>` +
    emptyRows(2) + // 8-9
    '<table:table-row>' + // 10
    '<table:table-cell office:value-type="string"><text:p>riga uno</text:p>' +
    '<text:p>a<text:s text:c="2"/>b<text:tab/>c<text:line-break/>d <text:span>e</text:span></text:p></table:table-cell>' +
    '<table:covered-table-cell/>' +
    str('x', ' table:number-columns-repeated="2"') +
    empty(2) +
    str('fine') +
    empty(1017) +
    '</table:table-row>' +
    '<table:table-row>' + // 11
    '<table:table-cell office:value-type="currency" office:currency="EUR" office:value="12.5"><text:p>12,50 €</text:p></table:table-cell>' +
    float('1E-07') +
    '<table:table-cell table:formula="of:=1/0" office:value-type="float" office:value="0" calcext:value-type="error"><text:p>#DIV/0!</text:p></table:table-cell>' +
    '<table:table-cell office:value-type="time" office:time-value="PT10H05M00S"><text:p>10:05</text:p></table:table-cell>' +
    '</table:table-row>' +
    emptyRows(1_048_565), // the untouched rest of the sheet, as LibreOffice writes it
)

const SECOND_TABLE = table(
  'Secondo',
  `<table:table-row>${str('Codice')}${empty(1023)}</table:table-row>` +
    `<table:table-row table:number-rows-repeated="5000">${str('uguale')}${empty(1023)}</table:table-row>` +
    emptyRows(10),
)

describe('readOds', () => {
  const main = file('main.ods')
  before(async () => writeFileSync(main, await odsZip([FIRST_TABLE, SECOND_TABLE])))

  it('reads the first sheet: typed values, text markup, repeated rows and cells, real row numbers', async () => {
    const {sheet, rows, issues} = await read(readOds, main)
    assert.deepEqual(issues, [])
    assert.deepEqual(sheet.info, {format: 'ods', sheet: 'Foglio1'})
    assert.deepEqual(sheet.header, ['Nome', 'Data', 'Importo', 'Flag'])
    assert.equal(sheet.headerRow, 3)
    const rossi = ['Rossi', '58091', '0.25', '']
    assert.deepEqual(rows, [
      {row: 4, cells: ['Niccolò & <Figli>', '2024-03-01', '1234.56', 'TRUE']},
      {row: 5, cells: rossi},
      {row: 6, cells: rossi},
      {row: 7, cells: rossi},
      {row: 10, cells: ['riga uno\na  b\tc\nd e', '', 'x', 'x', '', '', 'fine']},
      {row: 11, cells: ['12.5', '0.0000001', '', '10:05:00']},
    ])
  })

  it('reads cell tags in any well-formed shape: single quotes, a > inside a value, spaces around = (before it only, too), line breaks', async () => {
    const odd = await oneTableOds(
      'odd-tags.ods',
      'Strani',
      `<table:table-row>${str('A')}${str('B')}${str('C')}${str('D')}${str('E')}</table:table-row>` +
        '<table:table-row>' +
        "<table:table-cell office:value-type='float' office:value='7.5'><text:p>7,5</text:p></table:table-cell>" +
        '<table:table-cell office:value-type="string" office:string-value="a &gt; b > c"><text:p>ignorato</text:p></table:table-cell>' +
        '<table:table-cell office:value-type = "float"\n office:value = "3"><text:p>3</text:p></table:table-cell>' +
        '<table:table-cell\ttable:number-columns-repeated="1"\toffice:value-type="string"><text:p>ultimo</text:p></table:table-cell>' +
        '<table:table-cell office:value-type ="float" office:value ="4.25"><text:p>4,25</text:p></table:table-cell>' +
        '</table:table-row>',
    )
    const {rows, issues} = await read(readOds, odd)
    assert.deepEqual(issues, [])
    assert.deepEqual(rows, [{row: 2, cells: ['7.5', 'a > b > c', '3', 'ultimo', '4.25']}])
  })

  it('selects a sheet by name or position and expands a repeated data row in batches', async () => {
    for (const selector of ['Secondo', '2']) {
      const {sheet, rows, issues} = await read(readOds, main, selector)
      assert.deepEqual(issues, [])
      assert.equal(sheet.info.sheet, 'Secondo')
      assert.deepEqual(sheet.header, ['Codice'])
      assert.equal(rows.length, 5000)
      assert.deepEqual(rows[0], {row: 2, cells: ['uguale']})
      assert.deepEqual(rows[4999], {row: 5001, cells: ['uguale']})
    }
  })

  it('reports a sheet that does not exist, with the names available', async () => {
    const result = await read(readOds, main, '3')
    assertUnreadable(result, 'sheet-not-found')
    assert.equal(result.issues[0].params?.sheets, 'Foglio1, Secondo')
  })

  it('reports a plain text file named .ods without throwing', async () => {
    const fake = file('fake.ods')
    writeFileSync(fake, 'not a spreadsheet at all')
    assertUnreadable(await read(readOds, fake), 'not-zip')
  })

  it('reports a truncated zip without throwing', async () => {
    const truncated = file('truncated.ods')
    const bytes = readFileSync(main)
    writeFileSync(truncated, bytes.subarray(0, bytes.length - 100))
    assertUnreadable(await read(readOds, truncated), 'truncated')
  })

  it('reports an XLSX given as ODS (no content.xml)', async () => {
    const xlsx = file('workbook.ods')
    await new ExcelJS.Workbook().xlsx.writeFile(xlsx)
    const result = await read(readOds, xlsx)
    assertUnreadable(result, 'missing-part')
    assert.equal(result.issues[0].params?.detected, 'xlsx')
  })

  it('delivers the rows before a broken spot in content.xml, then reports it', async () => {
    const cut = file('cut.ods')
    const content = `<?xml version="1.0" encoding="UTF-8"?><office:document-content ${NS}><office:body><office:spreadsheet>` +
      table('T', `<table:table-row>${str('h')}</table:table-row><table:table-row>${str('v')}</table:table-row>`).replace('</table:table>', '') +
      '<table:table-row><table:table-cell'
    writeFileSync(cut, await odsZip([], content))
    const {sheet, rows, issues} = await read(readOds, cut)
    assert.deepEqual(sheet.header, ['h'])
    assert.deepEqual(rows, [{row: 2, cells: ['v']}])
    assert.deepEqual(issues.map((i) => [i.code, i.params?.reason]), [['FILE_UNREADABLE', 'corrupt']])
  })

  it('bounds repeats: a row repeated past the sheet edge stops at row 1,048,576; a cell repeated past 16,384 columns is ROW_TOO_LONG', async () => {
    const path = await oneTableOds(
      'repeats.ods',
      'Ripetute',
      `<table:table-row>${str('Codice')}</table:table-row>` +
        `<table:table-row>${str('largo', ' table:number-columns-repeated="100000"')}</table:table-row>` +
        `<table:table-row table:number-rows-repeated="2000000">${str('uguale')}</table:table-row>`,
    )
    const issues: ReaderIssue[] = []
    const sheet = await readOds(path, {onIssue: (i) => issues.push(i)})
    let count = 0
    let last: SheetRow | undefined
    for await (const batch of sheet.batches) {
      count += batch.length
      last = batch[batch.length - 1]
    }
    assert.deepEqual(issues, [{row: 2, code: 'ROW_TOO_LONG', params: {max: 1 << 20}}])
    assert.equal(count, 1_048_576 - 2)
    assert.deepEqual(last, {row: 1_048_576, cells: ['uguale']})
  })

  it('refuses, quickly, a few bytes that ask for billions of cells (a wide row repeated a million times) or gigabytes of spaces', async () => {
    const wide = await oneTableOds(
      'wide-repeated.ods',
      'Bomba',
      `<table:table-row>${str('Codice')}</table:table-row><table:table-row table:number-rows-repeated="1048575">${str('x', ' table:number-columns-repeated="16384"')}</table:table-row>`,
    )
    const started = process.cpuUsage()
    const {issues} = await read(readOds, wide)
    assert.ok(issues.some((i) => i.code === 'FILE_TOO_LARGE'), JSON.stringify(issues))
    const cell = `<table:table-cell office:value-type="string"><text:p>a${'<text:s text:c="1048577"/>'.repeat(20_000)}</text:p></table:table-cell>`
    const spaces = await oneTableOds('spaces.ods', 'Spazi', `<table:table-row>${str('Codice')}</table:table-row><table:table-row>${cell}</table:table-row>`)
    await read(readOds, spaces)
    const used = process.cpuUsage(started)
    assert.ok((used.user + used.system) / 1e6 < 20, `${(used.user + used.system) / 1e6} s of CPU`)
  })

  it('reports an empty sheet as FILE_EMPTY', async () => {
    const path = await oneTableOds('empty.ods', 'Vuoto', emptyRows(1_048_576))
    const {sheet, rows, issues} = await read(readOds, path)
    assert.deepEqual([sheet.header, rows], [[], []])
    assert.deepEqual(issues, [{row: 0, code: 'FILE_EMPTY'}])
  })
})
