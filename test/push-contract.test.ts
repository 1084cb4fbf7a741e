import assert from 'node:assert/strict'
import {createHash} from 'node:crypto'
import {writeFileSync} from 'node:fs'
import {createServer, type IncomingMessage, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {join} from 'node:path'

import {romeDay} from '../src/clock/index.js'
import {run, runAsync, tempDir, userEnv} from './support/cli.js'
import {psRows, writeCsv} from './support/ps-data.js'
import {mustOpenssl, openssl, PASSPHRASE} from './support/pki.js'

/**
 * The push contract of DESIGN §8.2 as an endpoint written here, independently of the sandbox:
 * every PDND client assertion and every Agid-JWT-Signature is verified with the openssl binary,
 * and the endpoint misbehaves on purpose (503 with Retry-After, 409, a long outage).
 */

const CLIENT_ID = 'client-prova-7f3a'
const KID = 'chiave-prova-1'
const PURPOSE = 'finalita-prova-42'
const ASSERTION_AUD = 'auth.uat.interop.pagopa.it/client-assertion'

interface Received {
  content: string
  count: number
}

class ContractEndpoint {
  server!: Server
  url = ''
  /** problems found in what the client sent: must stay empty */
  violations: string[] = []
  tokens = 0
  flussiPosts: number[] = []
  received = new Map<string, Received>()
  jti = new Set<string>()
  /** scripted behaviour */
  firstPostStatus?: number
  conflictId?: string
  down = false

  constructor(private readonly dir: string) {}

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      void this.handle(req).then(({status, body, headers}) => {
        res.writeHead(status, {'content-type': status >= 400 ? 'application/problem+json' : 'application/json', ...headers})
        res.end(JSON.stringify(body))
      })
    })
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve))
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      this.server.closeAllConnections()
      this.server.close(() => resolve())
    })
  }

  /** verifies a compact RS256 JWS with openssl against a PEM public key; returns header and payload */
  private verifyJws(jws: string, publicKeyPem: string, what: string): {header: any; payload: any} {
    const [h, p, s] = jws.split('.')
    const tag = createHash('sha256').update(jws).digest('hex').slice(0, 12)
    writeFileSync(join(this.dir, `${tag}.in`), `${h}.${p}`)
    writeFileSync(join(this.dir, `${tag}.sig`), Buffer.from(s, 'base64url'))
    writeFileSync(join(this.dir, `${tag}.pub`), publicKeyPem)
    const v = openssl(this.dir, ['dgst', '-sha256', '-verify', `${tag}.pub`, '-signature', `${tag}.sig`, `${tag}.in`])
    if (v.status !== 0) this.violations.push(`${what}: firma non verificata da openssl`)
    return {header: JSON.parse(Buffer.from(h, 'base64url').toString()), payload: JSON.parse(Buffer.from(p, 'base64url').toString())}
  }

  private checkTimes(payload: any, what: string): void {
    const now = Date.now() / 1000
    if (!(payload.iat <= now + 5 && payload.exp > now && payload.exp - payload.iat <= 3600)) this.violations.push(`${what}: iat/exp`)
    if (typeof payload.jti !== 'string' || this.jti.has(payload.jti)) this.violations.push(`${what}: jti assente o ripetuto`)
    this.jti.add(payload.jti)
  }

  private async handle(req: IncomingMessage): Promise<{status: number; body: unknown; headers?: Record<string, string>}> {
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    const body = Buffer.concat(chunks)
    const url = new URL(req.url!, this.url)
    if (req.method === 'POST' && url.pathname === '/token.oauth2') {
      this.tokens++
      const form = new URLSearchParams(body.toString())
      if (form.get('grant_type') !== 'client_credentials' || form.get('client_id') !== CLIENT_ID) this.violations.push('token: form')
      if (form.get('client_assertion_type') !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer') this.violations.push('token: assertion type')
      const pub = mustOpenssl(this.dir, ['pkey', '-in', 'pdnd.key', '-pubout'])
      const {header, payload} = this.verifyJws(form.get('client_assertion')!, pub, 'client_assertion')
      if (header.alg !== 'RS256' || header.kid !== KID || header.typ !== 'JWT') this.violations.push('client_assertion: header')
      if (payload.iss !== CLIENT_ID || payload.sub !== CLIENT_ID || payload.aud !== ASSERTION_AUD || payload.purposeId !== PURPOSE) this.violations.push('client_assertion: claims')
      this.checkTimes(payload, 'client_assertion')
      return {status: 200, body: {access_token: `voucher-${this.tokens}`, token_type: 'Bearer', expires_in: 600}}
    }
    if (req.headers.authorization !== `Bearer voucher-${this.tokens}`) this.violations.push(`${url.pathname}: voucher`)
    if (req.method === 'GET' && url.pathname === '/esiti') {
      const since = Number(url.searchParams.get('since'))
      const limit = Number(url.searchParams.get('limit'))
      const esiti = [...this.received.keys()]
        .sort()
        .map((id, i) => ({id_flusso: id, tipo: 'PS_PSA_SINA', ts_flusso: '2026-11-26T10:00:00.000Z', ts_acquisizione: new Date(1_790_000_000_000 + i).toISOString(), codice_esito: 'OK', id_acquisizione_siuss: String(i + 1)}))
        .filter((e) => Date.parse(e.ts_acquisizione) > since)
        .slice(0, limit)
      return {status: 200, body: {elenco_esiti: esiti}}
    }
    // POST /flussi
    this.flussiPosts.push(Date.now())
    const digest = `SHA-256=${createHash('sha256').update(body).digest('base64')}`
    if (req.headers.digest !== digest) this.violations.push('flussi: Digest')
    const jws = String(req.headers['agid-jwt-signature'])
    const x5c = JSON.parse(Buffer.from(jws.split('.')[0], 'base64url').toString()).x5c[0]
    writeFileSync(join(this.dir, 'x5c.pem'), `-----BEGIN CERTIFICATE-----\n${x5c.match(/.{1,64}/g).join('\n')}\n-----END CERTIFICATE-----\n`)
    if (mustOpenssl(this.dir, ['x509', '-in', 'x5c.pem', '-noout', '-fingerprint', '-sha256']) !== mustOpenssl(this.dir, ['x509', '-in', 'ente.pem', '-noout', '-fingerprint', '-sha256'])) {
      this.violations.push('Agid-JWT-Signature: x5c non è il certificato dell’ente')
    }
    const {header, payload} = this.verifyJws(jws, mustOpenssl(this.dir, ['x509', '-in', 'x5c.pem', '-noout', '-pubkey']), 'Agid-JWT-Signature')
    if (header.alg !== 'RS256') this.violations.push('Agid-JWT-Signature: alg')
    if (payload.aud !== this.url) this.violations.push('Agid-JWT-Signature: aud')
    this.checkTimes(payload, 'Agid-JWT-Signature')
    const signed = Object.assign({}, ...payload.signed_headers)
    if (signed.digest !== digest || signed['content-type'] !== req.headers['content-type']) this.violations.push('Agid-JWT-Signature: signed_headers')

    if (this.flussiPosts.length === 1 && this.firstPostStatus) return {status: this.firstPostStatus, body: {title: 'Occupato'}, headers: {'retry-after': '1'}}
    if (this.down) return {status: 500, body: {title: 'Guasto'}}
    const entries = JSON.parse(body.toString()).elenco_flussi as Array<{id_flusso: string; flusso: string}>
    if (entries.some((e) => e.id_flusso === this.conflictId)) return {status: 409, body: {title: 'Conflitto', detail: `${this.conflictId} già ricevuto`}}
    const receipts = entries.map((e) => {
      const known = this.received.get(e.id_flusso)
      if (known && known.content !== e.flusso) this.violations.push(`${e.id_flusso}: contenuto diverso`)
      if (known) known.count++
      else this.received.set(e.id_flusso, {content: e.flusso, count: 1})
      return {id_flusso: e.id_flusso, stato: known ? 'DUPLICATO' : 'RICEVUTO'}
    })
    return {status: 202, body: {elenco_ricevute: receipts}}
  }
}

