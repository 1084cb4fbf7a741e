import {createWriteStream, writeFileSync} from 'node:fs'
import {extname} from 'node:path'

import {UsageError} from '../errors/index.js'
import {describeField, optionalElementOf} from '../flows/describe.js'
import type {FieldSpec, FlowSpec} from '../flows/model.js'
import {lang, say} from '../i18n/messages.js'

/**
 * `template init` (DESIGN §4.2): an empty spreadsheet with the canonical headers that a social
 * worker can fill in: in a workbook, the header stays in view, every column is as wide as its
 * name, dates and amounts are typed the Italian way (the cell formats convert them), coded
 * columns offer their codes in a drop-down, and an instructions sheet says what each column
 * means and when it is required. Returns the number of columns.
 */
export async function writeCanonicalTemplate(flow: FlowSpec, path: string): Promise<number> {
  const format = TEMPLATE_FORMATS[extname(path).toLowerCase()]
  if (!format) throw unsupportedFormat(path)
  const columns = flow.fields.map((f) => templateColumn(flow, f))
  if (format === 'csv') writeFileSync(path, `${columns.map((c) => c.header).join(',')}\n`, {mode: 0o600})
  else if (format === 'xlsx') await writeXlsx(flow, columns, path)
  else await writeOds(flow, columns, path)
  return columns.length
}

const TEMPLATE_FORMATS: Record<string, 'csv' | 'xlsx' | 'ods'> = {'.csv': 'csv', '.xlsx': 'xlsx', '.ods': 'ods'}

function unsupportedFormat(path: string): UsageError {
  const ext = extname(path)
  return new UsageError(
    'TEMPLATE_FORMAT',
    {
      it: `Non so scrivere un modello con estensione ${ext || '(nessuna)'}: scegli .xlsx (Excel), .ods (LibreOffice) o .csv.`,
      en: `Cannot write a template with extension ${ext || '(none)'}: choose .xlsx (Excel), .ods (LibreOffice) or .csv.`,
    },
    {suggestions: [`casellario template init --out ${path.slice(0, path.length - extname(path).length) || 'modello'}.xlsx`]},
  )
}

/**
 * Rows prepared with drop-downs: a form filled by hand, not an export. (A rule over the whole
 * sheet would make some readers expand a million cells per column.)
 */
const PREPARED_ROWS = 10_000

/** How a column is typed in the sheet: what a person types there is converted by the cell format. */
type CellKind = 'text' | 'date' | 'amount' | 'integer'

interface TemplateColumn {
  header: string
  kind: CellKind
  width: number
  /** the codes of an enumerated field, for a drop-down */
  codes?: string[]
  /** what the drop-down's prompt says: code = meaning */
  legend?: string
  required: string
  format: string
  description: string
}

function templateColumn(flow: FlowSpec, f: FieldSpec): TemplateColumn {
  const d = describeField(f, lang())
  const kind: CellKind =
    f.list !== undefined ? 'text' : f.type.kind === 'date' ? 'date' : f.type.kind === 'decimal' && !f.type.hoursMinutes ? 'amount' : f.type.kind === 'int' ? 'integer' : 'text'
  const optional = optionalElementOf(flow, f)
  const required = !f.required
    ? say({it: 'no', en: 'no'})
    : optional
      ? say({it: `sì, se è compilato il blocco ${optional.name}`, en: `yes, when the ${optional.name} block is filled in`})
      : say({it: 'sì', en: 'yes'})
  const codes = f.type.kind === 'enum' && !f.list ? Object.keys(f.type.values) : undefined
  return {
    header: f.column,
    kind,
    width: Math.min(40, Math.max(12, f.column.length + 3, kind === 'date' ? 12 : 0)),
    ...(codes ? {codes, legend: Object.entries(d.values ?? {}).map(([k, v]) => `${k} = ${v}`).join('; ')} : {}),
    required,
    format: kind === 'date' ? say({it: 'data gg/mm/aaaa', en: 'date dd/mm/yyyy'}) : kind === 'amount' ? say({it: 'importo, es. 1.234,56', en: 'amount, e.g. 1.234,56'}) : d.format,
    description: d.description,
  }
}

const INSTRUCTIONS_HEADER = (): string[] =>
  say({it: 'Colonna|Obbligatoria|Formato|Valori ammessi|Descrizione', en: 'Column|Required|Format|Allowed values|Description'}).split('|')

