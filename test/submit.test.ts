import assert from 'node:assert/strict'
import {existsSync, readdirSync, readFileSync, statSync} from 'node:fs'
import {join} from 'node:path'

import {romeDay} from '../src/clock/index.js'
import {ROOT, run, runAsync, tempDir, userEnv} from './support/cli.js'
import {psRows, writeCsv, type PsRow} from './support/ps-data.js'
import {startSandboxProcess, type SandboxProcess} from './support/sandbox.js'
import {submitKilledWhen} from './support/store.js'
import {queryStore, STORE_BACKENDS, storeFor} from './support/stores.js'

/**
 * The heart of it (DESIGN §8–§10): `submit` takes a spreadsheet to the endpoint and `status`
 * tells the truth afterwards — with faults, rejections and kills along the way.
 */

const EXAMPLE = join(ROOT, 'templates', 'esempio-prestazioni.csv')

describe('submit and status against the embedded sandbox (the README quick start)', function () {
  this.timeout(120_000)
  const home = tempDir()
  const env = userEnv(home)

  it('sends every row of the example spreadsheet, waits for the esiti, and status agrees', () => {
    const r = run(['submit', EXAMPLE, '--endpoint', 'sandbox', '--wait', '30s', '--json'], {env})
    assert.equal(r.code, 0, r.stderr)
    const doc = r.json()
    assert.equal(doc.valid, 30)
    assert.equal(doc.flussi, 30)
    assert.equal(doc.sent, 30)
    assert.equal(doc.accepted, 30)
    assert.equal(doc.pending, 0)
    assert.deepEqual(doc.findings, [])
    assert.equal(statSync(env.CASELLARIO_STORE).mode & 0o777, 0o600)

    const status = run(['status', '--json'], {env})
    assert.equal(status.code, 0)
    const [s] = status.json().submissions
    assert.equal(s.submission, doc.submission)
    assert.deepEqual(s.states, {accepted: 30})

    const one = run(['status', `H501.PS.${romeDay()}.0000001`, '--json'], {env})
    assert.equal(one.code, 0, one.stderr)
    const flusso = one.json()
    assert.equal(flusso.state, 'accepted')
    assert.equal(flusso.esito, 'OK')
    assert.match(flusso.id_acquisizione_siuss, /^\d+$/)
    assert.deepEqual(flusso.rows, [2])
    assert.deepEqual(
      flusso.events.map((e: {event: string}) => e.event),
      ['built', 'sending', 'sent', 'accepted'],
    )
  })

  it('sends nothing when the same spreadsheet is submitted again', () => {
    const r = run(['submit', EXAMPLE, '--endpoint', 'sandbox', '--json'], {env})
    assert.equal(r.code, 0, r.stderr)
    const doc = r.json()
    assert.equal(doc.already_submitted, true)
    assert.equal(doc.sent, 0)
    assert.equal(doc.flussi, 0)
    assert.equal(doc.plan.unchanged, 30)
    // the run is on record, with nothing in it
    assert.deepEqual(
      run(['status', '--json'], {env}).json().submissions.map((s: {flussi: number}) => s.flussi),
      [0, 30],
    )
  })

  it('shows a table for people, without colours when NO_COLOR is set', () => {
    const r = run(['status'], {env: {...env, NO_COLOR: '1'}})
    assert.equal(r.code, 0)
    assert.match(r.stdout, /INVIO\s+CREATO \(UTC\)\s+FLUSSO\s+TRASPORTO/)
    assert.match(r.stdout, /push sandbox\s+esempio-prestazioni\.csv\s+30\s+30\s+0\s+0\s+0\n/)
    assert.doesNotMatch(r.stdout, /\u001B\[/)
  })

  it('explains what is missing when no endpoint is configured', () => {
    const r = run(['submit', EXAMPLE, '--json'], {env: userEnv(tempDir())})
    assert.equal(r.code, 1)
    assert.equal(r.json().error.code, 'ENDPOINT_NOT_CONFIGURED')
  })
})

/** rows for `count` prestazioni, two of them with errors, and the codice fiscale of one person */
function exportWithDefects(path: string, seed: number, count: number): {rows: PsRow[]; unknownCf: string} {
  const rows = [...psRows(seed, count)]
  rows[10] = {...rows[10], CodiceFiscale: 'RSSMRA80A01H501X'}
  rows[20] = {...rows[20], DataInizioPrestazione: '2026-02-30'}
  writeCsv(path, rows)
  return {rows, unknownCf: rows[40].CodiceFiscale}
}

for (const backend of STORE_BACKENDS)
describe(`submit to a separate endpoint that fails 20 % of the time and rejects what INPS would (${backend})`, function () {
  this.timeout(300_000)
  const dir = tempDir()
  let sandbox: SandboxProcess
  let env: Record<string, string>
  const file = join(dir, 'export.csv')
  let data: ReturnType<typeof exportWithDefects>

  before(async () => {
    data = exportWithDefects(file, 11, 240)
    sandbox = await startSandboxProcess(dir, ['--faults', '0.2', '--unknown-cf', data.unknownCf])
    env = userEnv(join(dir, 'client'), {...sandbox.env, CASELLARIO_STORE: storeFor(backend, join(dir, 'client'))})
  })
  after(async () => sandbox?.stop())

  it('delivers every valid row exactly once, reports the rejected rows, and exits 4', async () => {
    const r = await runAsync(['submit', file, '--wait', '60s', '--json'], {env})
    assert.equal(r.code, 4, r.stdout.slice(0, 2000) + r.stderr)
    const doc = r.json()
    assert.equal(doc.valid, 238)
    assert.equal(doc.errors, 2)
    assert.deepEqual(
      doc.findings.filter((f: {severity: string}) => f.severity === 'error').map((f: {row: number}) => f.row),
      [12, 22],
    )
    const unknownRows = data.rows.flatMap((row, i) => (row.CodiceFiscale === data.unknownCf ? [i + 2] : []))
    assert.equal(doc.rejected.length, unknownRows.length)
    assert.deepEqual(doc.rejected.flatMap((f: {rows: number[]}) => f.rows).sort((a: number, b: number) => a - b), unknownRows)
    assert.ok(doc.rejected.every((f: {esito: string}) => f.esito === 'DATI_NON_TROVATI'))

    const stats = await sandbox.stats()
    assert.equal(stats.received, 238, 'each valid row reached the endpoint once')
    assert.equal(stats.counters.conflicts ?? 0, 0, 'no id_flusso with different content')
    assert.equal(doc.accepted, stats.byEsito.OK)
    assert.equal(doc.accepted + doc.rejected.length, 238)
  })

  it('gives the rejected rows back as a spreadsheet with INPS’s reason', () => {
    const [s] = run(['status', '--json'], {env}).json().submissions
    const out = join(dir, 'da-correggere.csv')
    const r = run(['report', s.submission, '--rejected', out, '--json'], {env})
    assert.equal(r.code, 0, r.stderr)
    const lines = readFileSync(out, 'utf8').replace(/^\uFEFF/, '').trim().split('\r\n')
    assert.equal(lines.length - 1, r.json().rows)
    assert.match(lines[0], /^CodiceFiscale;Cognome;.*;esito_inps;motivo_inps;id_flusso;riga_originale$/)
    assert.ok(lines.slice(1).every((l) => l.includes(data.unknownCf) && l.includes(';DATI_NON_TROVATI;Codice fiscale del beneficiario non presente in anagrafe;')))
    assert.equal(statSync(out).mode & 0o777, 0o600)
  })

  it('status of the submission exits 4 and sync finds nothing new', () => {
    const [s] = run(['status', '--json'], {env}).json().submissions
    assert.equal(run(['status', s.submission], {env}).code, 4)
    const sync = run(['sync', '--json'], {env})
    assert.equal(sync.code, 0, sync.stderr)
    assert.deepEqual(sync.json().endpoints, [])
  })
})

for (const backend of STORE_BACKENDS)
describe(`a submit killed with SIGKILL at any moment, then run again (${backend})`, function () {
  this.timeout(600_000)
  const dir = tempDir()
  let sandbox: SandboxProcess
  let env: Record<string, string>
  const file = join(dir, 'export.csv')
  const ROWS = 600

  before(async () => {
    writeCsv(file, psRows(29, ROWS))
    sandbox = await startSandboxProcess(dir, ['--faults', '0.2'])
    env = userEnv(join(dir, 'client'), {...sandbox.env, CASELLARIO_STORE: storeFor(backend, join(dir, 'client'))})
  })
  after(async () => sandbox?.stop())

  it('never sends a flusso twice with different content and never loses one', async () => {
    const points: Array<[string, (s: Record<string, number>) => boolean]> = [
      // the build's spool lives in the process's private folder inside the data folder
      ['during the build, before anything is recorded', () => existsSync(join(env.XDG_DATA_HOME, 'casellario', 'tmp')) && readdirSync(join(env.XDG_DATA_HOME, 'casellario', 'tmp')).length > 0],
      ['with a batch handed to the endpoint, answer not recorded', (s) => (s.sending ?? 0) > 0],
      ['after some receipts', (s) => (s.sent ?? 0) >= 150],
      ['again mid-way', (s) => (s.sent ?? 0) >= 350 && (s.sending ?? 0) > 0],
    ]
    const outcomes: string[] = []
    for (const [label, when] of points) {
      const {killed, seen} = await submitKilledWhen(file, env, when)
      outcomes.push(`${label}: ${killed ? 'killed' : 'finished first'} ${JSON.stringify(seen)}`)
    }
    for (const o of outcomes) console.log(`      ${o}`)
    const last = await runAsync(['submit', file, '--wait', '60s', '--json'], {env})
    assert.equal(last.code, 0, `${last.stderr}\n${outcomes.join('\n')}`)
    assert.ok(outcomes.filter((o) => o.includes(': killed')).length >= 2, outcomes.join('\n'))

    const stats = await sandbox.stats()
    assert.equal(stats.counters.conflicts ?? 0, 0, 'the endpoint never saw an id_flusso with different content')
    // every row is in exactly one accepted flusso, and the endpoint holds exactly those
    const status = run(['status', '--json'], {env}).json()
    const accepted = status.submissions.reduce((n: number, s: {states: Record<string, number>}) => n + (s.states.accepted ?? 0), 0)
    assert.equal(accepted, ROWS)
    assert.equal(stats.received, ROWS)
    assert.equal(stats.byEsito.OK, ROWS)
    const storeIds = queryStore<{id_flusso: string}>(env.CASELLARIO_STORE, "SELECT id_flusso FROM flussi WHERE state = 'accepted' ORDER BY id_flusso")!.map((r) => r.id_flusso)
    const [{n: rows}] = queryStore<{n: number}>(env.CASELLARIO_STORE, 'SELECT count(DISTINCT source_row) AS n FROM records r JOIN flussi f USING (id_flusso) WHERE f.state = ?', 'accepted')!
    assert.deepEqual(storeIds, (await sandbox.received()).map((r) => r.id_flusso))
    assert.equal(rows, ROWS)
  })
})
