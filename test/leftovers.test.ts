import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {mkdirSync, readdirSync, readFileSync, rmSync, statSync} from 'node:fs'
import {basename, join} from 'node:path'

import Database from 'better-sqlite3'

import {BIN, ROOT, run, tempDir, userEnv} from './support/cli.js'
import {psRows, writeCsv} from './support/ps-data.js'

/**
 * A build or a submit handles a whole export of personal data. Killed at any moment — SIGKILL, a
 * power cut — it must leave nothing readable outside the 0700 data folder: not in $TMPDIR, not in
 * the output folder (which only ever receives complete flussi the store knows). What it leaves in
 * the data folder is removed by the next command, whatever it is.
 */

const CF = /[A-Z]{6}[0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z]/g

describe('a build or submit killed at any moment leaves no personal data outside the data folder', function () {
  this.timeout(600_000)
  const dir = tempDir()
  const tmp = join(dir, 'tmpdir')
  mkdirSync(tmp)
  const env = userEnv(join(dir, 'user'), {TMPDIR: tmp})
  const out = join(dir, 'flussi')
  const file = join(dir, 'export.csv')
  const dataTmp = join(env.XDG_DATA_HOME, 'casellario', 'tmp')
  const rows = [...psRows(17, 20_000, {scatter: true})]
  const people = new Set(rows.map((r) => r.CodiceFiscale))

  before(() => writeCsv(file, rows))
  after(() => rmSync(dir, {recursive: true, force: true}))

  /** Every file under `root`, recursively. */
  const files = (root: string): string[] => {
    let names: string[]
    try {
      names = readdirSync(root)
    } catch {
      return []
    }
    return names.flatMap((n) => (statSync(join(root, n)).isDirectory() ? files(join(root, n)) : [join(root, n)]))
  }
  /** Files under `root` holding a codice fiscale of the export. */
  const withPersonalData = (root: string): string[] => files(root).filter((f) => (readFileSync(f, 'latin1').match(CF) ?? []).some((cf) => people.has(cf)))
  /** Temporary files of running or killed processes in the data folder. */
  const inDataTmp = (): string[] => files(dataTmp)

  /**
   * Starts the CLI and kills it once `when` holds (polled every 5 ms), or lets it finish. With `input`,
   * that is written to its stdin, which then stays open: an export still arriving, so the process is
   * certainly still reading when killed, however fast the machine. `when` is told once the input has
   * gone into the pipe (past the pipe's 64 KB buffer, so the process has read nearly all of it).
   */
  const killedWhen = (
    args: string[],
    when: (elapsedMs: number, inputTaken: boolean) => boolean,
    opts: {signal?: NodeJS.Signals; input?: Buffer} = {},
  ): Promise<{killed: boolean; code: number | null}> =>
    new Promise((resolve) => {
      const started = Date.now()
      const child = spawn(process.execPath, [BIN, ...args], {env, cwd: ROOT, stdio: [opts.input ? 'pipe' : 'ignore', 'ignore', 'ignore']})
      let killed = false
      let inputTaken = false
      if (opts.input) {
        child.stdin!.on('error', () => {}) // EPIPE once killed
        child.stdin!.write(opts.input, () => (inputTaken = true))
      }
      const poll = setInterval(() => {
        if (!killed && when(Date.now() - started, inputTaken)) killed = child.kill(opts.signal ?? 'SIGKILL')
      }, 5)
      child.on('exit', (code) => {
        clearInterval(poll)
        resolve({killed, code})
      })
    })
  let exported: Buffer | undefined
  /** The export's header and its first `rows` rows, as a cron job's pipe would deliver them. */
  const exportHead = (rows: number): Buffer => {
    const text = (exported ??= readFileSync(file))
    let end = 0
    for (let i = 0; i <= rows; i++) end = text.indexOf(0x0a, end) + 1
    return text.subarray(0, end)
  }
  const has = (suffix: string) => (): boolean => inDataTmp().some((f) => f.endsWith(suffix))
  /** A whole flusso file whose name the store has recorded. */
  const recordedAndComplete = (path: string): boolean => {
    const db = new Database(env.CASELLARIO_STORE, {readonly: true})
    try {
      return readFileSync(path, 'utf8').endsWith('</Flusso>\n') && db.prepare('SELECT 1 FROM flussi WHERE id_flusso = ?').get(basename(path, '.xml')) !== undefined
    } finally {
      db.close()
    }
  }

  it('build: killed while reading, writing flussi or later, never leaves a codice fiscale in $TMPDIR or the output folder', async () => {
    // a build reads the export once and writes each upload file as soon as it is full (no spool).
    // The first three moments are states, not times: the export comes on stdin and stays open.
    const xmlCount = (): number => inDataTmp().filter((f) => f.endsWith('.xml')).length
    const moments: Array<[string, string[], (ms: number, inputTaken: boolean) => boolean, Buffer?]> = [
      ['while reading, before any flusso', ['-'], (_, taken) => taken, exportHead(1000)],
      ['as the first flusso is written', ['-'], () => xmlCount() >= 1, exportHead(20_000)],
      ['while flussi are written', ['-'], () => xmlCount() >= 2, exportHead(20_000)],
      // a file read to its end: the kill may come while flussi move into the output folder, or after
      ['as the flussi move into the output folder', [file], () => files(join(out, '3')).length > 0],
    ]
    const outcomes: string[] = []
    let leftBehind = 0
    for (const [i, [label, source, when, input]] of moments.entries()) {
      const target = join(out, String(i))
      const {killed} = await killedWhen(['build', ...source, '--out', target], when, {input})
      outcomes.push(`${label}: ${killed ? 'killed' : 'finished first'}`)
      assert.deepEqual(withPersonalData(tmp), [], label)
      // the output folder receives flussi only once the store has recorded them: a kill while they are
      // being moved in may leave some there, each complete and known to the store (the next command moves the rest)
      if (killed) {
        assert.deepEqual(withPersonalData(target).filter((f) => !recordedAndComplete(f)), [], label)
        leftBehind += inDataTmp().length
      }
    }
    assert.deepEqual(outcomes.slice(0, 3), moments.slice(0, 3).map(([label]) => `${label}: killed`))
    assert.ok(leftBehind > 0, 'the kills left temporary files in the data folder')
    // the next command, whatever it is, removes what the kills left
    assert.equal(run(['status', '--json'], {env}).code, 0)
    assert.deepEqual(inDataTmp(), [])
    assert.deepEqual(readdirSync(dataTmp), [])
  })

  it('submit: killed while building or queueing leaves nothing outside the data folder, and the next command sweeps it', async () => {
    // submit reads a file, never stdin (it recognises an interrupted submission by the file): the spool
    // lives for well over a second on 20,000 rows, so the first moment is caught on any machine
    const moments: Array<[string, (ms: number) => boolean]> = [
      ['as the spool appears', has('.spool')],
      ['after 1 s', (ms) => ms > 1000],
      ['after 2.5 s', (ms) => ms > 2500],
    ]
    const outcomes: string[] = []
    for (const [label, when] of moments) {
      const {killed} = await killedWhen(['submit', file, '--transport', 'waas'], when)
      outcomes.push(`${label}: ${killed ? 'killed' : 'finished first'}`)
      assert.deepEqual(withPersonalData(tmp), [], label)
    }
    assert.equal(outcomes[0], 'as the spool appears: killed', outcomes.join('\n'))
    assert.equal(run(['config', 'list', '--json'], {env}).code, 0)
    assert.deepEqual(inDataTmp(), [])
  })

  it('Ctrl-C (or SIGTERM) removes the temporary files at once', async () => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      const target = join(dir, `interrupted-${signal}`)
      const {killed, code} = await killedWhen(['build', '-', '--out', target], has('.xml'), {signal, input: exportHead(20_000)})
      assert.ok(killed, signal)
      assert.equal(code, signal === 'SIGINT' ? 130 : 143)
      assert.deepEqual(inDataTmp(), [], signal)
      assert.deepEqual(files(target), [])
    }
  })

  it('a build that completes leaves its flussi in the output folder and nothing in the data folder', () => {
    const target = join(dir, 'complete')
    const r = run(['build', file, '--out', target, '--json'], {env})
    assert.equal(r.code, 0, r.stdout.slice(0, 500))
    const built = r.json().flussi.map((f: {file: string}) => f.file).sort()
    assert.deepEqual(files(target).sort(), built)
    for (const f of built) assert.equal(statSync(f).mode & 0o777, 0o600)
    assert.deepEqual(inDataTmp(), [])
    assert.equal(statSync(dataTmp).mode & 0o777, 0o700)
    assert.deepEqual(withPersonalData(tmp), [])
  })
})
