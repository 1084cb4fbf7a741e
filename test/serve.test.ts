import assert from 'node:assert/strict'
import type {ChildProcess} from 'node:child_process'
import {readFileSync, writeFileSync} from 'node:fs'
import {createServer as createHttpsServer} from 'node:https'
import type {AddressInfo} from 'node:net'
import {join} from 'node:path'

import Ajv, {type ValidateFunction} from 'ajv'
import addFormats from 'ajv-formats'
import {exportJWK, generateKeyPair, SignJWT, type KeyLike} from 'jose'
import {parse as parseYaml} from 'yaml'

import {engineNow} from '../src/clock/index.js'
import {REFERENCE, run, startService, tempDir, userEnv, xmllint} from './support/cli.js'
import {AUDIENCE, ISSUER, PURPOSE, signVoucher} from './support/pdnd.js'
import {mustOpenssl} from './support/pki.js'
import {psRows, writeCsv} from './support/ps-data.js'
import {STORE_BACKENDS, storeFor} from './support/stores.js'

/**
 * `casellario serve` as INPS sees it: an INPS-like poller in the test pulls with PDND vouchers it
 * signs itself, pages by `since`, checks every answer against the official OpenAPI document with a
 * JSON-schema validator and every flusso with xmllint against the official XSD, posts esiti, and
 * tries the tokens a serious e-service must refuse.
 */


/** The OpenAPI 3.0 components as JSON Schema (boolean exclusiveMaximum → number, docs-only keywords dropped). */
function openApiValidator(): (schema: string) => ValidateFunction {
  const doc = parseYaml(readFileSync(join(REFERENCE, 'inps', 'waas-api-comuni.yaml'), 'utf8'))
  const convert = (node: any): any => {
    if (Array.isArray(node)) return node.map(convert)
    if (typeof node !== 'object' || node === null) return node
    const out: any = {}
    for (const [k, v] of Object.entries(node)) {
      if (k === 'example' || k === 'xml') continue
      if (k === 'exclusiveMaximum' && v === true) out.exclusiveMaximum = node.maximum
      else if (k === 'maximum' && node.exclusiveMaximum === true) continue
      else out[k] = convert(v)
    }
    return out
  }
  const ajv = new Ajv({strict: false, allErrors: true})
  addFormats(ajv)
  ajv.addFormat('int32', true).addFormat('int64', true)
  ajv.addSchema({$id: 'waas.json', components: convert(doc.components)})
  return (schema) => ajv.getSchema(`waas.json#/components/schemas/${schema}`)!
}

interface Serve {
  url: string
  child: ChildProcess
  stderr: () => string
}

async function startServe(env: Record<string, string>, args: string[]): Promise<Serve> {
  const {doc, child, stderr} = await startService<{url: string}>(['serve', '--port', '0', '--host', '127.0.0.1', '--json', ...args], env)
  return {url: doc.url, child, stderr}
}

