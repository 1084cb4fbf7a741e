import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {rmSync} from 'node:fs'
import {join} from 'node:path'

import {BIN, ROOT, run, tempDir, userEnv} from './support/cli.js'
import {psRows, writeCsv} from './support/ps-data.js'

/** Long work on a terminal shows how far it has come; a script reading a pipe sees none of it. */
describe('progress on long work: on a terminal only', function () {
  this.timeout(300_000)
  const dir = tempDir()
  // small chunks' threshold lowered so this file goes through the worker threads, as a big export does
  const env = userEnv(dir, {CASELLARIO_PARALLEL_MIN_BYTES: String(1 << 20)})
  const file = join(dir, 'export.csv')
  before(() => writeCsv(file, psRows(5, 40_000)))

  it('build on a terminal shows rows, rows/s and the percentage, and clears the line before the summary', () => {
    const r = spawnSync('python3', [join(ROOT, 'test', 'support', 'pty-drive.py'), '[]', '--', process.execPath, BIN, 'build', file, '--out', join(dir, 'tty')], {
      env: {...env, DRIVE_TIMEOUT: '240'},
      encoding: 'utf8',
      timeout: 280_000,
    })
    const result = JSON.parse(r.stdout)
    assert.equal(result.exit, 0, result.transcript.slice(-2000))
    const transcript: string = result.transcript
    assert.match(transcript, /\r\x1b\[K[\d.]+ righe lette · [\d.]+ righe\/s · \d+%/)
    // the last progress drawing is erased before the result lines are printed
    const last = transcript.lastIndexOf('righe lette')
    const summary = transcript.indexOf(' beneficiari, ', last)
    assert.ok(summary > last, 'result after the last progress line')
    assert.match(transcript.slice(last, summary), /\r\x1b\[K/)
  })

  it('piped, or with --json, there is no progress at all', () => {
    const piped = run(['build', file, '--out', join(dir, 'pipe')], {env})
    assert.equal(piped.code, 0, piped.stderr)
    assert.doesNotMatch(piped.stderr + piped.stdout, /righe lette|\x1b\[K/)
  })

  after(() => rmSync(dir, {recursive: true, force: true}))
})
