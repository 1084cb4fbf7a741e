import {writeFileSync} from 'node:fs'
import {extname} from 'node:path'

import {describeFields} from '../flows/describe.js'
import type {FlowSpec} from '../flows/model.js'

/** `template init`: an empty spreadsheet with the canonical headers (DESIGN §4.2). Returns the number of columns. */
export async function writeCanonicalTemplate(flow: FlowSpec, path: string): Promise<number> {
  const headers = flow.fields.map((f) => f.column)
  if (extname(path).toLowerCase() !== '.xlsx') {
    writeFileSync(path, `${headers.join(',')}\n`, {mode: 0o600})
    return headers.length
  }
  const {default: ExcelJS} = await import('exceljs')
  const workbook = new ExcelJS.Workbook()
  const data = workbook.addWorksheet(flow.nameCode)
  data.addRow(headers)
  data.getRow(1).font = {bold: true}
  // codes such as ISTAT 058091 must stay text in Excel, or leading zeros are lost
  headers.forEach((_, i) => (data.getColumn(i + 1).numFmt = '@'))
  const help = workbook.addWorksheet('Istruzioni')
  help.addRow(['Colonna', 'Obbligatoria', 'Formato', 'Valori ammessi', 'Descrizione'])
  help.getRow(1).font = {bold: true}
  for (const f of describeFields(flow)) {
    help.addRow([f.column, f.required ? 'sì' : 'no', f.format, f.values ? Object.entries(f.values).map(([k, v]) => `${k} = ${v}`).join('; ') : '', f.description])
  }
  await workbook.xlsx.writeFile(path)
  return headers.length
}