for (const backend of STORE_BACKENDS)
describe(`casellario serve: the WaaS e-service INPS pulls from (${backend})`, function () {
  this.timeout(180_000)
  const dir = tempDir()
  const env = userEnv(join(dir, 'ente'), {CASELLARIO_STORE: storeFor(backend, join(dir, 'ente'))})
  const schema = openApiValidator()
  let key: KeyLike
  let serve: Serve
  const jwksPath = join(dir, 'jwks.json')
  const voucher = (claims: Record<string, unknown> = {}, opts: {key?: KeyLike; kid?: string; expiresIn?: number} = {}): Promise<string> => signVoucher(opts.key ?? key, claims, opts)
  const get = async (path: string, token?: string): Promise<Response> => fetch(`${serve.url}${path}`, {headers: token ? {authorization: `Bearer ${token}`} : {}})
  const expectValid = (name: string, body: unknown): void => {
    const validate = schema(name)
    assert.ok(validate(body), `${name}: ${JSON.stringify(validate.errors)}`)
  }

  before(async () => {
    const pair = await generateKeyPair('RS256')
    key = pair.privateKey
    writeFileSync(jwksPath, JSON.stringify({keys: [{...(await exportJWK(pair.publicKey)), kid: 'pdnd-1', alg: 'RS256', use: 'sig'}]}))
    const file = join(dir, 'prestazioni.csv')
    writeCsv(file, psRows(91, 230))
    const r = run(['submit', file, '--transport', 'waas', '--json'], {env})
    assert.equal(r.code, 0, r.stderr)
    const doc = r.json()
    assert.equal(doc.states.queued, 230)
    serve = await startServe(env, ['--jwks', jwksPath, '--audience', AUDIENCE, '--purpose-id', PURPOSE, '--workers', '2'])
  })
  after(() => serve?.child.kill('SIGKILL'))

  it('answers /status without a voucher, as problem+json', async () => {
    const r = await get('/status')
    assert.equal(r.status, 200)
    assert.match(r.headers.get('content-type')!, /application\/problem\+json/)
    expectValid('Problem', await r.json())
  })

  it('hands every queued flusso exactly once when INPS pages by since, each valid against the OpenAPI and the XSD', async () => {
    const token = await voucher()
    const seen: string[] = []
    let since = 0
    let lastTs = 0
    for (let page = 0; page < 20; page++) {
      const r = await get(`/flussi?since=${since}&limit=100`, token)
      assert.equal(r.status, 200)
      assert.equal(r.headers.get('x-ratelimit-limit'), String(600 / 2), 'two processes, each with its share')
      const body = (await r.json()) as {elenco_flussi: Array<{id_flusso: string; ts_flusso: string; flusso: string; codice_ente: string; tipo: string}>}
      expectValid('Entries', body)
      if (body.elenco_flussi.length === 0) break
      for (const e of body.elenco_flussi) {
        const ts = Date.parse(e.ts_flusso)
        assert.ok(ts > lastTs, 'ts_flusso strictly increasing')
        lastTs = ts
        seen.push(e.id_flusso)
        assert.equal(e.codice_ente, 'H501')
        assert.equal(e.tipo, 'PS_PSA_SINA')
        writeFileSync(join(dir, `${e.id_flusso}.xml`), Buffer.from(e.flusso, 'base64'))
      }
      since = lastTs
    }
    assert.equal(seen.length, 230)
    assert.equal(new Set(seen).size, 230)
    const lint = xmllint(seen.map((id) => join(dir, `${id}.xml`)))
    assert.ok(lint.ok, lint.output)
  })

  it('applies the OpenAPI defaults and bounds: limit 10 by default, 0 allowed, 101 and a missing since refused', async () => {
    const token = await voucher()
    const ten = (await (await get('/flussi?since=0', token)).json()) as {elenco_flussi: unknown[]}
    assert.equal(ten.elenco_flussi.length, 10)
    const none = (await (await get('/flussi?since=0&limit=0', token)).json()) as {elenco_flussi: unknown[]}
    assert.deepEqual(none, {elenco_flussi: []})
    for (const q of ['?since=0&limit=101', '?limit=5', '?since=abc', '?since=-1']) {
      const r = await get(`/flussi${q}`, token)
      assert.equal(r.status, 400, q)
      expectValid('Problem', await r.json())
    }
    const future = (await (await get(`/flussi?since=${engineNow().getTime() + 86_400_000}&limit=100`, token)).json()) as {elenco_flussi: unknown[]}
    assert.deepEqual(future, {elenco_flussi: []})
  })

  it('refuses vouchers that are missing, expired, for another audience or issuer, signed by an unknown key, or unsigned', async () => {
    const stranger = (await generateKeyPair('RS256')).privateKey
    const header = (o: object): string => Buffer.from(JSON.stringify(o)).toString('base64url')
    const unsigned = `${header({alg: 'none', typ: 'at+jwt'})}.${header({iss: ISSUER, aud: AUDIENCE, exp: Math.floor(Date.now() / 1000) + 600, iat: 1, purposeId: PURPOSE})}.`
    const cases: Array<[string, string | undefined, number]> = [
      ['missing', undefined, 401],
      ['expired', await voucher({}, {expiresIn: -3600}), 401],
      ['wrong audience', await voucher({aud: 'https://altro.example/waas/v1'}), 401],
      ['wrong issuer', await voucher({iss: 'someone-else'}), 401],
      ['unknown key', await voucher({}, {key: stranger, kid: 'pdnd-1'}), 401],
      ['unknown kid', await voucher({}, {kid: 'sconosciuta'}), 401],
      ['alg none', unsigned, 401],
      ['another purpose', await voucher({purposeId: 'altra-finalita'}), 403],
      ['not yet valid', await voucher({nbf: Math.floor(Date.now() / 1000) + 3600}), 401],
      ['sub is not the client', await voucher({sub: 'qualcun-altro'}), 401],
      ['not an access token (typ JWT)', await new SignJWT({client_id: 'inps-client', purposeId: PURPOSE}).setProtectedHeader({alg: 'RS256', kid: 'pdnd-1', typ: 'JWT'}).setIssuer(ISSUER).setAudience(AUDIENCE).setSubject('inps-client').setIssuedAt().setNotBefore('0s').setJti('x').setExpirationTime('10m').sign(key), 401],
    ]
    for (const [label, token, status] of cases) {
      const r = await get('/flussi?since=0&limit=1', token)
      assert.equal(r.status, status, label)
      assert.match(r.headers.get('content-type')!, /application\/problem\+json/, label)
      expectValid('Problem', await r.json())
      const post = await fetch(`${serve.url}/esiti`, {method: 'POST', headers: {'content-type': 'application/json', ...(token ? {authorization: `Bearer ${token}`} : {})}, body: '{"elenco_esiti":[]}'})
      assert.equal(post.status, status, `POST /esiti, ${label}`)
    }
  })

  it('follows a PDND key rotation: a new key in the JWKS file is trusted without a restart', async () => {
    const next = await generateKeyPair('RS256')
    const old = JSON.parse(readFileSync(jwksPath, 'utf8'))
    await new Promise((r) => setTimeout(r, 20))
    writeFileSync(jwksPath, JSON.stringify({keys: [...old.keys, {...(await exportJWK(next.publicKey)), kid: 'pdnd-2', alg: 'RS256', use: 'sig'}]}))
    const r = await get('/flussi?since=0&limit=1', await voucher({}, {key: next.privateKey, kid: 'pdnd-2'}))
    assert.equal(r.status, 200)
  })

  it('marks pulled flussi as delivered, then applies the esiti INPS posts, idempotently', async () => {
    await new Promise((r) => setTimeout(r, 500))
    const [s] = run(['status', '--json'], {env}).json().submissions
    assert.deepEqual(s.states, {delivered: 230})
    const token = await voucher()
    const body = (await (await get('/flussi?since=0&limit=100', token)).json()) as {elenco_flussi: Array<{id_flusso: string; ts_flusso: string}>}
    const esiti = body.elenco_flussi.map((e, i) => ({
      id_flusso: e.id_flusso,
      tipo: 'PS_PSA_SINA',
      ts_flusso: e.ts_flusso,
      ts_acquisizione: new Date().toISOString(),
      ...(i === 7 ? {codice_esito: 'RICHIESTA_INVALIDA', descrizione_esito: 'In cooperazione è possibile inviare solo un beneficiario e una prestazione sociale'} : {codice_esito: 'OK', id_acquisizione_siuss: String(1000 + i)}),
    }))
    // 99 esiti of this store's flussi and one for a flusso it never had
    const payload = {elenco_esiti: [...esiti.slice(0, 99), {...esiti[0], id_flusso: 'Z999.PS.20260101.0000001'}]}
    expectValid('ElencoEsiti', payload)
    for (let attempt = 0; attempt < 2; attempt++) {
      const r = await fetch(`${serve.url}/esiti`, {method: 'POST', headers: {'content-type': 'application/json', authorization: `Bearer ${token}`}, body: JSON.stringify(payload)})
      assert.equal(r.status, 204, `attempt ${attempt}`)
    }
    const after = run(['status', s.submission, '--json'], {env})
    assert.equal(after.code, 4)
    const doc = after.json()
    assert.equal(doc.states.accepted, 98)
    assert.equal(doc.states.rejected, 1)
    assert.equal(doc.rejected[0].id_flusso, esiti[7].id_flusso)
    assert.match(doc.rejected[0].descrizione, /un beneficiario e una prestazione/)
  })

  it('a corrected export queues the cancellation of the accepted version before the new one', async () => {
    const rows = [...psRows(91, 230)]
    // row 1's flusso was accepted by the esiti above
    rows[0] = {...rows[0], DenominazionePrestazione: `${rows[0].DenominazionePrestazione} - rettifica`}
    const corrected = join(dir, 'prestazioni-rettificate.csv')
    writeCsv(corrected, rows)
    const token = await voucher()
    /** pages from `since` to the end, as INPS does; returns the XML pulled and where it stopped */
    const pullFrom = async (since: number): Promise<{xml: string[]; last: number}> => {
      const xml: string[] = []
      let last = since
      for (;;) {
        const page = (await (await get(`/flussi?since=${last}&limit=100`, token)).json()) as {elenco_flussi: Array<{ts_flusso: string; flusso: string}>}
        if (page.elenco_flussi.length === 0) return {xml, last}
        for (const e of page.elenco_flussi) xml.push(Buffer.from(e.flusso, 'base64').toString('utf8'))
        last = Date.parse(page.elenco_flussi.at(-1)!.ts_flusso)
      }
    }
    const {last} = await pullFrom(0)
    const r = run(['submit', corrected, '--transport', 'waas', '--json'], {env})
    assert.equal(r.code, 0, r.stderr)
    // the row INPS refused above goes again too
    assert.deepEqual([r.json().plan.replace, r.json().plan.insert, r.json().plan.unchanged], [1, 1, 228])
    // INPS pulls from where it stopped: the C first
    const pulled = (await pullFrom(last)).xml
    assert.equal(pulled.length, 3)
    assert.match(pulled[0], / TipoOperazione="C"/)
    assert.ok(pulled.slice(1).every((xml) => !/ TipoOperazione="C"/.test(xml)))
    assert.equal(pulled.filter((xml) => xml.includes('- rettifica')).length, 1)
  })

  /** every entry after `since`, paging as INPS does */
  const entriesAfter = async (since: number, token: string): Promise<Array<{id_flusso: string; ts_flusso: string}>> => {
    const all: Array<{id_flusso: string; ts_flusso: string}> = []
    for (let from = since; ; ) {
      const p = (await (await get(`/flussi?since=${from}&limit=100`, token)).json()) as {elenco_flussi: Array<{id_flusso: string; ts_flusso: string}>}
      if (p.elenco_flussi.length === 0) return all
      all.push(...p.elenco_flussi)
      from = Date.parse(p.elenco_flussi.at(-1)!.ts_flusso)
    }
  }

  it('a poller using max_entries (the spec\'s curl example) gets the same pages as with limit', async () => {
    const token = await voucher()
    const ids = async (query: string): Promise<string[]> => ((await (await get(`/flussi?since=0&${query}`, token)).json()) as {elenco_flussi: Array<{id_flusso: string}>}).elenco_flussi.map((e) => e.id_flusso)
    const withLimit = await ids('limit=37')
    assert.equal(withLimit.length, 37)
    assert.deepEqual(await ids('max_entries=37'), withLimit)
    assert.equal((await get('/flussi?since=0&max_entries=101', token)).status, 400)
  })

  it('keeps the esito\'s codice_siuss (spec example) as id_acquisizione_siuss', async () => {
    const token = await voucher()
    const [entry] = ((await (await get('/flussi?since=0&limit=100', token)).json()) as {elenco_flussi: Array<{id_flusso: string; ts_flusso: string}>}).elenco_flussi.slice(99)
    const esito = {id_flusso: entry.id_flusso, tipo: 'PS_PSA_SINA', ts_flusso: entry.ts_flusso, ts_acquisizione: new Date().toISOString(), codice_esito: 'OK', codice_siuss: '22738'}
    const r = await fetch(`${serve.url}/esiti`, {method: 'POST', headers: {'content-type': 'application/json', authorization: `Bearer ${token}`}, body: JSON.stringify({elenco_esiti: [esito]})})
    assert.equal(r.status, 204)
    const flusso = run(['status', entry.id_flusso, '--json'], {env}).json()
    assert.equal(flusso.id_acquisizione_siuss, '22738')
  })

  it('an ERRORE_GENERICO flusso is offered again with a new ts_flusso, shown in status, then accepted', async () => {
    const token = await voucher()
    const all = await entriesAfter(0, token)
    const target = all[150]
    const post = async (body: object): Promise<void> => {
      const r = await fetch(`${serve.url}/esiti`, {method: 'POST', headers: {'content-type': 'application/json', authorization: `Bearer ${token}`}, body: JSON.stringify({elenco_esiti: [body]})})
      assert.equal(r.status, 204)
    }
    await post({id_flusso: target.id_flusso, tipo: 'PS_PSA_SINA', ts_flusso: target.ts_flusso, ts_acquisizione: new Date().toISOString(), codice_esito: 'ERRORE_GENERICO', descrizione_esito: 'Errore interno'})
    const queued = run(['status', target.id_flusso, '--json'], {env}).json()
    assert.equal(queued.state, 'queued', JSON.stringify(queued).slice(0, 800))
    assert.ok(JSON.stringify(queued).includes('requeued'), 'the re-offer is in the flusso\'s history')
    // INPS pages on from where it was: the flusso comes again, after everything else, with a new ts_flusso
    const tail = await entriesAfter(Date.parse(all.at(-1)!.ts_flusso), token)
    const again = tail.filter((e) => e.id_flusso === target.id_flusso)
    assert.equal(again.length, 1)
    assert.ok(Date.parse(again[0].ts_flusso) > Date.parse(target.ts_flusso))
    await post({id_flusso: target.id_flusso, tipo: 'PS_PSA_SINA', ts_flusso: again[0].ts_flusso, ts_acquisizione: new Date(Date.now() + 1000).toISOString(), codice_esito: 'OK', id_acquisizione_siuss: '777'})
    assert.equal(run(['status', target.id_flusso, '--json'], {env}).json().state, 'accepted')
  })

  it('after the bounded number of re-offers an ERRORE_GENERICO flusso stays rejected', async () => {
    const token = await voucher()
    const all = await entriesAfter(0, token)
    const id = all[160].id_flusso
    let since = Date.parse(all.at(-1)!.ts_flusso)
    for (let attempt = 0; attempt < 4; attempt++) {
      if (attempt > 0) {
        // INPS pulls the re-offered flusso before it can give an esito for it again (else 409)
        const tail = await entriesAfter(since, token)
        assert.ok(tail.some((e) => e.id_flusso === id), `re-offer ${attempt}`)
        since = Date.parse(tail.at(-1)!.ts_flusso)
      }
      const body = {elenco_esiti: [{id_flusso: id, tipo: 'PS_PSA_SINA', ts_flusso: new Date().toISOString(), ts_acquisizione: new Date(Date.now() + attempt * 1000).toISOString(), codice_esito: 'ERRORE_GENERICO'}]}
      const r = await fetch(`${serve.url}/esiti`, {method: 'POST', headers: {'content-type': 'application/json', authorization: `Bearer ${token}`}, body: JSON.stringify(body)})
      assert.equal(r.status, 204)
    }
    const doc = run(['status', id, '--json'], {env}).json()
    assert.equal(doc.state, 'rejected')
    assert.equal(JSON.stringify(doc).match(/"requeued"/g)?.length, 3)
    assert.ok(JSON.stringify(doc).includes('requeue-exhausted'))
  })

  it('refuses a malformed ElencoEsiti with problem+json and changes nothing', async () => {
    const token = await voucher()
    for (const body of ['not json', '{"elenco_esiti": [{"id_flusso": "X"}]}', '{"elenco_esiti": [], "altro": 1}', JSON.stringify({elenco_esiti: [{id_flusso: 'X', tipo: 'PS_PSA_SINA', ts_flusso: 'ieri', ts_acquisizione: 'oggi', codice_esito: 'OK'}]})]) {
      const r = await fetch(`${serve.url}/esiti`, {method: 'POST', headers: {'content-type': 'application/json', authorization: `Bearer ${token}`}, body})
      assert.equal(r.status, 400, body)
      expectValid('Problem', await r.json())
    }
  })

  it('logs each request as a JSON line without personal data, and stops cleanly on SIGTERM', async () => {
    const lines = serve.stderr().trim().split('\n').map((l) => JSON.parse(l))
    assert.ok(lines.some((l) => l.path === '/waas/v1/flussi' && l.status === 200 && l.client === 'inps-client'))
    assert.doesNotMatch(serve.stderr(), /[A-Z]{6}\d{2}[A-Z]\d{2}[A-Z]\d{3}[A-Z]/, 'no codice fiscale in the log')
    const code = await new Promise<number | null>((resolve) => {
      serve.child.once('exit', resolve)
      serve.child.kill('SIGTERM')
    })
    assert.equal(code, 0)
  })
})

