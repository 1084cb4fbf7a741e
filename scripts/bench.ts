/**
 * npm run bench — DESIGN §11 targets, measured as ratios in one run (never in timed tests):
 *   build time ÷ bare csv-parse time (records as arrays) over the same 1M-row file   (target < 1)
 *   build time ÷ `xmllint --stream --noout --schema` time over the XML build wrote     (target < 1)
 *   peak RSS of build at 100k and 1M rows                                             (target < 300 MB, within 10 %)
 *   serve: p99 of GET /flussi?limit=100, 50 concurrent clients, 100k queued flussi     (target < 50 ms)
 * Default shape: the realistic export (date order and grouped; validate/build/submit RSS): see
 * scripts/bench-realistic.ts for its report and options. What follows is `--shape synthetic`.
 * Data is synthetic, generated here (cached in .bench/).
 * build and xmllint run alternately --repeat times (default 5: on a shared 2-core machine one run
 * varies by ±5 %) and the ratio is of the medians; every run is printed.
 * Run: npm run bench [-- --rows N] [-- --repeat N] [-- --only ratios,validate,build,waas,push,file,serve]   (realistic)
 *      npm run bench -- --shape synthetic [--rows N] [--repeat N] [--scattered] [--serve-only | --build-only]
 *      npm run bench -- --serve-pg [--enti N --per-ente N]   (serve on PostgreSQL, two processes, beside SQLite: scripts/bench-serve-pg.ts)
 *      npm run bench -- --workbooks [--rows N] [--repeat N]   (CSV vs XLSX vs ODS: scripts/bench-workbooks.ts)
 */
import {spawnSync} from 'node:child_process'
import {existsSync, mkdirSync, readdirSync, rmSync, createReadStream, createWriteStream} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {psRows, writeCsv} from '../test/support/ps-data.js'
import {benchRealistic} from './bench-realistic.js'
import {benchServe} from './bench-serve.js'
import {benchServePg} from './bench-serve-pg.js'
import {benchWorkbooks, csvParseSeconds} from './bench-workbooks.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const BENCH = join(ROOT, '.bench')
const XSD = join(ROOT, '..', 'shared', 'reference', 'inps', 'PS_PSA_SINA201812.xsd')
const args = process.argv.slice(2)
const ROWS = Number(args[args.indexOf('--rows') + 1] || 1_000_000) || 1_000_000
const SCATTERED = args.includes('--scattered')
const REPEAT = Math.max(1, Number(args[args.indexOf('--repeat') + 1] || 5) || 5)
const ENV = {
  ...process.env,
  CASELLARIO_ENTE_CODICE: 'H501',
  CASELLARIO_ENTE_BELFIORE: 'H501',
  CASELLARIO_CF_OPERATORE: 'PRTPRV80A01H501O',
  CASELLARIO_STORE: join(BENCH, 'store.db'),
}

function seconds(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9
}

async function dataFile(rows: number, scattered: boolean): Promise<string> {
  const file = join(BENCH, `ps-${rows}${scattered ? '-scattered' : ''}-v1.csv`)
  if (!existsSync(file)) {
    process.stderr.write(`generating ${rows} synthetic rows → ${file} …\n`)
    writeCsv(file, psRows(2026, rows, {scatter: scattered}))
  }
  return file
}

/** The first `rows` data rows of a file (same data, so 100k and 1M are comparable). */
async function head(file: string, rows: number): Promise<string> {
  const out = file.replace(/\.csv$/, `-head${rows}.csv`)
  if (existsSync(out)) return out
  await new Promise<void>((resolve, reject) => {
    const w = createWriteStream(out, {mode: 0o600})
    let lines = -1
    let rest = ''
    const r = createReadStream(file, {encoding: 'utf8'})
    r.on('data', (chunk) => {
      const parts = (rest + chunk).split('\n')
      rest = parts.pop()!
      for (const p of parts) {
        if (++lines > rows) {
          r.destroy()
          w.end(resolve)
          return
        }
        w.write(`${p}\n`)
      }
    })
    r.on('error', reject)
    r.on('close', () => w.end(resolve))
  })
  return out
}

/** Runs the real CLI; peak RSS (all threads) reported by the process itself at exit. */
function build(file: string, out: string): {seconds: number; rssMb: number; flussi: number} {
  rmSync(out, {recursive: true, force: true})
  const start = process.hrtime.bigint()
  const r = spawnSync(process.execPath, ['--import', join(ROOT, 'scripts', 'report-rss.mjs'), join(ROOT, 'bin', 'run.js'), 'build', file, '--out', out, '--json'], {
    cwd: ROOT,
    env: ENV,
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  })
  const elapsed = seconds(start)
  if (r.status !== 0) throw new Error(`build exited ${r.status}: ${r.stderr.slice(0, 1000)}`)
  const rss = /maxRSS=(\d+)/.exec(r.stderr)
  return {seconds: elapsed, rssMb: rss ? Number(rss[1]) / 1024 : NaN, flussi: JSON.parse(r.stdout).flussi.length}
}

