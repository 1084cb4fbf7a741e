import assert from 'node:assert/strict'
import type {ChildProcess} from 'node:child_process'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'

import Database from 'better-sqlite3'
import type {KeyLike} from 'jose'

import {run, runAsync, startService, tempDir, userEnv} from './support/cli.js'
import {pdndKey, signVoucher} from './support/pdnd.js'
import {startSandboxProcess, type SandboxProcess} from './support/sandbox.js'
import {makePki, PASSPHRASE, WRONG} from './support/pki.js'
import {psRows, writeCsv} from './support/ps-data.js'
import {countFlussi} from './support/store.js'

/**
 * One installation, several enti (DESIGN §9): an Ambito's store holds the flussi of three enti, queued
 * by three `submit --transport waas` runs with different --ente-codice/--ente-belfiore and by one run
 * of the Ambito's export, whose Ente_Codice column names the ente of each row. Each ente is its own e-service on PDND, so INPS polls
 * each under its own path with a voucher for that ente; the pollers here are independent of the
 * code under test (they page by `since` as the OpenAPI says and sign their own vouchers).
 */

interface Ente {
  codice: string
  belfiore: string
  /** its queued flussi: its own export's rows and its rows in the Ambito's export */
  rows: number
  /** of which named in the Ambito's one export (Ente_Codice column) */
  inAmbitoFile: number
  seed: number
  audience: string
  claims: Record<string, unknown>
}

const ENTI: Ente[] = [
  {codice: 'H501', belfiore: 'H501', rows: 5, inAmbitoFile: 2, seed: 301, audience: 'https://roma.example.it/waas/v1', claims: {purposeId: 'inps-roma'}},
  {codice: 'F205', belfiore: 'F205', rows: 4, inAmbitoFile: 1, seed: 302, audience: 'https://milano.example.it/waas/v1', claims: {eserviceId: 'eservice-milano'}},
  // an Ambito's code is not a Belfiore code: the path carries the codice ente
  // the Ambito submits the one export: one of its rows names AMBITO7, one names no ente (the run's)
  {codice: 'AMBITO7', belfiore: 'L219', rows: 3, inAmbitoFile: 2, seed: 303, audience: 'https://ambito7.example.it/waas/v1', claims: {}},
]

interface Entry {
  id_flusso: string
  ts_flusso: string
  codice_ente: string
  tipo: string
}