describe('casellario serve: rate limiting', function () {
  this.timeout(60_000)
  it('answers 429 with Retry-After and the X-RateLimit headers beyond the configured rate', async () => {
    const dir = tempDir()
    const env = userEnv(join(dir, 'ente'))
    const pair = await generateKeyPair('RS256')
    const jwks = join(dir, 'jwks.json')
    writeFileSync(jwks, JSON.stringify({keys: [{...(await exportJWK(pair.publicKey)), kid: 'k', alg: 'RS256'}]}))
    const serve = await startServe(env, ['--jwks', jwks, '--audience', AUDIENCE, '--rate-limit', '3', '--workers', '1'])
    try {
      const now = Math.floor(Date.now() / 1000)
      const token = await new SignJWT({client_id: 'inps'}).setProtectedHeader({alg: 'RS256', kid: 'k', typ: 'at+jwt'}).setIssuer(ISSUER).setAudience(AUDIENCE).setSubject('inps').setIssuedAt(now).setNotBefore(now).setJti('j1').setExpirationTime(now + 60).sign(pair.privateKey)
      const statuses: number[] = []
      let last: Response | undefined
      for (let i = 0; i < 4; i++) {
        last = await fetch(`${serve.url}/flussi?since=0`, {headers: {authorization: `Bearer ${token}`}})
        statuses.push(last.status)
      }
      assert.deepEqual(statuses, [200, 200, 200, 429])
      assert.ok(Number(last!.headers.get('retry-after')) >= 1)
      assert.equal(last!.headers.get('x-ratelimit-limit'), '3')
      assert.equal(last!.headers.get('x-ratelimit-remaining'), '0')
      assert.ok(Number(last!.headers.get('x-ratelimit-reset')) > 0)
    } finally {
      serve.child.kill('SIGKILL')
    }
  })
})

