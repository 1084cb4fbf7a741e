import assert from 'node:assert/strict'
import {spawn, spawnSync} from 'node:child_process'
import {copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {basename, join} from 'node:path'
import ExcelJS from 'exceljs'

import {BIN, ROOT, run, tempDir, userEnv, xmlFiles, type CliResult} from './support/cli.js'
import {CANONICAL_HEADERS, psRows, writeCsv, type PsRow} from './support/ps-data.js'
import {headerRow, twinRows, typedRow, writeOds, writeSpreadsheetMl, writeZipBomb, type SheetSpec, type TypedRow} from './support/workbooks.js'

/**
 * A Comune's export as CSV, XLSX (exceljs, and a hand-written SpreadsheetML with shared strings,
 * date styles and the 1904 date system) and ODS: the same findings and byte-identical flussi.
 * Then what a hostile or careless input does: zip bombs, a truncated zip, a full-height sheet,
 * a kill -9 in the middle of reading, stdin.
 */

const dir = tempDir('casellario-workbooks-')
after(() => rmSync(dir, {recursive: true, force: true}))

/** A user of their own, whose TMPDIR is an empty folder we can inspect afterwards. */
function isolatedEnv(name: string): {env: Record<string, string>; tmp: string; home: string} {
  const home = join(dir, name)
  const tmp = join(home, 'tmpdir')
  mkdirSync(tmp, {recursive: true})
  return {env: userEnv(home, {TMPDIR: tmp}), tmp, home}
}

/** Some rows broken the ways real exports are, so that there are findings to compare. */
function exportRows(count: number): PsRow[] {
  return twinRows([...psRows(18, count)]).map((row, i) => {
    if (i % 37 === 5) return {...row, ...(row.DataInizioPrestazione ? {DataInizioPrestazione: '2026-02-30'} : {DataErogazionePrestazione: '2026-02-30'})}
    if (i % 41 === 7) return {...row, CodiceFiscale: row.CodiceFiscale.slice(0, 15) + (row.CodiceFiscale.endsWith('A') ? 'B' : 'A')}
    if (i % 53 === 9) return {...row, Cognome: ''}
    if (i % 59 === 11 && row.ImportoMensile) return {...row, ImportoMensile: '-5'}
    if (i % 61 === 13 && row.CodiceComune) return {...row, CodiceComune: String(Number(row.CodiceComune))}
    return row
  })
}

async function writeExcelJs(path: string, sheets: {name: string; rows: PsRow[]}[]): Promise<void> {
  const wb = new ExcelJS.Workbook()
  for (const sheet of sheets) {
    const ws = wb.addWorksheet(sheet.name)
    ws.addRow(CANONICAL_HEADERS)
    for (const row of sheet.rows) {
      const cells = typedRow(row).map((c) => (!c ? null : c.t === 'd' ? new Date(`${c.v}T00:00:00Z`) : c.v))
      const added = ws.addRow(cells)
      cells.forEach((c, i) => {
        if (c instanceof Date) added.getCell(i + 1).numFmt = 'dd/mm/yyyy'
      })
    }
  }
  await wb.xlsx.writeFile(path)
}

const sheetOf = (name: string, rows: PsRow[], opts: {textDates?: (i: number) => boolean} = {}): SheetSpec => ({
  name,
  rows: [headerRow(), ...rows.map((row, i) => typedRow(row, {textDates: opts.textDates?.(i)}))],
})

function validate(file: string, env: Record<string, string>, extra: string[] = []): CliResult {
  return run(['validate', file, '--json', ...extra], {env})
}

/** Flussi written by a build, by name, with their bytes. */
function flussi(out: string): Map<string, Buffer> {
  return new Map(xmlFiles(out).map((f) => [f.slice(out.length + 1), readFileSync(f)]))
}

describe('workbooks: the same findings, records and flussi as the CSV twin', function () {
  this.timeout(300_000)
  const rows = exportRows(400)
  const files: Record<string, string> = {}
  let csvResult: CliResult
  let csvBuild: CliResult
  const csvOut = join(dir, 'csv-out')

  before(async () => {
    files.csv = join(dir, 'export.csv')
    writeCsv(files.csv, rows)
    files['xlsx (exceljs)'] = join(dir, 'exceljs.xlsx')
    await writeExcelJs(files['xlsx (exceljs)'], [{name: 'Prestazioni', rows}])
    files['xlsx (shared strings, date styles, streamed entries)'] = join(dir, 'shared.xlsx')
    await writeSpreadsheetMl(files['xlsx (shared strings, date styles, streamed entries)'], [sheetOf('Prestazioni', rows)], {sharedStrings: true, stream: true})
    files['xlsx (1904 dates, inline strings, every other date as text)'] = join(dir, 'inline-1904.xlsx')
    await writeSpreadsheetMl(files['xlsx (1904 dates, inline strings, every other date as text)'], [sheetOf('Prestazioni', rows, {textDates: (i) => i % 2 === 0})], {date1904: true})
    files.ods = join(dir, 'export.ods')
    await writeOds(files.ods, [sheetOf('Prestazioni', rows, {textDates: (i) => i % 3 === 0})])
    csvResult = validate(files.csv, isolatedEnv('csv-validate').env)
    csvBuild = run(['build', files.csv, '--out', csvOut, '--json'], {env: isolatedEnv('csv-build').env})
  })

  it('the CSV itself has findings of several kinds and valid rows', () => {
    assert.equal(csvResult.code, 2, csvResult.stderr)
    const doc = csvResult.json()
    assert.equal(doc.rows, 400)
    assert.ok(doc.valid > 300, `${doc.valid} valid`)
    const codes = new Set(doc.findings.map((f: {code: string}) => f.code))
    for (const code of ['INVALID_DATE', 'CF_CHECK_CHARACTER', 'REQUIRED', 'NOT_POSITIVE', 'NOT_DIGITS']) assert.ok(codes.has(code), `${code} in ${[...codes]}`)
  })

  for (const format of ['xlsx (exceljs)', 'xlsx (shared strings, date styles, streamed entries)', 'xlsx (1904 dates, inline strings, every other date as text)', 'ods']) {
    it(`${format}: validate gives the CSV's findings, row by row and cell by cell`, () => {
      const r = validate(files[format], isolatedEnv(`validate-${format.slice(0, 4)}-${Object.keys(files).indexOf(format)}`).env)
      assert.equal(r.code, 2, r.stderr)
      const {format: readAs, ...doc} = r.json()
      const {format: csvFormat, encoding, delimiter, ...expected} = csvResult.json()
      assert.equal(csvFormat, 'csv')
      assert.equal(readAs, format.slice(0, format.indexOf(' ') < 0 ? undefined : format.indexOf(' ')))
      assert.deepEqual(doc, expected)
    })

    it(`${format}: build writes byte-identical flussi`, () => {
      const out = join(dir, `out-${Object.keys(files).indexOf(format)}`)
      const a = csvBuild
      const b = run(['build', files[format], '--out', out, '--json'], {env: isolatedEnv(`build-${Object.keys(files).indexOf(format)}`).env})
      assert.equal(a.code, 2, a.stderr)
      assert.equal(b.code, 2, b.stderr)
      const expected = flussi(csvOut)
      assert.ok(expected.size > 0)
      assert.deepEqual([...flussi(out).keys()], [...expected.keys()])
      for (const [name, bytes] of flussi(out)) assert.ok(bytes.equals(expected.get(name)!), `${name} differs`)
      assert.deepEqual(b.json().findings, a.json().findings)
    })
  }
})

describe('workbooks: several sheets, hidden ones, --sheet', function () {
  this.timeout(300_000)
  const rows = exportRows(60)
  const note: SheetSpec = {name: 'Note', rows: [[{t: 's', v: 'Export del servizio sociale'}]], merge: 'A1:D1'}
  const hidden = (): SheetSpec => ({name: 'Elenchi', hidden: true, rows: [[{t: 's', v: 'codici'}], [{t: 's', v: 'A1.04'}]]})
  let csv: CliResult

  before(() => {
    const path = join(dir, 'sheets.csv')
    writeCsv(path, rows)
    csv = validate(path, isolatedEnv('sheets-csv').env)
  })

  for (const [format, write] of [
    ['xlsx', (path: string) => writeSpreadsheetMl(path, [note, hidden(), sheetOf('Prestazioni', rows)], {sharedStrings: true})],
    ['ods', (path: string) => writeOds(path, [note, hidden(), sheetOf('Prestazioni', rows)])],
  ] as const) {
    it(`${format}: the first visible sheet by default; --sheet by name or by position among the visible ones`, async () => {
      const path = join(dir, `sheets.${format}`)
      await write(path)
      const {env} = isolatedEnv(`sheets-${format}`)
      const first = validate(path, env)
      assert.equal(first.code, 2)
      assert.ok(first.json().findings.every((f: {code: string; row: number}) => f.code === 'HEADER_MISSING_COLUMN' && f.row === 1))
      const {format: _f, encoding: _e, delimiter: _d, ...expected} = csv.json()
      for (const selector of ['Prestazioni', '2']) {
        const {format: readAs, ...doc} = validate(path, env, ['--sheet', selector]).json()
        assert.equal(readAs, format)
        assert.deepEqual(doc, expected)
      }
      const lists = validate(path, env, ['--sheet', 'Elenchi']).json()
      assert.equal(lists.findings[0].code, 'HEADER_MISSING_COLUMN')
      const missing = validate(path, env, ['--sheet', '3'])
      assert.equal(missing.code, 2)
      assert.deepEqual(missing.json().findings.map((f: {code: string}) => f.code), ['SHEET_NOT_FOUND'])
      assert.match(missing.json().findings[0].message, /Note, Elenchi, Prestazioni/)
    })
  }
})

/** Runs the CLI measured: wall and CPU time, peak RSS and bytes written (report-io.mjs). */
function measured(args: string[], env: Record<string, string>): CliResult & {seconds: number; cpuSeconds: number; rssMb: number; writtenMb: number} {
  const started = process.hrtime.bigint()
  const r = spawnSync(process.execPath, ['--import', join(ROOT, 'test', 'support', 'report-io.mjs'), BIN, ...args], {env, cwd: ROOT, maxBuffer: 1 << 26, timeout: 120_000})
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  const stderr = r.stderr.toString()
  const io = /maxRSS=(\d+) cpu=(\d+) wchar=(\d+)/.exec(stderr)
  assert.ok(io, stderr)
  const stdout = r.stdout.toString()
  return {code: r.status ?? -1, stdout, stderr, json: () => JSON.parse(stdout), seconds, cpuSeconds: Number(io[2]) / 1e6, rssMb: Number(io[1]) / 1024, writtenMb: Number(io[3]) / 2 ** 20}
}

/** Every file under a folder with its size. */
function filesUnder(root: string): {path: string; size: number}[] {
  if (!existsSync(root)) return []
  return readdirSync(root, {recursive: true, withFileTypes: true})
    .filter((e) => e.isFile())
    .map((e) => ({path: join(e.parentPath, e.name), size: statSync(join(e.parentPath, e.name)).size}))
}

describe('large workbooks: worker threads read the worksheet in chunks, with exactly the one-thread result', function () {
  this.timeout(600_000)
  // ~9,000 rows: about 11 MB of worksheet XML, several chunks of rows for the workers; some text
  // beyond ASCII and Latin-1 (workers scan bytes as latin1 and decode such text from the bytes),
  // escaped characters, and two spaces (ODS collapses them, as LibreOffice shows them)
  const rows = exportRows(9000).map((row, i) => (i % 13 === 3 ? {...row, DenominazionePrestazione: `Servizio – “cura” n. ${i} € & <domicilio>  🙂 Łódź`} : row))
  const envs = (name: string): {sequential: Record<string, string>; chunked: Record<string, string>} => ({
    sequential: {...isolatedEnv(`${name}-seq`).env, CASELLARIO_PARALLEL_MIN_BYTES: String(2 ** 40)},
    chunked: {...isolatedEnv(`${name}-par`).env, CASELLARIO_PARALLEL_MIN_BYTES: '0'},
  })
  /** the export, with two blank rows after row 4,000 and a row of over a million characters at row 6,001 */
  const sheetRows = (): (TypedRow | undefined)[] => {
    const typed: (TypedRow | undefined)[] = [headerRow(), ...rows.map((row, i) => typedRow(row, {textDates: i % 2 === 0}))]
    typed.splice(4000, 0, undefined, undefined)
    typed[6000] = [{t: 's', v: 'x'.repeat(1_100_000)}]
    return typed
  }
  const xlsx = (opts: Parameters<typeof writeSpreadsheetMl>[2]) => (path: string) => writeSpreadsheetMl(`${path}.xlsx`, [{name: 'Prestazioni', rows: sheetRows()}], opts)
  const variants: [string, (path: string) => Promise<void>, string[]][] = [
    ['XLSX, inline strings, real dates and dates as text', xlsx({}), []],
    ['XLSX, shared strings, every element prefixed x:', xlsx({sharedStrings: true, prefix: 'x'}), []],
    ['XLSX, rows without r (blank rows as <row/>), 1904 dates', xlsx({omitRowNumbers: true, date1904: true}), []],
    // the table after another one, blank rows written as one repeated row
    ['ODS, --sheet naming the second table', (path) => writeOds(`${path}.ods`, [{name: 'Istruzioni', rows: [[{t: 's', v: 'Leggere prima'}]]}, {name: 'Prestazioni', rows: sheetRows()}]), ['--sheet', 'Prestazioni']],
    // the rows end where the first table does: the second one's are never read as more of them
    ['ODS, the first of two tables, rows in the second', (path) => writeOds(`${path}.ods`, [{name: 'Prestazioni', rows: sheetRows()}, {name: 'Copia', rows: sheetRows().slice(0, 3000)}]), []],
    // workers read the usual shapes of cells by their bytes, and anything else as one thread does
    ['ODS as LibreOffice styles it (row and cell styles, spans, text:s, covered cells, line breaks)', (path) => writeOds(`${path}.ods`, [{name: 'Prestazioni', rows: sheetRows()}], {styled: true}), []],
  ]
  const files = new Map<string, string>()
  before(async () => {
    for (const [name, write] of variants) {
      const path = join(dir, `large-${files.size}`)
      await write(path)
      files.set(name, `${path}.${name.startsWith('ODS') ? 'ods' : 'xlsx'}`)
    }
  })

  for (const [name, , args] of variants) {
    it(`${name}: validate gives the same document in workers as in one thread`, () => {
      const {sequential, chunked} = envs(`large-validate-${[...files.keys()].indexOf(name)}`)
      const a = validate(files.get(name)!, sequential, args)
      const b = validate(files.get(name)!, chunked, args)
      assert.equal(a.code, 2, a.stderr)
      assert.equal(b.code, a.code, b.stderr)
      assert.deepEqual(b.json(), a.json())
      const doc = b.json()
      assert.equal(doc.rows, 9000)
      assert.ok(doc.valid > 7000, `${doc.valid} valid`)
      // the row over a million characters, at the row the sheet shows (the header is row 1, two blank rows before it)
      assert.deepEqual(doc.findings.filter((f: {code: string}) => f.code === 'ROW_TOO_LONG').map((f: {row: number}) => f.row), [6001])
      assert.ok(doc.findings.some((f: {row: number}) => f.row > 8900), 'findings up to the last rows')
    })
  }

  for (const [name, , args] of variants) {
    it(`${name}: build writes byte-identical flussi in workers`, () => {
      const n = [...files.keys()].indexOf(name)
      const {sequential, chunked} = envs(`large-build-${n}`)
      const out = (mode: string): string => join(dir, `large-out-${n}-${mode}`)
      const a = run(['build', files.get(name)!, '--out', out('seq'), '--json', ...args], {env: sequential})
      const b = run(['build', files.get(name)!, '--out', out('par'), '--json', ...args], {env: chunked})
      assert.equal(a.code, 2, a.stderr)
      assert.equal(b.code, 2, b.stderr)
      assert.deepEqual(b.json().findings, a.json().findings)
      const expected = flussi(out('seq'))
      assert.ok(expected.size > 0)
      assert.deepEqual([...flussi(out('par')).keys()], [...expected.keys()])
      for (const [flusso, bytes] of flussi(out('par'))) assert.ok(bytes.equals(expected.get(flusso)!), `${flusso} differs`)
      // the text beyond Latin-1 arrived whole
      const written = [...expected.values()].map((bytes) => bytes.toString('utf8')).join('')
      assert.match(written, /Servizio – “cura” n\. 3 € &amp; &lt;domicilio&gt; {1,2}🙂 Łódź/)
    })
  }

  it('damaged XML in row 7,000: the rows before it, then FILE_UNREADABLE after row 6,999, in workers as in one thread', async () => {
    const file = join(dir, 'large-damaged.xlsx')
    await writeSpreadsheetMl(file, [{name: 'Prestazioni', rows: sheetRows()}], {damagedRow: 7000})
    const {sequential, chunked} = envs('large-damaged')
    const a = validate(file, sequential)
    const b = validate(file, chunked)
    assert.equal(a.code, 2, a.stderr)
    assert.equal(b.code, 2, b.stderr)
    const byRow = (doc: {findings: {row: number; code: string; field: string}[]}): string[] => doc.findings.map((f) => `${f.row} ${f.code} ${f.field}`).sort()
    // the same findings; the moment the damage is reported among them may differ
    assert.deepEqual(byRow(b.json()), byRow(a.json()))
    const {findings: _a, ...countsA} = a.json()
    const {findings: _b, ...countsB} = b.json()
    assert.deepEqual(countsB, countsA)
    const unreadable = b.json().findings.find((f: {code: string}) => f.code === 'FILE_UNREADABLE')
    assert.match(unreadable.message, /6999/)
    assert.ok(b.json().rows >= 6990 && b.json().rows < 7000, `${b.json().rows} rows read`)
  })

  it('a flusso that cannot be written stops the build with that error, in workers too: the file is never called damaged', () => {
    const file = files.get('XLSX, inline strings, real dates and dates as text')!
    // small files: the first one is written while the workers still read, not after
    const args = ['--max-size', '200', '--json']
    const first = join(dir, 'large-own-error-1')
    const a = run(['build', file, '--out', first, ...args], {env: envs('large-own-error-1').chunked})
    assert.equal(a.code, 2, a.stderr)
    // the same build from another store names its flussi the same: the first one is already there
    const second = join(dir, 'large-own-error-2')
    mkdirSync(second)
    const taken = basename(a.json().flussi[0].file)
    copyFileSync(join(first, taken), join(second, taken))
    const b = run(['build', file, '--out', second, ...args], {env: envs('large-own-error-2').chunked})
    assert.equal(b.code, 1, b.stdout)
    assert.equal(b.json().error.code, 'OUTPUT_EXISTS')
    assert.match(b.json().error.message, new RegExp(taken.replace(/\./g, '\\.')))
    assert.deepEqual(readdirSync(second), [taken], 'nothing else reaches the output folder')
  })
})

describe('workbooks: hostile and broken files', function () {
  this.timeout(300_000)

  for (const [sheets, chunked] of [[1, false], [3, false], [1, true]] as const) {
    it(`a ${sheets}-sheet deflate bomb (each sheet ~2 MB → 2 GB) is refused as ZIP_BOMB, exit 2, at once, writing nothing${chunked ? ' (read in chunks by worker threads)' : ''}`, () => {
      const bomb = join(dir, `bomb-${sheets}.xlsx`)
      const {bytes} = writeZipBomb(bomb, {sheets, inflatedMb: 2048})
      assert.ok(bytes < sheets * (3 << 20), `the bomb is ${bytes} bytes`)
      const {env, tmp, home} = isolatedEnv(`bomb-${sheets}${chunked ? '-chunked' : ''}`)
      // a workbook this size is read in one thread; CASELLARIO_PARALLEL_MIN_BYTES=0 hands it to the workers
      if (chunked) env.CASELLARIO_PARALLEL_MIN_BYTES = '0'
      for (const selector of sheets === 1 ? [[]] : [[], ['--sheet', '3']]) {
        const r = measured(['validate', bomb, '--json', ...selector], env)
        assert.equal(r.code, 2, r.stderr)
        assert.deepEqual(r.json().findings.map((f: {code: string; row: number}) => [f.code, f.row]), [['ZIP_BOMB', 0]])
        assert.match(r.json().findings[0].message, /si decomprime in modo abnorme/)
        // CPU time, not wall time: on a shared 2-core machine the wall clock measures the neighbours
        // (node's own start-up included; the refusal itself takes milliseconds)
        assert.ok(r.cpuSeconds < 5, `${r.cpuSeconds} s of CPU`)
        assert.ok(r.rssMb < 300, `${r.rssMb} MB RSS`)
        assert.ok(r.writtenMb < 10, `${r.writtenMb} MB written`)
        console.log(`      ${(bytes / 2 ** 20).toFixed(1)} MB bomb ${selector.join(' ')}: refused in ${r.seconds.toFixed(2)} s wall, ${r.cpuSeconds.toFixed(2)} s CPU (process start included), peak RSS ${r.rssMb.toFixed(0)} MB, ${r.writtenMb.toFixed(3)} MB written`)
        const b = measured(['build', bomb, '--out', join(home, 'out'), '--json', ...selector], env)
        assert.equal(b.code, 2, b.stderr)
        assert.ok(b.rssMb < 300 && b.writtenMb < 10 && b.cpuSeconds < 5, `${b.cpuSeconds} s of CPU, ${b.rssMb} MB, ${b.writtenMb} MB written`)
      }
      assert.deepEqual(filesUnder(tmp), [])
      const left = filesUnder(home).filter((f) => !f.path.startsWith(tmp))
      assert.ok(left.reduce((sum, f) => sum + f.size, 0) < 10 << 20, JSON.stringify(left))
    })
  }

  it('a truncated XLSX (an interrupted download) is FILE_UNREADABLE with a message that says so, exit 2', async () => {
    const whole = join(dir, 'whole.xlsx')
    await writeSpreadsheetMl(whole, [sheetOf('Prestazioni', exportRows(50))], {sharedStrings: true})
    const cut = join(dir, 'cut.xlsx')
    const bytes = readFileSync(whole)
    writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length * 0.7)))
    const r = validate(cut, isolatedEnv('truncated').env)
    assert.equal(r.code, 2)
    const [finding] = r.json().findings
    assert.equal(finding.code, 'FILE_UNREADABLE')
    assert.match(finding.message, /troncato/)
  })

  it('a sheet of 1,048,576 rows (the most a sheet holds) is read to its last row, in a process that stays under 300 MB', async () => {
    const path = join(dir, 'tall.xlsx')
    const total = 1_048_576
    await writeSpreadsheetMl(path, [{name: 'Alto', rows: tallRows(total)}], {stream: true})
    // read in a process of its own (the built reader), so that its peak RSS is its own, not the test run's
    const script = `import {readXlsx} from ${JSON.stringify(join(ROOT, 'dist', 'src', 'input', 'xlsx.js'))}
      const issues = []; const sheet = await readXlsx(process.argv[1], {onIssue: (i) => issues.push(i)})
      let count = 0, last, middle
      for await (const batch of sheet.batches) { count += batch.length; last = batch[batch.length - 1]; middle ??= batch.find((r) => r.row === 524288) }
      console.log(JSON.stringify({issues, header: sheet.header, count, last, middle, maxRssMb: process.resourceUsage().maxRSS / 1024}))`
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script, path], {encoding: 'utf8', maxBuffer: 1 << 20})
    assert.equal(r.status, 0, r.stderr)
    const doc = JSON.parse(r.stdout)
    assert.deepEqual(doc.issues, [])
    assert.deepEqual(doc.header, ['CodiceFiscale'])
    assert.equal(doc.count, total - 1)
    assert.deepEqual(doc.last, {row: total, cells: [`CF${String(total).padStart(10, '0')}`]})
    assert.deepEqual(doc.middle, {row: 524_288, cells: ['CF0000524288']})
    assert.ok(doc.maxRssMb < 300, `${doc.maxRssMb} MB`)
    console.log(`      1,048,576-row sheet read in a process of its own: peak RSS ${doc.maxRssMb.toFixed(0)} MB`)
  })
})