describe('one store, three enti: serve gives each ente only its own flussi, under its own path', function () {
  this.timeout(240_000)
  const dir = tempDir()
  const env = userEnv(join(dir, 'ambito'))
  const jwks = join(dir, 'jwks.json')
  const entiFile = join(dir, 'enti.yaml')
  let key: KeyLike
  let serve: {url: string; child: ChildProcess} | undefined
  const idsOf = new Map<string, string[]>()
  const stop = (): void => {
    serve?.child.kill('SIGTERM')
    serve = undefined
  }
  const voucherFor = (e: Ente): Promise<string> => signVoucher(key, {aud: e.audience, client_id: 'inps-client', ...e.claims})
  const get = (path: string, token?: string): Promise<Response> => fetch(`${serve!.url}${path}`, {headers: token ? {authorization: `Bearer ${token}`} : {}})
  /** INPS's poller: every entry after `since`, page by page */
  const pullAll = async (path: string, token: string): Promise<Entry[]> => {
    const all: Entry[] = []
    for (let since = 0; ; ) {
      const r = await get(`${path}/flussi?since=${since}&limit=2`, token)
      assert.equal(r.status, 200, `${path}: ${await r.clone().text()}`)
      const page = ((await r.json()) as {elenco_flussi: Entry[]}).elenco_flussi
      if (page.length === 0) return all
      all.push(...page)
      since = Date.parse(page.at(-1)!.ts_flusso)
    }
  }
  const postEsiti = (path: string, token: string, entries: Entry[], codice = 'OK'): Promise<Response> =>
    fetch(`${serve!.url}${path}/esiti`, {
      method: 'POST',
      headers: {'content-type': 'application/json', authorization: `Bearer ${token}`},
      body: JSON.stringify({elenco_esiti: entries.map((e) => ({id_flusso: e.id_flusso, tipo: e.tipo, ts_flusso: e.ts_flusso, ts_acquisizione: new Date().toISOString(), codice_esito: codice}))}),
    })
  const inStore = <T>(read: (db: Database.Database) => T): T => {
    const db = new Database(env.CASELLARIO_STORE, {readonly: true})
    try {
      return read(db)
    } finally {
      db.close()
    }
  }
  const queuedIds = (ente: string): string[] => inStore((db) => db.prepare(`SELECT id_flusso FROM flussi WHERE ente = ? AND state = 'queued' ORDER BY id_flusso`).pluck().all(ente) as string[])
  const unknownEsiti = (): unknown[] => inStore((db) => db.prepare('SELECT ente, id_flusso, esito FROM unknown_esiti ORDER BY received_at, id_flusso').all())
  /**
   * `status --json`, as a separate process that does not block this one: a blocked event loop would
   * keep keep-alive connections to serve past their timeout, and a request on one fails
   */
  const statusOf = async (codice?: string): Promise<any> => {
    const r = await runAsync(['status', ...(codice ? ['--ente', codice] : []), '--json'], {env})
    assert.equal(r.code, 0, r.stdout + r.stderr)
    return r.json()
  }
  const statesOf = async (codice: string): Promise<Record<string, number>> => {
    const states: Record<string, number> = {}
    for (const s of (await statusOf(codice)).submissions) for (const [k, n] of Object.entries(s.states as Record<string, number>)) states[k] = (states[k] ?? 0) + n
    return states
  }

  before(async () => {
    key = await pdndKey(jwks)
    // the pollers interleave their rows in time: the store's ts_flusso order mixes the three enti
    for (const e of ENTI) {
      const file = join(dir, `${e.codice}.csv`)
      writeCsv(file, psRows(e.seed, e.rows - e.inAmbitoFile))
      const r = run(['submit', file, '--transport', 'waas', '--ente-codice', e.codice, '--ente-belfiore', e.belfiore, '--ente-denominazione', `Ente ${e.codice}`, '--json'], {env})
      assert.equal(r.code, 0, r.stdout + r.stderr)
      assert.equal(r.json().states.queued, e.rows - e.inAmbitoFile)
      assert.equal(r.json().ente, e.codice)
    }
    // the Ambito's export: each row names its ente, or none (then it is the run's, AMBITO7)
    const named: Array<[string, string]> = [['H501', 'H501'], ['', ''], ['F205', 'F205'], ['h501', 'H501'], ['AMBITO7', 'L219']]
    const ambitoFile = join(dir, 'ambito-export.csv')
    writeCsv(ambitoFile, [...psRows(304, named.length)].map((row, i) => ({...row, Ente_Codice: named[i][0], Ente_Belfiore: named[i][1], Ente_Denominazione: ''})))
    const r = run(['submit', ambitoFile, '--transport', 'waas', '--ente-codice', 'AMBITO7', '--ente-belfiore', 'L219', '--json'], {env})
    assert.equal(r.code, 0, r.stdout + r.stderr)
    const doc = r.json()
    assert.deepEqual([doc.ente, doc.rows, doc.valid, doc.flussi], ['AMBITO7', 2, 2, 2])
    assert.deepEqual(
      doc.other_enti.map((o: {ente: string; valid: number; flussi: number; states: object}) => [o.ente, o.valid, o.flussi, o.states]).sort(),
      [['F205', 1, 1, {queued: 1}], ['H501', 2, 2, {queued: 2}]],
    )
    const told = run(['submit', ambitoFile, '--transport', 'waas', '--ente-codice', 'AMBITO7', '--ente-belfiore', 'L219', '--lang', 'en'], {env})
    assert.equal(told.code, 0, told.stderr)
    // the same export again: nothing new for any of its enti
    assert.match(told.stdout, /Nothing new/)
    assert.match(told.stdout, /Ente F205: submission \S+, 1 valid row, 0 flussi \(casellario status --ente F205\)/)
    writeFileSync(
      entiFile,
      [
        '# the enti this serve answers for: each its own e-service on PDND',
        'enti:',
        `  h501: {audience: "${ENTI[0].audience}", purposeId: inps-roma}`,
        `  F205:\n    audience: "${ENTI[1].audience}"\n    eserviceId: eservice-milano`,
        `  AMBITO7: {audience: "${ENTI[2].audience}"}`,
      ].join('\n'),
    )
  })
  afterEach(stop)

  it('without --enti, serve serves only the configured ente, on the old paths and on its own, and never another ente’s flussi', async () => {
    const roma = ENTI[0]
    const started = await startService<{url: string}>(['serve', '--port', '0', '--json', '--jwks', jwks, '--audience', roma.audience, '--purpose-id', 'inps-roma'], env)
    serve = {url: started.doc.url, child: started.child}
    const token = await voucherFor(roma)
    for (const path of ['', '/H501']) {
      const entries = await pullAll(path, token)
      assert.equal(entries.length, roma.rows, path)
      assert.ok(entries.every((x) => x.id_flusso.startsWith('H501.PS.') && x.codice_ente === 'H501'), JSON.stringify(entries.map((x) => x.id_flusso)))
    }
    // another ente of the same store is not served at all
    for (const other of ['/F205', '/AMBITO7']) assert.equal((await get(`${other}/flussi?since=0&limit=100`, token)).status, 404)
    // nothing was marked delivered but the configured ente's flussi
    await until(async () => ((await statesOf('H501')).delivered ?? 0) === roma.rows)
    assert.deepEqual(await statesOf('F205'), {queued: 4})
    assert.deepEqual(await statesOf('AMBITO7'), {queued: 3})
    // an esito naming another ente's queued flusso: unknown for this ente (204), never a 409 that would
    // tell it exists, never applied
    const [milanoQueued] = queuedIds('F205')
    const r = await postEsiti('', token, [{id_flusso: milanoQueued, tipo: 'PS_PSA_SINA', ts_flusso: new Date().toISOString(), codice_ente: 'F205'}])
    assert.equal(r.status, 204, await r.text())
    assert.deepEqual(await statesOf('F205'), {queued: 4})
    assert.deepEqual(unknownEsiti(), [{ente: 'H501', id_flusso: milanoQueued, esito: 'OK'}])
  })

  it('with --enti, each ente’s poller gets exactly its own flussi; its voucher is refused on the other enti’s paths', async () => {
    const started = await startService<{url: string; enti: Record<string, string>}>(['serve', '--port', '0', '--json', '--jwks', jwks, '--enti', entiFile], env)
    serve = {url: started.doc.url, child: started.child}
    assert.deepEqual(Object.keys(started.doc.enti), ['H501', 'F205', 'AMBITO7'])
    for (const e of ENTI) {
      const token = await voucherFor(e)
      const entries = await pullAll(`/${e.codice}`, token)
      assert.equal(entries.length, e.rows, e.codice)
      assert.equal(new Set(entries.map((x) => x.id_flusso)).size, e.rows)
      for (const x of entries) {
        assert.ok(x.id_flusso.startsWith(`${e.codice}.PS.`), x.id_flusso)
        assert.equal(x.codice_ente, e.belfiore)
      }
      idsOf.set(e.codice, entries.map((x) => x.id_flusso))
      for (const other of ENTI.filter((o) => o !== e)) {
        const r = await get(`/${other.codice}/flussi?since=0&limit=100`, token)
        assert.ok(r.status === 401 || r.status === 403, `${e.codice}'s voucher on ${other.codice}: ${r.status}`)
        assert.match(r.headers.get('content-type')!, /application\/problem\+json/)
        const esiti = await postEsiti(`/${other.codice}`, token, [])
        assert.ok(esiti.status === 401 || esiti.status === 403, `${e.codice}'s voucher posting on ${other.codice}: ${esiti.status}`)
      }
    }
    // a path names its ente in any case
    assert.equal((await pullAll('/ambito7', await voucherFor(ENTI[2]))).length, ENTI[2].rows)
    // no ente is served at the bare paths when several are
    assert.equal((await get('/flussi?since=0&limit=100', await voucherFor(ENTI[0]))).status, 404)
    // /status answers everywhere, without a voucher
    for (const path of ['', '/F205']) assert.equal((await get(`${path}/status`)).status, 200)
  })

  it('esiti posted under one ente’s path never change another ente’s flussi (recorded there as unknown)', async () => {
    const started = await startService<{url: string}>(['serve', '--port', '0', '--json', '--jwks', jwks, '--enti', entiFile], env)
    serve = {url: started.doc.url, child: started.child}
    const [roma, milano, ambito] = ENTI
    const romaToken = await voucherFor(roma)
    // INPS pulls Milano's page (its flussi stay Milano's), then posts, on Roma's path, Roma's esiti and one naming a Milano flusso
    const milanoEntries = await pullAll('/F205', await voucherFor(milano))
    const romaEntries = await pullAll('/H501', romaToken)
    const r = await postEsiti('/H501', romaToken, [...romaEntries, milanoEntries[0]])
    assert.equal(r.status, 204, await r.text())
    await until(async () => ((await statesOf('F205')).delivered ?? 0) === milano.rows)
    assert.deepEqual(await statesOf('H501'), {accepted: roma.rows})
    assert.deepEqual(await statesOf('F205'), {delivered: milano.rows}, 'Milano’s flusso is not accepted by an esito posted for Roma')
    assert.ok(
      unknownEsiti().some((u) => JSON.stringify(u) === JSON.stringify({ente: 'H501', id_flusso: milanoEntries[0].id_flusso, esito: 'OK'})),
      JSON.stringify(unknownEsiti()),
    )
    // each ente's own esiti, on its own path
    assert.equal((await postEsiti('/F205', await voucherFor(milano), milanoEntries)).status, 204)
    assert.deepEqual(await statesOf('F205'), {accepted: milano.rows})
    assert.deepEqual((await statesOf('AMBITO7')).accepted, undefined)
    const ambitoEntries = await pullAll('/AMBITO7', await voucherFor(ambito))
    assert.equal((await postEsiti('/AMBITO7', await voucherFor(ambito), ambitoEntries, 'RICHIESTA_INVALIDA')).status, 204)
    assert.deepEqual(await statesOf('AMBITO7'), {rejected: ambito.rows})
    assert.deepEqual(await statesOf('H501'), {accepted: roma.rows})
  })

  it('status --ente agrees with what each ente was served; status shows the ente column when the store holds several', async () => {
    const all = await statusOf()
    // per ente: its own export, the Ambito's export, the Ambito's export again (nothing new)
    assert.equal(all.submissions.length, 9)
    assert.deepEqual([...new Set(all.submissions.map((s: {ente: string}) => s.ente))].sort(), ['AMBITO7', 'F205', 'H501'])
    for (const e of ENTI) {
      const doc = await statusOf(e.codice)
      assert.equal(doc.ente, e.codice)
      assert.deepEqual(doc.submissions.map((s: {ente: string}) => s.ente), [e.codice, e.codice, e.codice])
      assert.equal(doc.submissions.reduce((n: number, s: {flussi: number}) => n + s.flussi, 0), e.rows)
    }
    const table = run(['status'], {env})
    assert.equal(table.code, 0, table.stderr)
    assert.match(table.stdout, /ENTE/)
    for (const e of ENTI) assert.match(table.stdout, new RegExp(`\\b${e.codice}\\b`))
    const one = run(['status', '--ente', 'f205'], {env})
    assert.doesNotMatch(one.stdout, /H501|AMBITO7/)
    // a flusso of another ente is not found when reading for one ente
    const milanoFlusso = idsOf.get('F205')![0]
    assert.equal(run(['status', milanoFlusso, '--ente', 'H501', '--json'], {env}).json().error.code, 'NOT_FOUND')
    assert.equal(run(['status', milanoFlusso, '--ente', 'F205', '--json'], {env}).json().ente, 'F205')
    assert.equal(run(['status', '--ente', 'not-a-code', '--json'], {env}).code, 1)
  })

  it('--cancel-missing never crosses enti: a smaller export of one ente cancels only that ente’s prestazioni', () => {
    const milano = ENTI[1]
    const file = join(dir, 'F205-one.csv')
    writeCsv(file, [...psRows(milano.seed, milano.rows)].slice(0, 1))
    const r = run(['submit', file, '--transport', 'waas', '--ente-codice', 'F205', '--ente-belfiore', 'F205', '--cancel-missing', '--dry-run', '--json'], {env})
    assert.equal(r.code, 0, r.stdout + r.stderr)
    // Milano's three other accepted prestazioni; Roma's five accepted ones are not Milano's to cancel
    assert.equal(r.json().plan['cancel-missing'], milano.rows - 1)
    assert.equal(r.json().plan.unchanged, 1)
    // the Ambito's export names three enti: each ente's missing prestazioni are looked for in that
    // ente alone — Roma's and Milano's own exports' accepted rows; AMBITO7's were rejected, nothing to cancel
    const ambito = run(['submit', join(dir, 'ambito-export.csv'), '--transport', 'waas', '--ente-codice', 'AMBITO7', '--ente-belfiore', 'L219', '--cancel-missing', '--dry-run', '--json'], {env})
    assert.equal(ambito.code, 0, ambito.stdout + ambito.stderr)
    const cancels = ambito.json().rows.filter((row: {action: string}) => row.action === 'cancel-missing')
    assert.equal(cancels.length, ENTI[0].rows - ENTI[0].inAmbitoFile + milano.rows - milano.inAmbitoFile)
    assert.ok(cancels.every((row: {previous: string}) => /^(H501|F205)\.PS\./.test(row.previous)), JSON.stringify(cancels))
  })

  it('cancel --ente finds only that ente’s accepted prestazioni', () => {
    const milano = ENTI[1]
    const [first] = [...psRows(milano.seed, milano.rows)]
    const criteria = ['--protocollo-domanda', first.ProtocolloDomanda, '--codice-prestazione', first.CodicePrestazione, '--codice-fiscale', first.CodiceFiscale, '--transport', 'waas', '--dry-run', '--json']
    const mine = run(['cancel', '--ente', 'F205', ...criteria], {env})
    assert.equal(mine.code, 0, mine.stdout + mine.stderr)
    assert.equal(mine.json().matched[0].cancels.length, 1)
    assert.match(mine.json().matched[0].cancels[0], /^F205\.PS\./)
    // the configured ente (H501) has no such prestazione: Milano's is not Roma's to cancel
    const theirs = run(['cancel', ...criteria], {env})
    assert.equal(theirs.code, 1)
    assert.equal(theirs.json().error.code, 'CANCEL_NOT_ACCEPTED')
    assert.equal(run(['cancel', '--ente', 'X999', ...criteria], {env}).json().error.code, 'ENTE_NOT_IN_STORE')
  })

  it('a changed row of another ente in the Ambito’s export: its cancellation and insertion go to that ente, never to the run’s', () => {
    // the Ambito's export again: Milano's row changed, Roma's second row gone (--cancel-missing)
    const named: Array<[string, string]> = [['H501', 'H501'], ['', ''], ['F205', 'F205'], ['h501', 'H501'], ['AMBITO7', 'L219']]
    const file = join(dir, 'ambito-export-2.csv')
    const rows = [...psRows(304, named.length)].map((row, i) => ({...row, Ente_Codice: named[i][0], Ente_Belfiore: named[i][1], Ente_Denominazione: ''}))
    rows[2] = {...rows[2], DenominazionePrestazione: 'Contributo economico rettificato'}
    writeCsv(file, rows.filter((_, i) => i !== 3))
    const r = run(['submit', file, '--transport', 'waas', '--ente-codice', 'AMBITO7', '--ente-belfiore', 'L219', '--cancel-missing', '--json'], {env})
    assert.equal(r.code, 0, r.stdout + r.stderr)
    const doc = r.json()
    const milano = doc.other_enti.find((o: {ente: string}) => o.ente === 'F205')
    const roma = doc.other_enti.find((o: {ente: string}) => o.ente === 'H501')
    // with --cancel-missing each ente's export is this file: its own export's accepted rows are missing too
    const [romaOwn, milanoOwn] = [ENTI[0].rows - ENTI[0].inAmbitoFile, ENTI[1].rows - ENTI[1].inAmbitoFile]
    assert.equal(milano.flussi, 2 + milanoOwn, 'Milano: the changed row (C + I) and its own export’s rows (C)')
    assert.equal(roma.flussi, 1 + romaOwn, 'Roma: the dropped row and its own export’s rows (C)')
    const bySubmission = inStore((db) =>
      db.prepare('SELECT submission_id AS submission, ente, id_flusso AS id, operation, entry FROM flussi WHERE submission_id IN (?, ?, ?)').all(doc.submission, milano.submission, roma.submission),
    ) as Array<{submission: string; ente: string; id: string; operation: string; entry: Buffer}>
    for (const f of bySubmission) {
      const owner = f.submission === milano.submission ? 'F205' : f.submission === roma.submission ? 'H501' : 'AMBITO7'
      assert.equal(f.ente, owner, `${f.id} (${f.operation}) recorded for ${f.ente}, submission of ${owner}`)
      assert.ok(f.id.startsWith(`${owner}.PS.`), f.id)
      const entry = JSON.parse(f.entry.toString())
      assert.equal(entry.codice_ente, owner === 'AMBITO7' ? 'L219' : owner, `${f.id}: codice_ente ${entry.codice_ente}`)
      const xml = Buffer.from(entry.flusso, 'base64').toString()
      assert.match(xml, new RegExp(`<Ente [^>]*Codice="${owner}"`), `${f.id} names ${owner} inside`)
    }
    assert.deepEqual(bySubmission.filter((f) => f.ente === 'F205').map((f) => f.operation).sort(), [...Array(1 + milanoOwn).fill('C'), 'I'])
    assert.deepEqual(bySubmission.filter((f) => f.ente === 'H501').map((f) => f.operation), Array(1 + romaOwn).fill('C'))
  })

  it('refuses a bad --enti file with a clear usage error, in Italian and English', () => {
    const cases: Array<[string, RegExp]> = [
      ['enti:\n  H501: {purposeId: x}\n', /audience/],
      ['{"H5 01": {"audience": "a"}}', /H5 01/],
      ['enti:\n  H501: {audience: a, purposeID: x}\n', /purposeID/],
      ['enti: [H501]\n', /atteso un elenco/],
      ['{"H501": {"audience": "a"', /JSON|YAML/],
    ]
    for (const [i, [text, why]] of cases.entries()) {
      const file = join(dir, `bad-${i}.yaml`)
      writeFileSync(file, text)
      const r = run(['serve', '--port', '0', '--jwks', jwks, '--enti', file, '--json'], {env})
      assert.equal(r.code, 1, text)
      assert.equal(r.json().error.code, 'SERVE_ENTI_INVALID', text)
      assert.match(r.json().error.message, why)
    }
    const en = run(['serve', '--port', '0', '--jwks', jwks, '--enti', join(dir, 'bad-0.yaml'), '--lang', 'en'], {env})
    assert.equal(en.code, 1)
    assert.match(en.stderr, /Invalid enti file .*audience is missing for the ente H501/)
    const missing = run(['serve', '--port', '0', '--jwks', jwks, '--json'], {env: {...env, CASELLARIO_SERVE_ENTI: join(dir, 'nessuno.yaml')}})
    assert.equal(missing.json().error.code, 'SERVE_ENTI_UNREADABLE')
    // without --enti and without an ente, serve would not know whose flussi to serve: it says so
    const {CASELLARIO_ENTE_CODICE: _, ...noEnte} = env
    const none = run(['serve', '--port', '0', '--jwks', jwks, '--audience', 'a', '--json'], {env: noEnte})
    assert.equal(none.code, 1)
    assert.equal(none.json().error.code, 'SERVE_ENTE_REQUIRED')
  })
})

