import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {existsSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {BIN, ROOT, run, tempDir, userEnv} from './support/cli.js'
import {CANONICAL_HEADERS, psRows, writeCsv} from './support/ps-data.js'
import {SINBA_HEADERS} from './support/sinba-data.js'

describe('template and tables commands', function () {
  this.timeout(120_000)
  const dir = tempDir()
  const env = userEnv(dir)

  it('template init writes the canonical headers as CSV, and refuses to overwrite', () => {
    const file = join(dir, 'modello.csv')
    const r = run(['template', 'init', '--flow', 'ps', '--out', file, '--json'], {env})
    assert.equal(r.code, 0, r.stderr)
    assert.equal(readFileSync(file, 'utf8'), `${CANONICAL_HEADERS.join(',')}\n`)
    assert.equal(statSync(file).mode & 0o777, 0o600)
    const again = run(['template', 'init', '--flow', 'ps', '--out', file, '--json'], {env})
    assert.equal(again.code, 1)
    assert.equal(again.json().error.code, 'OUTPUT_EXISTS')
  })

  it('template init writes an XLSX with an instructions sheet, which validate reads back', async () => {
    const file = join(dir, 'minori.xlsx')
    assert.equal(run(['template', 'init', '--flow', 'sinba', '--out', file], {env}).code, 0)
    const {default: ExcelJS} = await import('exceljs')
    const wb = new ExcelJS.Workbook()
    await wb.xlsx.readFile(file)
    assert.deepEqual(wb.worksheets.map((w) => w.name), ['SINBA', 'Elenchi', 'Istruzioni'])
    assert.deepEqual((wb.worksheets[0].getRow(1).values as unknown[]).slice(1), SINBA_HEADERS)
    const r = run(['validate', file, '--flow', 'sinba', '--json'], {env})
    assert.equal(r.code, 0, r.stdout)
    assert.equal(r.json().rows, 0)
  })

  it('template list and show describe the canonical flows and the shipped mappings', () => {
    const list = run(['template', 'list', '--json'], {env}).json().templates.map((t: {name: string}) => t.name)
    assert.deepEqual(list.slice(0, 2), ['ps', 'sinba'])
    assert.ok(list.includes('comune-excel-it') && list.includes('sinba-excel-it'))
    const ps = run(['template', 'show', 'ps', '--json'], {env}).json()
    assert.equal(ps.fields.length, CANONICAL_HEADERS.length)
    assert.deepEqual(ps.fields.find((f: {column: string}) => f.column === 'Genere').values, {'1': 'Maschio', '2': 'Femmina'})
    const mapping = run(['template', 'show', 'comune-excel-it', '--json'], {env}).json()
    assert.equal(mapping.columns.Genere.column, 'Sesso')
    assert.equal(run(['template', 'show', 'nessuno'], {env}).code, 1)
  })

  it('tables status lists the reference tables with their sources and age', () => {
    const tables = run(['tables', 'status', '--json'], {env}).json().tables
    assert.deepEqual(tables.map((t: {name: string}) => t.name).sort(), ['belfiore', 'comuni', 'iso-countries', 'prestazioni'].sort())
    for (const t of tables) assert.ok(t.entries > 40 && t.ageDays >= 0, JSON.stringify(t))
  })

  it('tables update --from adds the codes INPS introduced, and validate knows them from then on', () => {
    const rows = [...psRows(3, 2)].map((r) => ({...r, CodicePrestazione: 'A2.30', DenominazionePrestazione: 'Nuova categoria di prova'}))
    const file = join(dir, 'nuovi.csv')
    writeCsv(file, rows)
    const before = run(['validate', file, '--json'], {env}).json()
    assert.deepEqual([...new Set(before.findings.map((f: {code: string}) => f.code))], ['PRESTAZIONE_UNKNOWN'])
    const source = join(dir, 'nomenclatore.csv')
    writeFileSync(source, 'codice;denominazione\nA2.30;Nuova categoria di prova\nnon-un-codice;x\n')
    const r = run(['tables', 'update', '--from', source, '--json'], {env})
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(r.json().added, ['A2.30'])
    assert.deepEqual(r.json().rejected, [{row: 3, value: 'NON-UN-CODICE'}])
    assert.equal(statSync(r.json().file).mode & 0o777, 0o600)
    assert.deepEqual(run(['validate', file, '--json'], {env}).json().findings, [])
    assert.ok(existsSync(join(dir, 'data', 'casellario', 'nomenclatore.json')))
  })

  it('every command answers --help with examples, without a TTY', () => {
    for (const cmd of [['validate'], ['build'], ['template', 'init'], ['template', 'list'], ['template', 'show'], ['tables', 'status'], ['tables', 'update']]) {
      const r = run([...cmd, '--help'], {env})
      assert.equal(r.code, 0, cmd.join(' '))
      assert.match(r.stdout, /ESEMPI/, cmd.join(' ')) // the users' environment is Italian (userEnv)
      assert.match(run([...cmd, '--help', '--lang', 'en'], {env}).stdout, /EXAMPLES/, cmd.join(' '))
    }
  })

  it('on a terminal, missing headers are asked once, and the answer can be saved as a template', () => {
    const headers = CANONICAL_HEADERS.map((h) => (h === 'Cognome' ? 'Cognome assistito' : h === 'CodicePrestazione' ? 'Cod. prestazione' : h))
    const rows = [...psRows(4, 30, {scatter: true})].map((r) => ({...r, 'Cognome assistito': r.Cognome, 'Cod. prestazione': r.CodicePrestazione}))
    const file = join(dir, 'export-locale.csv')
    writeCsv(file, rows, {headers})
    const saved = join(dir, 'mio-modello.yaml')
    // the wizard proposes Cognome ← "Cognome assistito" and CodicePrestazione ← "Cod. prestazione": Enter confirms
    const steps = [
      ['Le confermi', '\r'],
      ['Salvare', `${saved}\r`],
    ]
    // build restarts when beneficiaries are scattered: the question must still come only once
    const r = spawnSync('python3', [join(ROOT, 'test', 'support', 'pty-drive.py'), JSON.stringify(steps), '--', process.execPath, BIN, 'build', file, '--out', join(dir, 'out-interattivo')], {env, encoding: 'utf8', timeout: 90_000})
    const result = JSON.parse(r.stdout)
    assert.equal(result.answered, 2, result.transcript)
    assert.equal(result.exit, 0, result.transcript)
    const screen = result.transcript.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '')
    assert.equal((screen.match(/✔ Le confermi/g) ?? []).length, 1, screen)
    const again = run(['validate', file, '--template', saved, '--json'], {env})
    assert.equal(again.code, 0, again.stdout.slice(0, 500))
    assert.equal(again.json().valid, 30)
    // without a terminal nothing is asked: the missing column is reported
    assert.equal(run(['validate', file, '--json'], {env}).json().findings[0].code, 'HEADER_MISSING_COLUMN')
  })

  after(() => rmSync(dir, {recursive: true, force: true}))
})
