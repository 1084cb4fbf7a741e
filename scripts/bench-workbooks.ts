/**
 * npm run bench -- --workbooks [--rows N] [--repeat N]: the bench's realistic export (DESIGN §11:
 * people with 1–5 prestazioni, every column family, rows in date order; 1,000,000 rows unless
 * --rows says otherwise) as CSV, XLSX (inline strings, real dates, numbers) and ODS, the same rows
 * in each (issue 18).
 * For each format, `validate` and `build` time ÷ that file's own floor, ÷ the CSV twin, and peak RSS:
 *   CSV floor:       csv-parse alone over the file (records as arrays)
 *   XLSX/ODS floor:  `unzip -p` of the sheet / content.xml piped into `xmllint --stream --noout -`
 * Runs (floors included) alternate between formats, --repeat times (default 3); the medians are compared.
 * Self-contained: its data (cached in .bench/wb-*) does not depend on the main bench's files.
 */
import {spawnSync} from 'node:child_process'
import {appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync} from 'node:fs'
import {join} from 'node:path'

import {writeCsv, type PsRow} from '../test/support/ps-data.js'
import {realisticRows} from '../test/support/realistic-data.js'
import {headerRow, twinRow, typedRow, writeOds, writeSpreadsheetMl, type TypedRow} from '../test/support/workbooks.js'

type Format = 'csv' | 'xlsx' | 'ods'
const FORMATS: Format[] = ['csv', 'xlsx', 'ods']