async function until(condition: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}

describe('sync --ente: one ente’s esiti read and applied, with its own cursor; the others’ left to their own reading', function () {
  this.timeout(240_000)
  const dir = tempDir()
  let sandbox: SandboxProcess
  let env: Record<string, string>
  const pendingOf = (codice: string): number => {
    const r = run(['status', '--ente', codice, '--json'], {env})
    return r.json().submissions.reduce((n: number, s: {pending: number}) => n + s.pending, 0)
  }
  const acceptedOf = (codice: string): number => run(['status', '--ente', codice, '--json'], {env}).json().submissions.reduce((n: number, s: {accepted: number}) => n + s.accepted, 0)

  before(async () => {
    // esiti late enough that neither submit's own reading of them sees any
    sandbox = await startSandboxProcess(dir, [], {esitiDelayMs: 8000})
    env = userEnv(join(dir, 'ambito'), sandbox.env)
    for (const e of ENTI.slice(0, 2)) {
      const file = join(dir, `${e.codice}.csv`)
      writeCsv(file, psRows(e.seed, e.rows))
      const r = run(['submit', file, '--ente-codice', e.codice, '--ente-belfiore', e.belfiore, '--json'], {env})
      assert.equal(r.code, 0, r.stdout + r.stderr)
      assert.equal(r.json().sent, e.rows)
    }
    // the sandbox's esiti come after its delay
    await new Promise((resolve) => setTimeout(resolve, 9000))
  })
  after(() => sandbox?.stop())

  it('applies only the named ente’s esiti, then a plain sync applies the rest', () => {
    const [roma, milano] = ENTI
    assert.equal(pendingOf('H501'), roma.rows)
    const one = run(['sync', '--ente', 'f205', '--json'], {env})
    assert.equal(one.code, 0, one.stdout + one.stderr)
    assert.equal(one.json().ente, 'F205')
    assert.equal(one.json().endpoints[0].applied, milano.rows)
    assert.equal(acceptedOf('F205'), milano.rows)
    assert.equal(pendingOf('H501'), roma.rows, 'Roma’s esiti are not applied by a reading for Milano')
    // Milano's cursor moved; the store-wide reading starts from its own and finds Roma's esiti
    const all = run(['sync', '--json'], {env})
    assert.equal(all.code, 0, all.stdout + all.stderr)
    assert.equal(acceptedOf('H501'), roma.rows)
    assert.equal(run(['sync', '--ente', 'F205', '--json'], {env}).json().endpoints.length, 0, 'nothing of Milano awaits an esito')
  })
})