describe('push transport against an independent endpoint of the DESIGN §8.2 contract', function () {
  this.timeout(180_000)
  const dir = tempDir()
  const endpoint = new ContractEndpoint(dir)
  let env: Record<string, string>
  const file = join(dir, 'export.csv')

  before(async () => {
    await endpoint.start()
    writeCsv(file, psRows(5, 150))
    mustOpenssl(dir, ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', 'pdnd.key'])
    mustOpenssl(dir, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ente.key', '-out', 'ente.pem', '-days', '30', '-subj', '/C=IT/O=Comune di Prova/CN=Operatore di prova', '-addext', 'keyUsage=critical,digitalSignature,nonRepudiation'])
    mustOpenssl(dir, ['pkcs12', '-export', '-inkey', 'ente.key', '-in', 'ente.pem', '-out', 'ente.p12', '-passout', `pass:${PASSPHRASE}`])
    env = userEnv(join(dir, 'client'), {
      CASELLARIO_ENDPOINT: endpoint.url,
      CASELLARIO_PDND_TOKEN_URL: `${endpoint.url}/token.oauth2`,
      CASELLARIO_PDND_CLIENT_ID: CLIENT_ID,
      CASELLARIO_PDND_KID: KID,
      CASELLARIO_PDND_PURPOSE_ID: PURPOSE,
      CASELLARIO_PDND_AUDIENCE: ASSERTION_AUD,
      CASELLARIO_PDND_KEY: join(dir, 'pdnd.key'),
      CASELLARIO_P12: join(dir, 'ente.p12'),
      CASELLARIO_P12_PASSPHRASE: PASSPHRASE,
    })
  })
  after(() => endpoint.stop())

  it('honours Retry-After, isolates a 409 conflict, signs every request, and reuses one voucher', async () => {
    endpoint.firstPostStatus = 503
    endpoint.conflictId = `H501.PS.${romeDay()}.0000042`
    const r = await runAsync(['submit', file, '--wait', '30s', '--json'], {env})
    assert.equal(r.code, 4, r.stderr)
    const doc = r.json()
    assert.deepEqual(endpoint.violations, [])
    assert.equal(endpoint.tokens, 1, 'one voucher for the whole run')
    assert.ok(endpoint.flussiPosts[1] - endpoint.flussiPosts[0] >= 950, 'waited for Retry-After: 1')
    assert.equal(doc.conflicts.length, 1)
    assert.equal(doc.conflicts[0].id_flusso, endpoint.conflictId)
    assert.deepEqual(doc.conflicts[0].rows, [43])
    assert.equal(doc.accepted, 149)
    assert.equal(endpoint.received.size, 149)
    assert.ok([...endpoint.received.values()].every((e) => e.count === 1))
    const one = run(['status', endpoint.conflictId, '--json'], {env})
    assert.equal(one.code, 4)
    assert.equal(one.json().state, 'conflict')
  })

  it('stops with exit 3 and the resume command when the endpoint stays down, then resumes without duplicates', async () => {
    const second = join(dir, 'export-2.csv')
    writeCsv(second, psRows(6, 120))
    endpoint.down = true
    const before = endpoint.received.size
    const failed = await runAsync(['submit', second, '--json'], {env: {...env, CASELLARIO_ENDPOINT_RETRIES: '3'}})
    assert.equal(failed.code, 3, failed.stderr)
    const error = failed.json().error
    assert.equal(error.code, 'ENDPOINT_UNAVAILABLE')
    assert.match(error.suggestions[0], /casellario submit .*export-2\.csv/)
    const [latest] = run(['status', '--json'], {env}).json().submissions
    assert.equal(latest.to_send, 120)

    endpoint.down = false
    const resumed = await runAsync(['submit', second, '--wait', '30s', '--json'], {env})
    assert.equal(resumed.code, 0, resumed.stderr)
    const doc = resumed.json()
    assert.deepEqual(doc.resumed, [latest.submission])
    assert.equal(doc.plan.unchanged, 120, 'the rows were already queued: nothing built twice')
    assert.deepEqual(run(['status', latest.submission, '--json'], {env}).json().states, {accepted: 120})
    assert.equal(endpoint.received.size, before + 120)
    assert.deepEqual(endpoint.violations, [])
  })
})