function xmllintSeconds(dir: string): number {
  const files = readdirSync(dir).filter((f) => f.endsWith('.xml')).map((f) => join(dir, f))
  const start = process.hrtime.bigint()
  const r = spawnSync('xmllint', ['--stream', '--noout', '--schema', XSD, ...files], {encoding: 'utf8', maxBuffer: 1 << 28})
  const elapsed = seconds(start)
  if (r.status !== 0) throw new Error(`xmllint rejected the output: ${r.stderr.slice(0, 1000)}`)
  return elapsed
}

mkdirSync(BENCH, {recursive: true})
if (args.includes('--workbooks')) {
  // CSV vs XLSX vs ODS of the same export: its own data and report (scripts/bench-workbooks.ts)
  await benchWorkbooks(ROOT, BENCH, ENV, args)
  process.exit(0)
}
if (args.includes('--serve-pg')) {
  const r = await benchServePg(ROOT, BENCH, args, ENV)
  const line = (name: string, s: {requests: number; flussi: number; p50: number; p99: number}): string =>
    `${name.padEnd(34)} ${s.requests} requests, 50 concurrent, ${s.flussi} queued flussi: p50 ${s.p50.toFixed(1)} ms, p99 ${s.p99.toFixed(1)} ms`
  console.log(`serve GET /flussi?limit=100 over ${r.enti} enti × ${r.perEnte} flussi   (target p99 < 50)`)
  console.log(line('PostgreSQL, two serve processes', r.postgres))
  console.log(line('SQLite, one serve process', r.sqlite))
  console.log(JSON.stringify({servePg: r}))
  process.exit(0)
}
// ---- realistic shape (issue 13): the headline, its own module (scripts/bench-realistic.ts);
// the synthetic shape below stays behind --shape synthetic (--scattered implies it)
const SHAPE = args.includes('--shape') ? args[args.indexOf('--shape') + 1] : SCATTERED ? 'synthetic' : 'realistic'
if (SHAPE !== 'realistic' && SHAPE !== 'synthetic') throw new Error(`--shape ${SHAPE}? (realistic or synthetic)`)
if (SHAPE === 'realistic') {
  await benchRealistic(ROOT, BENCH, ENV, args)
  process.exit(0)
}
// ---- synthetic shape
const big = await dataFile(ROWS, SCATTERED)
const small = await head(big, Math.round(ROWS / 10))
const f = (n: number, d = 2): string => n.toFixed(d)

if (args.includes('--serve-only')) {
  if (!args.includes('--build-only')) await reportServe()
  process.exit(0)
}

async function reportServe(): Promise<void> {
  const s = await benchServe(ROOT, BENCH, await head(big, 100_000), ENV)
  console.log(`serve GET /flussi?limit=100  ${s.requests} requests, 50 concurrent, ${s.flussi} queued flussi: p50 ${f(s.p50, 1)} ms, p99 ${f(s.p99, 1)} ms   (target p99 < 50)`)
  console.log(JSON.stringify({serve: s}))
}
const out = join(BENCH, 'flussi')

const median = (xs: number[]): number => {
  const sorted = [...xs].sort((x, y) => x - y)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}
const parse = csvParseSeconds(ROOT, big)
const builds: ReturnType<typeof build>[] = []
const lints: number[] = []
for (let i = 0; i < REPEAT; i++) {
  builds.push(build(big, out))
  lints.push(xmllintSeconds(out))
}
const b = {seconds: median(builds.map((x) => x.seconds)), rssMb: Math.max(...builds.map((x) => x.rssMb)), flussi: builds[0].flussi}
const lint = median(lints)
// peak RSS compared like for like: the highest of as many runs at 100k as at 1M
const b10 = {rssMb: Math.max(...Array.from({length: REPEAT}, () => build(small, join(BENCH, 'flussi-small')).rssMb))}
const runs = (xs: number[]): string => (xs.length > 1 ? `   (median of ${xs.map((x) => f(x)).join(', ')})` : '')

console.log(`rows                       ${ROWS}${SCATTERED ? ' (beneficiaries scattered)' : ''}`)
console.log(`csv-parse (arrays)         ${f(parse)} s`)
console.log(`build                      ${f(b.seconds)} s   ${b.flussi} flussi${runs(builds.map((x) => x.seconds))}`)
console.log(`xmllint --stream --schema  ${f(lint)} s${runs(lints)}`)
console.log(`build ÷ csv-parse          ${f(b.seconds / parse)}   (target < 1)`)
console.log(`build ÷ xmllint            ${f(b.seconds / lint)}   (target < 1)`)
console.log(`peak RSS ${ROWS / 10} rows     ${f(b10.rssMb, 0)} MB`)
console.log(`peak RSS ${ROWS} rows    ${f(b.rssMb, 0)} MB   (target < 300, within 10 %: ${f((b.rssMb / b10.rssMb - 1) * 100, 1)} %)`)
console.log(JSON.stringify({rows: ROWS, scattered: SCATTERED, repeat: REPEAT, csvParse: parse, build: b.seconds, builds: builds.map((x) => x.seconds), xmllint: lint, xmllints: lints, ratioCsvParse: b.seconds / parse, ratioXmllint: b.seconds / lint, rssSmallMb: b10.rssMb, rssMb: b.rssMb}))
if (!args.includes('--build-only')) await reportServe()