describe('one ente’s run never hands over another ente’s leftovers', function () {
  this.timeout(180_000)
  const dir = tempDir()
  const pki = makePki()

  it('file transport: Roma’s flussi left unexported by a failed run are not signed and written by Milano’s run', () => {
    const env = userEnv(join(dir, 'ambito'), {CASELLARIO_P12: pki.p12.modern, CASELLARIO_P12_PASSPHRASE: PASSPHRASE})
    const [roma, milano] = ENTI
    const romaFile = join(dir, 'roma.csv')
    writeCsv(romaFile, psRows(roma.seed, roma.rows))
    // Roma's run builds its flussi, then cannot sign them (a wrong passphrase): they stay to be exported
    const failed = run(['submit', romaFile, '--transport', 'file', '--out', join(dir, 'roma'), '--json'], {env: {...env, CASELLARIO_P12_PASSPHRASE: WRONG}})
    assert.notEqual(failed.code, 0, failed.stdout)
    const left = countFlussi(env.CASELLARIO_STORE, 'ente || state')
    assert.ok((left['H501built'] ?? 0) > 0, JSON.stringify(left))
    // Milano's run exports Milano's flussi only, into Milano's folder, signed with Milano's certificate
    const milanoFile = join(dir, 'milano.csv')
    writeCsv(milanoFile, psRows(milano.seed, milano.rows))
    const r = run(['submit', milanoFile, '--transport', 'file', '--out', join(dir, 'milano'), '--ente-codice', 'F205', '--ente-belfiore', 'F205', '--json'], {env})
    assert.equal(r.code, 0, r.stdout + r.stderr)
    assert.deepEqual(r.json().resumed, [])
    assert.ok(r.json().exported.every((e: {id_flusso: string}) => e.id_flusso.startsWith('F205.')), JSON.stringify(r.json().exported))
    assert.equal(countFlussi(env.CASELLARIO_STORE, 'ente || state').H501built, left.H501built)
    // Roma's next run takes its own leftovers
    const again = run(['submit', romaFile, '--transport', 'file', '--out', join(dir, 'roma'), '--json'], {env})
    assert.equal(again.code, 0, again.stdout + again.stderr)
    assert.equal(again.json().resumed.length, 1)
    assert.ok(again.json().exported.every((e: {id_flusso: string}) => e.id_flusso.startsWith('H501.')))
  })
})
