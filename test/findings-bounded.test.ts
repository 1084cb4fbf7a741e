import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {appendFileSync, closeSync, openSync, readFileSync, readSync, rmSync, statSync, writeSync} from 'node:fs'
import {join} from 'node:path'

import {BIN, ROOT, run, tempDir, userEnv} from './support/cli.js'
import {psRows, writeCsv} from './support/ps-data.js'

/**
 * A broken file must not produce a flood: findings are listed up to a limit and counted beyond it
 * (text, --json, --report alike), and a quote left open is one finding where it starts — not
 * hundreds of thousands of row findings, gigabytes of JSON and memory.
 */

/** Turns the first character of row `row`'s second cell into an opening quote that is never closed (same length: patched in place). */
function openQuoteAt(file: string, row: number): void {
  const fd = openSync(file, 'r+')
  try {
    const head = Buffer.alloc(1 << 16)
    readSync(fd, head, 0, head.length, 0)
    let at = 0
    for (let line = 1; line < row; line++) at = head.indexOf(10, at) + 1
    const comma = head.indexOf(44, at)
    writeSync(fd, Buffer.from('"'), 0, 1, comma + 1)
  } finally {
    closeSync(fd)
  }
}

describe('findings are bounded', function () {
  this.timeout(600_000)
  const dir = tempDir()
  const env = userEnv(join(dir, 'user'))
  after(() => rmSync(dir, {recursive: true, force: true}))

  it('lists at most --max-findings and counts the rest, in text, --json and --report', () => {
    const file = join(dir, 'all-bad.csv')
    // every row wrong twice: a birth year that does not match the codice fiscale, and an unknown gender
    writeCsv(file, (function* () {
      for (const r of psRows(3, 1200)) yield {...r, Genere: '7'}
    })())
    const json = run(['validate', file, '--json', '--max-findings', '100'], {env})
    assert.equal(json.code, 2)
    const doc = json.json()
    assert.equal(doc.findings.length, 100)
    assert.equal(doc.truncated, true)
    assert.ok(doc.findings_total >= 1200, String(doc.findings_total))
    assert.equal(doc.errors, 1200)

    const report = join(dir, 'errori.csv')
    const text = run(['validate', file, '--max-findings', '100', '--report', report], {env})
    assert.equal(text.code, 2)
    assert.equal(text.stdout.split('\n').filter((l) => l.startsWith('riga ')).length, 100)
    assert.match(text.stdout, /oltre 100 problemi/)
    assert.match(text.stdout, new RegExp(`Elencati i primi 100 problemi su ${doc.findings_total}`))
    const lines = readFileSync(report, 'utf8').trim().split('\r\n')
    assert.equal(lines.length, 1 + 100 + 1, 'header, 100 findings, the note')
    assert.match(lines.at(-1)!, new RegExp(`Elencati i primi 100 problemi su ${doc.findings_total}`))

    const all = run(['validate', file, '--json'], {env}).json()
    assert.equal(all.truncated, false)
    assert.equal(all.findings.length, all.findings_total)
    const build = run(['build', file, '--out', join(dir, 'out'), '--json', '--max-findings', '10'], {env}).json()
    assert.equal(build.findings.length, 10)
    assert.equal(build.truncated, true)
  })

  it('lists 10,000 findings by default', () => {
    const file = join(dir, 'many-bad.csv')
    writeCsv(file, (function* () {
      for (const r of psRows(4, 10_050)) yield {...r, Genere: '7'}
    })())
    const doc = run(['validate', file, '--json'], {env}).json()
    assert.equal(doc.findings.length, 10_000)
    assert.equal(doc.truncated, true)
    assert.ok(doc.findings_total > 10_000)
  })

  it('a 110 MB CSV with a quote left open: one finding where it starts, every row read, exit 2, RSS < 300 MB, --json < 10 MB', () => {
    const file = join(dir, 'big-open-quote.csv')
    // 49,500 synthetic rows, their lines repeated ten times (the same people again: still valid rows)
    const rows = 10 * writeCsv(file, psRows(9, 49_500))
    const text = readFileSync(file)
    const body = text.subarray(text.indexOf(10) + 1)
    for (let i = 1; i < 10; i++) appendFileSync(file, body)
    assert.ok(statSync(file).size > 110e6, `${statSync(file).size} bytes`)
    openQuoteAt(file, 10)
    const jsonPath = join(dir, 'big.json')
    const out = openSync(jsonPath, 'w')
    let r: ReturnType<typeof spawnSync>
    try {
      r = spawnSync(process.execPath, ['--import', join(ROOT, 'scripts', 'report-rss.mjs'), BIN, 'validate', file, '--json'], {
        cwd: ROOT,
        env,
        stdio: ['ignore', out, 'pipe'],
        timeout: 300_000,
      })
    } finally {
      closeSync(out)
    }
    const stderr = r.stderr!.toString()
    assert.equal(r.status, 2, stderr)
    const rssKb = Number(/maxRSS=(\d+)/.exec(stderr)![1])
    console.log(`      ${statSync(file).size} bytes: peak RSS ${Math.round(rssKb / 1024)} MB, --json ${statSync(jsonPath).size} bytes`)
    assert.ok(rssKb < 300 * 1024, `peak RSS ${Math.round(rssKb / 1024)} MB`)
    assert.ok(statSync(jsonPath).size < 10e6, `--json ${statSync(jsonPath).size} bytes`)
    const doc = JSON.parse(readFileSync(jsonPath, 'utf8'))
    const quotes = doc.findings.filter((f: {code: string}) => f.code === 'UNTERMINATED_QUOTE')
    assert.deepEqual(quotes.map((f: {row: number}) => f.row), [10])
    assert.equal(doc.rows, rows, 'no row swallowed by the open quote')
    assert.equal(doc.valid, rows - 1)
    rmSync(file)
  })
})