export async function benchWorkbooks(root: string, bench: string, env: NodeJS.ProcessEnv, args: string[]): Promise<void> {
  const option = (name: string, fallback: number): number => Number(args[args.indexOf(name) + 1] || fallback) || fallback
  // DESIGN §11: targets are measured on data shaped like a real export, about a million rows. At
  // 100k–200k rows the command's fixed costs (start-up, workers, store) weigh on the ÷ floor ratios
  const rows = args.includes('--rows') ? option('--rows', 1_000_000) : 1_000_000
  const repeat = Math.max(1, args.includes('--repeat') ? option('--repeat', 3) : 3)
  mkdirSync(bench, {recursive: true})
  const files = await dataFiles(bench, rows)
  const f = (n: number, d = 2): string => n.toFixed(d)

  // the floors are timed in the same alternation as the commands: a floor timed once, at a busy
  // moment of a shared machine, would make every ratio lie
  const floorRuns: Record<Format, number[]> = {csv: [], xlsx: [], ods: []}
  const floorOf: Record<Format, () => number> = {
    csv: () => csvParseSeconds(root, files.csv),
    xlsx: () => xmlFloorSeconds(files.xlsx, 'xl/worksheets/sheet1.xml'),
    ods: () => xmlFloorSeconds(files.ods, 'content.xml'),
  }
  const runs: Record<Format, Record<'validate' | 'build', {seconds: number; rssMb: number}[]>> = {
    csv: {validate: [], build: []},
    xlsx: {validate: [], build: []},
    ods: {validate: [], build: []},
  }
  for (let i = 0; i < repeat; i++) {
    for (const format of FORMATS) {
      floorRuns[format].push(floorOf[format]())
      runs[format].validate.push(cli(root, env, ['validate', files[format], '--json']))
      runs[format].build.push(cli(root, env, ['build', files[format], '--out', join(bench, 'wb-flussi'), '--json']))
    }
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
  const seconds = (format: Format, command: 'validate' | 'build'): number => median(runs[format][command].map((r) => r.seconds))
  const rss = (format: Format, command: 'validate' | 'build'): number => Math.max(...runs[format][command].map((r) => r.rssMb))
  const floors = {csv: median(floorRuns.csv), xlsx: median(floorRuns.xlsx), ods: median(floorRuns.ods)}

  console.log(`rows ${rows}, ${repeat} alternate runs per format and command (medians); sizes: ${FORMATS.map((x) => `${x} ${f(statSync(files[x]).size / 2 ** 20, 1)} MB`).join(', ')}`)
  console.log('format  floor      command   time     ÷ floor  ÷ CSV   peak RSS   (targets: ≤ 1.5, ≤ 2, < 300 MB)')
  const summary: Record<string, unknown> = {rows, repeat}
  for (const format of FORMATS) {
    for (const command of ['validate', 'build'] as const) {
      const s = seconds(format, command)
      const all = runs[format][command].map((r) => f(r.seconds)).join(', ')
      console.log(
        `${format.padEnd(7)} ${`${f(floors[format])} s`.padEnd(10)} ${command.padEnd(9)} ${`${f(s)} s`.padEnd(8)} ${f(s / floors[format]).padEnd(8)} ${f(s / seconds('csv', command)).padEnd(7)} ${`${f(rss(format, command), 0)} MB`.padEnd(10)} (runs ${all})`,
      )
      summary[`${format}.${command}`] = {seconds: s, floor: floors[format], floorRuns: floorRuns[format], ratioFloor: s / floors[format], ratioCsv: s / seconds('csv', command), rssMb: rss(format, command), runs: runs[format][command]}
    }
  }
  console.log(JSON.stringify(summary))
}

/** The same rows as CSV, XLSX and ODS (generated once, cached). */
async function dataFiles(bench: string, rows: number): Promise<Record<Format, string>> {
  const base = join(bench, `wb-${rows}-v2`)
  const files = {csv: `${base}.csv`, xlsx: `${base}.xlsx`, ods: `${base}.ods`}
  // the main bench's people (seed 2026), their rows in date order as a management system exports
  // them (ties stay in person order)
  const generate = (): Generator<ReturnType<typeof twinRow>> => (function* () {
    for (const row of rowsByDay(bench, rows)) yield twinRow(row)
  })()
  const typed = function* (): Generator<TypedRow> {
    yield headerRow()
    for (const row of generate()) yield typedRow(row)
  }
  for (const format of FORMATS) {
    if (existsSync(files[format])) continue
    process.stderr.write(`generating ${rows} rows → ${files[format]} …\n`)
    const partial = `${files[format]}.partial`
    if (format === 'csv') writeCsv(partial, generate())
    else if (format === 'xlsx') await writeSpreadsheetMl(partial, [{name: 'Prestazioni', rows: typed()}], {stream: true})
    else await writeOds(partial, [{name: 'Prestazioni', rows: typed()}])
    renameSync(partial, files[format])
  }
  return files
}

/**
 * The realistic rows in date order without holding them all (a million rows would not fit the
 * heap): bucketed by day in files of their own, then read back day by day.
 */
function* rowsByDay(bench: string, rows: number): Generator<PsRow> {
  const buckets = join(bench, `.wb-buckets-${process.pid}`)
  rmSync(buckets, {recursive: true, force: true})
  mkdirSync(buckets, {recursive: true, mode: 0o700})
  try {
    const pending = new Map<number, string[]>()
    const flush = (day: number, lines: string[]): void => {
      appendFileSync(join(buckets, String(day)), lines.join(''), {mode: 0o600})
      lines.length = 0
    }
    for (const {day, row} of realisticRows(2026, rows)) {
      let lines = pending.get(day)
      if (!lines) pending.set(day, (lines = []))
      lines.push(`${JSON.stringify(row)}\n`)
      if (lines.length >= 256) flush(day, lines)
    }
    for (const [day, lines] of pending) if (lines.length > 0) flush(day, lines)
    for (const day of [...pending.keys()].sort((a, b) => a - b)) {
      for (const line of readFileSync(join(buckets, String(day)), 'utf8').split('\n')) if (line) yield JSON.parse(line) as PsRow
    }
  } finally {
    rmSync(buckets, {recursive: true, force: true})
  }
}

function elapsed(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9
}

/** Bare csv-parse over a file, records as arrays: the CSV floor (also the main bench's). */
export function csvParseSeconds(root: string, file: string): number {
  const script = `import {createReadStream} from 'node:fs'; import {parse} from 'csv-parse';
    let n = 0; for await (const r of createReadStream(${JSON.stringify(file)}).pipe(parse())) n++; console.log(n)`
  const start = process.hrtime.bigint()
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {cwd: root, encoding: 'utf8'})
  if (r.status !== 0) throw new Error(r.stderr)
  return elapsed(start)
}

/** Inflate + a streaming XML parse of the one part that holds the rows: what any reader must at least do. */
function xmlFloorSeconds(file: string, part: string): number {
  const start = process.hrtime.bigint()
  const r = spawnSync('sh', ['-c', `unzip -p "$1" "$2" | xmllint --stream --noout -`, 'floor', file, part], {encoding: 'utf8'})
  if (r.status !== 0) throw new Error(`floor for ${file}: ${r.stderr.slice(0, 500)}`)
  return elapsed(start)
}

/** The real CLI; peak RSS (all threads) as the process reports it at exit. */
function cli(root: string, env: NodeJS.ProcessEnv, args: string[]): {seconds: number; rssMb: number} {
  rmSync(join(root, '.bench', 'wb-flussi'), {recursive: true, force: true})
  const start = process.hrtime.bigint()
  const r = spawnSync(process.execPath, ['--import', join(root, 'scripts', 'report-rss.mjs'), join(root, 'bin', 'run.js'), ...args], {cwd: root, env, encoding: 'utf8', maxBuffer: 1 << 28})
  const seconds = elapsed(start)
  if (r.status !== 0 && r.status !== 2) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr.slice(0, 1000)}`)
  const rss = /maxRSS=(\d+)/.exec(r.stderr)
  return {seconds, rssMb: rss ? Number(rss[1]) / 1024 : NaN}
}
