import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {readFileSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import yazl from 'yazl'

import {PS} from '../src/flows/ps.js'
import {run, tempDir, userEnv} from './support/cli.js'
import {psRows, type PsRow} from './support/ps-data.js'

const fieldKind = (column: string): string => PS.field(column).type.kind

/** What a person types in each kind of column: Italian dates and amounts, codes from the drop-down. */
function typedAsAnItalian(row: PsRow, asText: boolean): unknown[] {
  return PS.fields.map((f) => {
    const v = row[f.column] ?? ''
    if (v === '') return null
    if (f.type.kind === 'date') {
      const [y, m, d] = v.split('-')
      return asText ? `${d}/${m}/${y}` : new Date(Date.UTC(Number(y), Number(m) - 1, Number(d)))
    }
    if (f.type.kind === 'decimal' && !f.type.hoursMinutes) return asText ? v.replace('.', ',') : Number(v)
    return v
  })
}

describe('template init: a workbook a social worker can fill', function () {
  this.timeout(120_000)
  const dir = tempDir()
  const env = userEnv(dir)
  const rows = [...psRows(11, 6)]

  it('writes an .xlsx with the header in view, fitting widths, date and amount formats, drop-downs and instructions', async () => {
    const file = join(dir, 'modello.xlsx')
    assert.equal(run(['template', 'init', '--flow', 'ps', '--out', file], {env}).code, 0)
    assert.equal(statSync(file).mode & 0o777, 0o600)
    const {default: ExcelJS} = await import('exceljs')
    const wb = new ExcelJS.Workbook()
    await wb.xlsx.readFile(file)
    const [data, lists, help] = wb.worksheets
    assert.equal(data.views[0].state, 'frozen')
    assert.equal(lists.state, 'hidden')
    const col = (name: string) => data.getColumn(PS.fields.findIndex((f) => f.column === name) + 1)
    assert.equal(col('DataInizioPrestazione').numFmt, 'dd/mm/yyyy')
    assert.equal(col('ImportoMensile').numFmt, '#,##0.00')
    assert.equal(col('CodiceComune').numFmt, '@')
    for (const f of PS.fields) assert.ok((data.getColumn(f.index + 1).width ?? 0) >= Math.min(40, f.column.length), f.column)
    const sheetXml = execFileSync('unzip', ['-p', file, 'xl/worksheets/sheet1.xml'], {encoding: 'utf8'})
    const enums = PS.fields.filter((f) => f.type.kind === 'enum' && !f.list)
    assert.equal((sheetXml.match(/<dataValidation type="list"/g) ?? []).length, enums.length)
    const genere = help.getRows(2, PS.fields.length)!.find((r) => r.getCell(1).value === 'Genere')!
    assert.equal(genere.getCell(4).value, '1 = Maschio; 2 = Femmina')
    const sina = help.getRows(2, PS.fields.length)!.find((r) => r.getCell(1).value === 'SINA_Mobilita')!
    assert.match(String(sina.getCell(2).value), /solo se|se è compilato il blocco/)
  })

  it('explains each column in Italian on the Istruzioni sheet, and in English with --lang en', async () => {
    const {default: ExcelJS} = await import('exceljs')
    const describe = async (lang: string[]): Promise<{sheet: string; inizio: unknown}> => {
      const file = join(tempDir(), 'modello.xlsx')
      assert.equal(run(['template', 'init', '--flow', 'ps', '--out', file, ...lang], {env}).code, 0)
      const wb = new ExcelJS.Workbook()
      await wb.xlsx.readFile(file)
      const help = wb.worksheets[2]
      const row = help.getRows(2, PS.fields.length)!.find((r) => r.getCell(1).value === 'DataInizioPrestazione')!
      return {sheet: help.name, inizio: row.getCell(5).value}
    }
    assert.deepEqual(await describe(['--lang', 'it']), {sheet: 'Istruzioni', inizio: 'Data di inizio (obbligatoria per le prestazioni periodiche)'})
    assert.deepEqual(await describe(['--lang', 'en']), {sheet: 'Instructions', inizio: 'Start date (required for periodic prestazioni)'})
  })

  it('filled with 01/08/2026-style dates, 1257,05-style amounts and codes from the drop-downs, validates clean', async () => {
    const file = join(dir, 'modello.xlsx')
    const {default: ExcelJS} = await import('exceljs')
    const wb = new ExcelJS.Workbook()
    await wb.xlsx.readFile(file)
    const data = wb.worksheets[0]
    // Excel turns a date typed in a date cell into a date, an amount into a number; text cells keep the text
    rows.forEach((r, i) => (data.getRow(i + 2).values = typedAsAnItalian(r, i % 2 === 1)))
    await wb.xlsx.writeFile(file)
    const r = run(['validate', file, '--json'], {env})
    assert.equal(r.code, 0, r.stdout)
    assert.deepEqual({rows: r.json().rows, valid: r.json().valid, errors: r.json().errors}, {rows: rows.length, valid: rows.length, errors: 0})
    // the XML holds the same values as the canonical rows
    const csv = join(dir, 'same.csv')
    writeFileSync(csv, [PS.fields.map((f) => f.column).join(','), ...rows.map((row) => PS.fields.map((f) => row[f.column] ?? '').join(','))].join('\n') + '\n')
    const a = run(['build', file, '--out', join(dir, 'from-xlsx'), '--json'], {env}).json()
    const b = run(['build', csv, '--out', join(dir, 'from-csv'), '--json'], {env}).json()
    // a number cell keeps the number, not how it was written: 15000.00 comes back as 15000
    const body = (f: string): string => readFileSync(f, 'utf8').replace(/Nome="[^"]+"/, '').replace(/="(-?\d+)\.(\d*?)0+"/g, (_, i, d) => (d ? `="${i}.${d}"` : `="${i}"`))
    assert.deepEqual(a.flussi.map((x: {file: string}) => body(x.file)), b.flussi.map((x: {file: string}) => body(x.file)))
  })

  it('writes a real .ods (LibreOffice): frozen header, date style, drop-downs; filled, it validates clean', async () => {
    const file = join(dir, 'modello.ods')
    assert.equal(run(['template', 'init', '--flow', 'ps', '--out', file], {env}).code, 0)
    assert.equal(execFileSync('unzip', ['-p', file, 'mimetype'], {encoding: 'utf8'}), 'application/vnd.oasis.opendocument.spreadsheet')
    const content = execFileSync('unzip', ['-p', file, 'content.xml'], {encoding: 'utf8'})
    execFileSync('xmllint', ['--noout', '-'], {input: content})
    assert.match(execFileSync('unzip', ['-p', file, 'settings.xml'], {encoding: 'utf8'}), /VerticalSplitPosition" config:type="int">1</)
    assert.match(content, /<number:date-style style:name="ndate"><number:day/)
    assert.match(content, /of:cell-content-is-in-list\(&quot;1&quot;;&quot;2&quot;\)/)
    // fill it the way LibreOffice stores what was typed: dates and floats typed, codes as text
    const cell = (f: (typeof PS.fields)[number], v: string): string => {
      if (v === '') return '<table:table-cell/>'
      if (f.type.kind === 'date') return `<table:table-cell office:value-type="date" office:date-value="${v}"><text:p>${v.split('-').reverse().join('/')}</text:p></table:table-cell>`
      if (f.type.kind === 'decimal' && !f.type.hoursMinutes) return `<table:table-cell office:value-type="float" office:value="${v}"><text:p>${v.replace('.', ',')}</text:p></table:table-cell>`
      return `<table:table-cell office:value-type="string"><text:p>${v.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</text:p></table:table-cell>`
    }
    const filled = rows.map((r) => `<table:table-row>${PS.fields.map((f) => cell(f, r[f.column] ?? '')).join('')}</table:table-row>`).join('')
    const withRows = content.replace(/(<table:table-row table:number-rows-repeated=)/, `${filled}$1`)
    const zip = new yazl.ZipFile()
    zip.addBuffer(Buffer.from('application/vnd.oasis.opendocument.spreadsheet'), 'mimetype', {compress: false})
    for (const part of ['META-INF/manifest.xml', 'settings.xml']) zip.addBuffer(execFileSync('unzip', ['-p', file, part]), part)
    zip.addBuffer(Buffer.from(withRows), 'content.xml')
    zip.end()
    const out = join(dir, 'compilato.ods')
    const chunks: Buffer[] = []
    for await (const c of zip.outputStream) chunks.push(c as Buffer)
    writeFileSync(out, Buffer.concat(chunks))
    const r = run(['validate', out, '--json'], {env})
    assert.equal(r.code, 0, r.stdout)
    assert.equal(r.json().valid, rows.length)
    assert.equal(r.json().rows, rows.length)
  })

  it('refuses an extension it cannot write, suggesting one it can', () => {
    for (const name of ['x.txt', 'x.xls']) {
      const r = run(['template', 'init', '--out', join(dir, name), '--json'], {env})
      assert.equal(r.code, 1)
      assert.equal(r.json().error.code, 'TEMPLATE_FORMAT')
      assert.match(r.json().error.suggestions[0], /\.xlsx$/)
    }
  })
})
