import assert from 'node:assert/strict'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {FLOWS} from '../src/flows/index.js'
import {readFlusso} from '../src/xml/read.js'
import {run, runAsync, tempDir, userEnv, xmllint} from './support/cli.js'
import {psRows, writeCsv, type PsRow} from './support/ps-data.js'
import {startSandboxProcess, type SandboxProcess} from './support/sandbox.js'
import {countFlussi, submitKilledWhen} from './support/store.js'
import {queryStore, STORE_BACKENDS, storeFor} from './support/stores.js'

/**
 * Scripted exports (issue: the whole year re-exported every night): a repeated submission sends
 * only what changed — a cancellation of the accepted version, byte for byte, then the new one.
 * The sandbox behaves like INPS: an insertion of a prestazione it holds is refused, and a
 * cancellation must carry exactly the data it holds, or it answers DATI_NON_TROVATI.
 */

const TIPO_OPERAZIONE = FLOWS.ps.field('TipoOperazione').index

for (const backend of STORE_BACKENDS)
describe(`repeated exports: delta detection, corrections and cancellations (${backend})`, function () {
  this.timeout(300_000)
  const dir = tempDir()
  let sandbox: SandboxProcess
  let env: Record<string, string>
  const base = [...psRows(71, 100)]
  const changed = (row: PsRow): PsRow => ({...row, DenominazionePrestazione: `${row.DenominazionePrestazione} - rettifica`})
  // 10 modified, 5 removed, 5 new
  const second = [...base.slice(0, 95).map((r, i) => (i < 90 && i % 9 === 0 ? changed(r) : r)), ...[...psRows(72, 5)].map((r, i) => ({...r, ProtocolloDomanda: `NUOVA/${i}`}))]
  const file1 = join(dir, 'export-2026-11.csv')
  const file2 = join(dir, 'export-2026-12.csv')

  const submit = async (file: string, ...args: string[]): Promise<any> => {
    const r = await runAsync(['submit', file, '--wait', '60s', '--json', ...args], {env})
    assert.equal(r.code, 0, r.stdout.slice(0, 3000) + r.stderr)
    return r.json()
  }
  /** the store's flussi of a submission by operation */
  const operations = (submission: string): Record<string, number> => countFlussi(env.CASELLARIO_STORE, 'operation', submission)

  before(async () => {
    writeCsv(file1, base)
    writeCsv(file2, second)
    sandbox = await startSandboxProcess(dir, ['--faults', '0.1'])
    env = userEnv(join(dir, 'client'), {...sandbox.env, CASELLARIO_STORE: storeFor(backend, join(dir, 'client'))})
  })
  after(async () => sandbox?.stop())

  it('the first export inserts everything; the same export again sends nothing', async () => {
    const first = await submit(file1)
    assert.equal(first.accepted, 100)
    assert.equal(first.plan.insert, 100)
    const again = await submit(file1)
    assert.equal(again.sent, 0)
    assert.equal(again.flussi, 0)
    assert.equal(again.plan.unchanged, 100)
    assert.equal(again.already_submitted, true)
    assert.equal((await sandbox.stats()).held, 100)
  })

  it('--dry-run shows the plan per row without touching the endpoint or the store', async () => {
    const before = await sandbox.stats()
    const statusBefore = run(['status', '--json'], {env}).stdout
    const r = run(['submit', file2, '--dry-run', '--json'], {env})
    assert.equal(r.code, 0, r.stderr)
    const doc = r.json()
    assert.deepEqual(doc.plan, {insert: 5, replace: 10, unchanged: 85, waiting: 0, cancel: 0, refused: 0, 'cancel-missing': 0})
    const replaced = doc.rows.filter((x: {action: string}) => x.action === 'replace')
    assert.deepEqual(replaced.map((x: {row: number}) => x.row), [2, 11, 20, 29, 38, 47, 56, 65, 74, 83])
    assert.ok(replaced.every((x: {previous: string}) => /^H501\.PS\.\d{8}\.\d{7}$/.test(x.previous)))
    assert.deepEqual(await sandbox.stats(), before)
    assert.equal(run(['status', '--json'], {env}).stdout, statusBefore)
  })

  it('a changed export sends 10 cancellations then 15 insertions, and no cancellation for removed rows', async () => {
    const doc = await submit(file2)
    assert.equal(doc.rejected.length, 0, JSON.stringify(doc.rejected))
    assert.deepEqual(operations(doc.submission), {C: 10, I: 15})
    assert.equal(doc.accepted, 25)
    // INPS now holds 100 - 10 + 10 + 5: the 5 removed rows are still there
    assert.equal((await sandbox.stats()).held, 105)
  })

  it('every cancellation carries byte for byte the attributes of the accepted version', () => {
    const pairs = queryStore<{cancellation: Buffer; accepted: Buffer}>(
      env.CASELLARIO_STORE,
      `SELECT c.xml AS cancellation, i.xml AS accepted FROM records r JOIN flussi c ON c.id_flusso = r.cancelled_by JOIN flussi i ON i.id_flusso = r.id_flusso
       WHERE c.operation = 'C'`,
    )!
    assert.equal(pairs.length, 10)
    for (const {cancellation, accepted} of pairs) {
      const c = readFlusso(cancellation, FLOWS.ps)
      const a = readFlusso(accepted, FLOWS.ps)
      assert.deepEqual(c.problems, [])
      assert.equal(c.records[0][TIPO_OPERAZIONE], 'C')
      assert.deepEqual({...c.records[0], [TIPO_OPERAZIONE]: ''}, {...a.records[0], [TIPO_OPERAZIONE]: ''})
      // the bytes after the flusso's own name: identical once the operation attribute is taken out
      const tail = (x: Buffer): string => x.toString('utf8').slice(x.indexOf('</IdentificazioneFlusso>')).replace(/ TipoOperazione="[IC]"/, '')
      assert.equal(tail(cancellation), tail(accepted))
      assert.match(cancellation.toString('utf8'), / TipoOperazione="C"/)
    }
  })

  it('--cancel-missing cancels the 5 removed prestazioni, and nothing else', async () => {
    const doc = await submit(file2, '--cancel-missing')
    assert.equal(doc.plan['cancel-missing'], 5)
    assert.deepEqual(operations(doc.submission), {C: 5})
    assert.equal(doc.accepted, 5)
    assert.equal((await sandbox.stats()).held, 100)
    const again = await submit(file2, '--cancel-missing')
    assert.equal(again.flussi, 0)
  })

  it('cancel refuses a prestazione INPS never accepted, and cancels one it did', async () => {
    const never = run(['cancel', '--protocollo-domanda', 'NON/ESISTE', '--json'], {env})
    assert.equal(never.code, 1)
    assert.equal(never.json().error.code, 'CANCEL_NOT_ACCEPTED')
    const target = second[30]
    const r = await runAsync(['cancel', '--protocollo-domanda', target.ProtocolloDomanda, '--codice-prestazione', target.CodicePrestazione, '--wait', '60s', '--json'], {env})
    assert.equal(r.code, 0, r.stdout + r.stderr)
    const doc = r.json()
    assert.equal(doc.matched.length, 1)
    assert.equal(doc.submission.accepted, 1)
    assert.equal((await sandbox.stats()).held, 99)
    // asked again: already done, not an error, and nothing is sent
    const again = run(['cancel', '--protocollo-domanda', target.ProtocolloDomanda, '--codice-prestazione', target.CodicePrestazione, '--json'], {env})
    assert.equal(again.code, 0, again.stdout)
    assert.equal(again.json().matched[0].already_cancelled_by.length, 1)
    assert.equal(again.json().submission, undefined)
    assert.equal((await sandbox.stats()).held, 99)
    // the next export still has that row: it is inserted again
    const back = await submit(file2)
    assert.equal(back.plan.insert, 1)
    assert.equal((await sandbox.stats()).held, 100)
  })

  it('explicit TipoOperazione=C rows cancel the accepted version; a C for something never accepted is reported at its row', async () => {
    const file3 = join(dir, 'cancellazioni.csv')
    writeCsv(file3, [{...second[40], TipoOperazione: 'C'}, {...second[41], TipoOperazione: 'C', ProtocolloDomanda: 'MAI/INVIATA'}])
    const r = await runAsync(['submit', file3, '--wait', '60s', '--json'], {env})
    assert.equal(r.code, 2, r.stdout + r.stderr)
    const doc = r.json()
    assert.equal(doc.plan.cancel, 1)
    assert.equal(doc.plan.refused, 1)
    assert.deepEqual(
      doc.findings.map((f: {row: number; code: string}) => [f.row, f.code]),
      [[3, 'CANCEL_NOT_ACCEPTED']],
    )
    assert.equal(doc.accepted, 1)
    assert.equal((await sandbox.stats()).held, 99)
  })

  it('every flusso the sandbox received passes the official XSD', () => {
    const xml = queryStore<{id_flusso: string; xml: Buffer}>(env.CASELLARIO_STORE, "SELECT id_flusso, xml FROM flussi WHERE operation = 'C' ORDER BY id_flusso LIMIT 5")!
    const files = xml.map((x) => {
      const path = join(dir, `${x.id_flusso}.xml`)
      writeFileSync(path, x.xml)
      return path
    })
    const lint = xmllint(files)
    assert.ok(lint.ok, lint.output)
  })
})