async function writeXlsx(flow: FlowSpec, columns: TemplateColumn[], path: string): Promise<void> {
  const {default: ExcelJS} = await import('exceljs')
  const workbook = new ExcelJS.Workbook()
  const data = workbook.addWorksheet(flow.nameCode, {views: [{state: 'frozen', ySplit: 1}]})
  const lists = workbook.addWorksheet(say({it: 'Elenchi', en: 'Lists'}), {state: 'hidden'})
  columns.forEach((c, i) => {
    const column = data.getColumn(i + 1)
    column.width = c.width
    // codes such as ISTAT 058091 must stay text, or Excel drops the leading zeros
    column.numFmt = c.kind === 'date' ? 'dd/mm/yyyy' : c.kind === 'amount' ? '#,##0.00' : c.kind === 'integer' ? '0' : '@'
    if (c.codes) {
      // the codes live on a hidden sheet: a list written inside the rule is capped at 255 characters
      const listColumn = lists.getColumn(i + 1)
      c.codes.forEach((code, k) => (lists.getCell(k + 1, i + 1).value = code))
      listColumn.numFmt = '@'
      const letter = column.letter
      // exceljs has range validations at run time, not in its type declarations
      ;(data as unknown as {dataValidations: {add: (range: string, rule: object) => void}}).dataValidations.add(`${letter}2:${letter}${PREPARED_ROWS + 1}`, {
        type: 'list',
        allowBlank: true,
        formulae: [`'${lists.name}'!$${letter}$1:$${letter}$${c.codes.length}`],
        showInputMessage: true,
        promptTitle: c.header.slice(0, 32),
        prompt: (c.legend ?? '').slice(0, 255),
        showErrorMessage: true,
        errorStyle: 'stop',
        errorTitle: say({it: 'Codice non ammesso', en: 'Code not allowed'}),
        error: say({it: `Scegli uno dei codici dell'elenco: ${c.legend ?? ''}`, en: `Choose one of the listed codes: ${c.legend ?? ''}`}).slice(0, 255),
      })
    }
  })
  const header = data.getRow(1)
  header.values = columns.map((c) => c.header)
  header.font = {bold: true}
  header.eachCell((cell) => (cell.numFmt = '@'))
  const help = workbook.addWorksheet(say({it: 'Istruzioni', en: 'Instructions'}), {views: [{state: 'frozen', ySplit: 1}]})
  help.addRow(INSTRUCTIONS_HEADER())
  help.getRow(1).font = {bold: true}
  ;[34, 30, 26, 60, 60].forEach((w, i) => (help.getColumn(i + 1).width = w))
  for (const c of columns) help.addRow([c.header, c.required, c.format, c.legend ?? '', c.description])
  workbook.views = [{x: 0, y: 0, width: 20000, height: 12000, firstSheet: 0, activeTab: 0, visibility: 'visible'}]
  await workbook.xlsx.writeFile(path)
  // exceljs writes with the default mode: personal data will be typed into this file
  const {chmod} = await import('node:fs/promises')
  await chmod(path, 0o600)
}

/** ODS written directly (OpenDocument 1.2): LibreOffice is common in Italian public offices. */
async function writeOds(flow: FlowSpec, columns: TemplateColumn[], path: string): Promise<void> {
  const {default: yazl} = await import('yazl')
  const zip = new yazl.ZipFile()
  // the mimetype entry comes first and uncompressed: that is how readers recognise the format
  zip.addBuffer(Buffer.from('application/vnd.oasis.opendocument.spreadsheet'), 'mimetype', {compress: false})
  zip.addBuffer(Buffer.from(ODS_MANIFEST), 'META-INF/manifest.xml')
  zip.addBuffer(Buffer.from(odsSettings(flow.nameCode)), 'settings.xml')
  zip.addBuffer(Buffer.from(odsContent(flow, columns)), 'content.xml')
  zip.end()
  await new Promise<void>((resolve, reject) => {
    const out = createWriteStream(path, {mode: 0o600})
    zip.outputStream.pipe(out).on('finish', resolve).on('error', reject)
  })
}

const ODS_NS =
  'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" ' +
  'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" ' +
  'xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0" xmlns:number="urn:oasis:names:tc:opendocument:xmlns:datastyle:1.0" ' +
  'xmlns:of="urn:oasis:names:tc:opendocument:xmlns:of:1.2" xmlns:config="urn:oasis:names:tc:opendocument:xmlns:config:1.0"'

const ODS_MANIFEST = `<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">
 <manifest:file-entry manifest:full-path="/" manifest:version="1.2" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>
 <manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>
 <manifest:file-entry manifest:full-path="settings.xml" manifest:media-type="text/xml"/>
</manifest:manifest>`

/** The header row kept in view (LibreOffice reads the split from the view settings). */
function odsSettings(sheet: string): string {
  const item = (name: string, type: string, value: string | number): string => `<config:config-item config:name="${name}" config:type="${type}">${value}</config:config-item>`
  return `<?xml version="1.0" encoding="UTF-8"?>
<office:document-settings ${ODS_NS} office:version="1.2"><office:settings><config:config-item-set config:name="ooo:view-settings"><config:config-item-map-indexed config:name="Views"><config:config-item-map-entry>${item('ViewId', 'string', 'view1')}<config:config-item-map-named config:name="Tables"><config:config-item-map-entry config:name="${xml(sheet)}">${item('VerticalSplitMode', 'short', 2)}${item('VerticalSplitPosition', 'int', 1)}${item('ActiveSplitRange', 'short', 2)}${item('PositionTop', 'int', 0)}${item('PositionBottom', 'int', 1)}</config:config-item-map-entry></config:config-item-map-named>${item('ActiveTable', 'string', xml(sheet))}</config:config-item-map-entry></config:config-item-map-indexed></config:config-item-set></office:settings></office:document-settings>`
}