describe('casellario serve: PDND keys from an https JWKS URL', function () {
  this.timeout(60_000)
  it('fetches the JWKS, refetches it when PDND rotates to a new kid, and answers 503 when it cannot be read', async () => {
    const dir = tempDir()
    const env = userEnv(join(dir, 'ente'))
    mustOpenssl(dir, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'tls.key', '-out', 'tls.pem', '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'])
    const first = await generateKeyPair('RS256')
    const second = await generateKeyPair('RS256')
    let keys = [{...(await exportJWK(first.publicKey)), kid: 'k1', alg: 'RS256'}]
    let up = true
    const pdnd = createHttpsServer({key: readFileSync(join(dir, 'tls.key')), cert: readFileSync(join(dir, 'tls.pem'))}, (req, res) => {
      if (!up) return void res.writeHead(500).end()
      res.writeHead(200, {'content-type': 'application/json'}).end(JSON.stringify({keys}))
    })
    await new Promise<void>((resolve) => pdnd.listen(0, '127.0.0.1', resolve))
    const jwks = `https://127.0.0.1:${(pdnd.address() as AddressInfo).port}/.well-known/jwks.json`
    const serve = await startServe({...env, NODE_EXTRA_CA_CERTS: join(dir, 'tls.pem')}, ['--jwks', jwks, '--audience', AUDIENCE, '--workers', '1'])
    const token = (key: KeyLike, kid: string): Promise<string> =>
      new SignJWT({client_id: 'inps'}).setProtectedHeader({alg: 'RS256', kid, typ: 'at+jwt'}).setIssuer(ISSUER).setAudience(AUDIENCE).setSubject('inps').setIssuedAt().setNotBefore('0s').setJti(kid).setExpirationTime('10m').sign(key)
    const pull = async (t: string): Promise<number> => (await fetch(`${serve.url}/flussi?since=0`, {headers: {authorization: `Bearer ${t}`}})).status
    try {
      assert.equal(await pull(await token(first.privateKey, 'k1')), 200)
      keys = [...keys, {...(await exportJWK(second.publicKey)), kid: 'k2', alg: 'RS256'}]
      await new Promise((r) => setTimeout(r, 5_500))
      assert.equal(await pull(await token(second.privateKey, 'k2')), 200, 'a new kid makes the JWKS be read again')
      up = false
      await new Promise((r) => setTimeout(r, 5_500))
      assert.equal(await pull(await token(second.privateKey, 'k3')), 503, 'PDND unreachable: retry later, not 401')
    } finally {
      serve.child.kill('SIGKILL')
      pdnd.close()
    }
  })
})