for (const backend of STORE_BACKENDS)
describe(`a submit killed between its cancellations and its insertions (${backend})`, function () {
  this.timeout(300_000)
  const dir = tempDir()
  let sandbox: SandboxProcess
  let env: Record<string, string>
  const base = [...psRows(81, 60)]
  const file1 = join(dir, 'prima.csv')
  const file2 = join(dir, 'seconda.csv')
  const file3 = join(dir, 'terza.csv')

  before(async () => {
    writeCsv(file1, base)
    writeCsv(file2, base.map((r, i) => (i < 20 ? {...r, ImportoSogliaISEE: '9999.00'} : r)))
    writeCsv(file3, base.map((r, i) => (i < 20 ? {...r, ImportoSogliaISEE: '8888.00'} : r)))
    // every answer takes 400 ms: a kill lands while a batch is at the endpoint, its answer not yet recorded
    sandbox = await startSandboxProcess(dir, ['--latency', '400'])
    env = userEnv(join(dir, 'client'), {...sandbox.env, CASELLARIO_STORE: storeFor(backend, join(dir, 'client'))})
    const first = await runAsync(['submit', file1, '--wait', '60s', '--json'], {env})
    assert.equal(first.code, 0, first.stderr)
  })
  after(async () => sandbox?.stop())

  const byOperation = (): Record<string, number> => countFlussi(env.CASELLARIO_STORE, "operation || ':' || state")
  const killWhen = async (file: string, when: (s: Record<string, number>) => boolean): Promise<Record<string, number>> =>
    (await submitKilledWhen(file, env, when, "operation || ':' || state")).seen
  /** the export submitted again after the kill: what the store and INPS then hold */
  const rerun = async (file: string): Promise<{flussi: Record<string, number>; stats: Awaited<ReturnType<SandboxProcess['stats']>>}> => {
    const r = await runAsync(['submit', file, '--wait', '60s', '--json'], {env})
    assert.equal(r.code, 0, r.stdout + r.stderr)
    return {flussi: byOperation(), stats: await sandbox.stats()}
  }

  it('recovers: each cancellation and insertion reaches INPS once, cancellations first', async () => {
    const atCancellations = await killWhen(file2, (s) => (s['C:sending'] ?? 0) > 0)
    assert.ok((atCancellations['C:sending'] ?? 0) > 0, JSON.stringify(atCancellations))
    assert.equal(atCancellations['I:sending'] ?? 0, 0)
    const {flussi: s, stats} = await rerun(file2)
    assert.equal(s['C:accepted'], 20)
    assert.equal(s['I:accepted'], 80, JSON.stringify(s))
    assert.equal(stats.held, 60)
    assert.equal(stats.byEsito.OK, 100)
    assert.equal(stats.counters.conflicts ?? 0, 0)
    assert.equal(Object.keys(stats.byEsito).length, 1, JSON.stringify(stats.byEsito))
  })

  it('recovers when killed with the cancellations accepted and the insertions at the endpoint', async () => {
    const atInsertions = await killWhen(file3, (s) => (s['I:sending'] ?? 0) > 0)
    assert.ok((atInsertions['I:sending'] ?? 0) > 0, JSON.stringify(atInsertions))
    const {flussi: s, stats} = await rerun(file3)
    assert.equal(s['C:accepted'], 40)
    assert.equal(s['I:accepted'], 100, JSON.stringify(s))
    assert.equal(stats.held, 60)
    assert.equal(stats.byEsito.OK, 140)
    assert.equal(stats.counters.conflicts ?? 0, 0)
  })
})