function* tallRows(total: number): Generator<TypedRow> {
  yield [{t: 's', v: 'CodiceFiscale'}]
  for (let r = 2; r <= total; r++) yield [{t: 's', v: `CF${String(r).padStart(10, '0')}`}]
}

describe('workbooks: personal data never leaves the data folder, even after kill -9', function () {
  this.timeout(300_000)
  const rows = exportRows(20_000)
  const codiciFiscali = [...new Set(rows.map((r) => r.CodiceFiscale))]
  let xlsx: string

  before(async () => {
    xlsx = join(dir, 'kill-20k.xlsx')
    await writeSpreadsheetMl(xlsx, [sheetOf('Prestazioni', rows)], {sharedStrings: true})
  })

  /** Files under root (but not `except`) that contain any of the codici fiscali. */
  function filesWithPersonalData(root: string, except: string[] = []): string[] {
    return filesUnder(root)
      .filter((f) => !except.some((e) => f.path.startsWith(e)))
      .filter((f) => {
        const text = readFileSync(f.path, 'latin1')
        return codiciFiscali.some((cf) => text.includes(cf))
      })
      .map((f) => f.path)
  }

  async function killedAfter(args: string[], env: Record<string, string>, ms: number): Promise<void> {
    const child = spawn(process.execPath, [BIN, ...args], {env, cwd: ROOT, stdio: 'ignore'})
    const exited = new Promise((resolve) => child.once('exit', resolve))
    await new Promise((resolve) => setTimeout(resolve, ms))
    child.kill('SIGKILL') // a no-op if it already finished: the checks hold either way
    await exited
  }

  for (const command of ['validate', 'build'] as const) {
    it(`${command} of a 20k-row XLSX killed at any moment leaves nothing with a codice fiscale outside the data folder`, async () => {
      const {env, tmp, home} = isolatedEnv(`kill-${command}`)
      const out = join(home, 'out')
      for (const ms of [150, 400, 700, 1000, 1500]) {
        await killedAfter([command, xlsx, '--json', ...(command === 'build' ? ['--out', out] : [])], env, ms)
        assert.deepEqual(filesUnder(tmp), [], `after ${ms} ms`)
        assert.deepEqual(filesWithPersonalData(home, [join(home, 'data'), out, join(home, 'store.db')]), [], `after ${ms} ms`)
      }
    })
  }

  it('a workbook on stdin is read like the file; killed, its copy stays in the data folder only, and the next command sweeps it', async () => {
    const {env, tmp, home} = isolatedEnv('kill-stdin')
    const expected = validate(xlsx, env).json()
    const piped = run(['validate', '-', '--json'], {env, input: readFileSync(xlsx)})
    assert.equal(piped.code, 2)
    assert.deepEqual(piped.json(), expected)
    const privateTemp = join(home, 'data', 'casellario', 'tmp')
    assert.deepEqual(filesUnder(privateTemp), [], 'removed after a normal run')

    // killed while its copy exists: all but the last bytes sent, stdin kept open, copy seen on disk
    const bytes = readFileSync(xlsx)
    const child = spawn(process.execPath, [BIN, 'validate', '-', '--json'], {env, cwd: ROOT, stdio: ['pipe', 'ignore', 'ignore']})
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.stdin!.on('error', () => {})
    child.stdin!.write(bytes.subarray(0, bytes.length - 100))
    let copy: {path: string; size: number}[] = []
    for (let waited = 0; copy.length === 0 || copy[0].size < bytes.length - 100; waited += 50) {
      assert.ok(waited < 60_000, 'the copy never appeared in the private folder')
      await new Promise((resolve) => setTimeout(resolve, 50))
      copy = filesUnder(privateTemp)
    }
    child.kill('SIGKILL')
    await exited
    assert.deepEqual(filesUnder(tmp), [])
    assert.deepEqual(filesWithPersonalData(home, [join(home, 'data')]), [])
    assert.equal(copy.length, 1)
    assert.equal(statSync(copy[0].path).mode & 0o777, 0o600)
    assert.equal(statSync(join(copy[0].path, '..')).mode & 0o777, 0o700)
    // any command, even one that reads nothing, sweeps what the killed run left
    assert.equal(run(['template', 'list', '--json'], {env}).code, 0)
    assert.deepEqual(filesUnder(privateTemp), [])
  })
})