function odsContent(flow: FlowSpec, columns: TemplateColumn[]): string {
  const sheet = flow.nameCode
  const validations = columns
    .map((c, i) =>
      c.codes
        ? `<table:content-validation table:name="v${i}" table:condition="of:cell-content-is-in-list(${c.codes.map((code) => `&quot;${xml(code)}&quot;`).join(';')})" table:allow-empty-cell="true" table:display-list="unsorted" table:base-cell-address="${xml(odsSheetRef(sheet))}.A2"><table:help-message table:title="${xml(c.header)}" table:display="true"><text:p>${xml(c.legend ?? '')}</text:p></table:help-message><table:error-message table:title="${xml(say({it: 'Codice non ammesso', en: 'Code not allowed'}))}" table:display="true" table:message-type="stop"><text:p>${xml(c.legend ?? '')}</text:p></table:error-message></table:content-validation>`
        : '',
    )
    .join('')
  const cellStyle: Record<CellKind, string> = {text: 'ctext', date: 'cdate', amount: 'camount', integer: 'cint'}
  const columnsXml = columns.map((c, i) => `<table:table-column table:style-name="w${i}" table:default-cell-style-name="${cellStyle[c.kind]}"/>`).join('')
  const widths = columns.map((c, i) => `<style:style style:name="w${i}" style:family="table-column"><style:table-column-properties style:column-width="${(c.width * 0.2).toFixed(2)}cm"/></style:style>`).join('')
  const headerRow = `<table:table-row>${columns.map((c) => `<table:table-cell table:style-name="chead" office:value-type="string"><text:p>${xml(c.header)}</text:p></table:table-cell>`).join('')}</table:table-row>`
  const emptyRow = `<table:table-row table:number-rows-repeated="${PREPARED_ROWS}">${columns.map((c, i) => `<table:table-cell table:style-name="${cellStyle[c.kind]}"${c.codes ? ` table:content-validation-name="v${i}"` : ''}/>`).join('')}</table:table-row>`
  const cell = (text: string): string => `<table:table-cell office:value-type="string"><text:p>${xml(text)}</text:p></table:table-cell>`
  const help = [INSTRUCTIONS_HEADER(), ...columns.map((c) => [c.header, c.required, c.format, c.legend ?? '', c.description])]
    .map((r, k) => `<table:table-row>${r.map((v) => (k === 0 ? `<table:table-cell table:style-name="chead" office:value-type="string"><text:p>${xml(v)}</text:p></table:table-cell>` : cell(v))).join('')}</table:table-row>`)
    .join('')
  return `<?xml version="1.0" encoding="UTF-8"?>
<office:document-content ${ODS_NS} office:version="1.2"><office:automatic-styles>
<number:date-style style:name="ndate"><number:day number:style="long"/><number:text>/</number:text><number:month number:style="long"/><number:text>/</number:text><number:year number:style="long"/></number:date-style>
<number:number-style style:name="namount"><number:number number:decimal-places="2" number:min-decimal-places="2" number:min-integer-digits="1" number:grouping="true"/></number:number-style>
<number:number-style style:name="nint"><number:number number:decimal-places="0" number:min-integer-digits="1"/></number:number-style>
<number:text-style style:name="ntext"><number:text-content/></number:text-style>
<style:style style:name="chead" style:family="table-cell" style:data-style-name="ntext"><style:text-properties fo:font-weight="bold"/></style:style>
<style:style style:name="ctext" style:family="table-cell" style:data-style-name="ntext"/>
<style:style style:name="cdate" style:family="table-cell" style:data-style-name="ndate"/>
<style:style style:name="camount" style:family="table-cell" style:data-style-name="namount"/>
<style:style style:name="cint" style:family="table-cell" style:data-style-name="nint"/>
<style:style style:name="whelp" style:family="table-column"><style:table-column-properties style:column-width="8cm"/></style:style>
${widths}</office:automatic-styles><office:body><office:spreadsheet><table:content-validations>${validations}</table:content-validations>
<table:table table:name="${xml(sheet)}">${columnsXml}${headerRow}${emptyRow}</table:table>
<table:table table:name="${xml(say({it: 'Istruzioni', en: 'Instructions'}))}"><table:table-column table:style-name="whelp" table:number-columns-repeated="5"/>${help}</table:table>
</office:spreadsheet></office:body></office:document-content>`
}

function odsSheetRef(sheet: string): string {
  return /^\w+$/.test(sheet) ? sheet : `'${sheet.replaceAll("'", "''")}'`
}

function xml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;'})[c]!)
}
