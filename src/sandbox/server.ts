import {createHash, generateKeyPairSync, randomUUID, X509Certificate, type KeyObject} from 'node:crypto'
import {createServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import type {AddressInfo} from 'node:net'

import {decodeProtectedHeader, exportJWK, jwtVerify, SignJWT, type JWK} from 'jose'

import {romeCalendar} from '../clock/index.js'
import {FLOWS} from '../flows/index.js'
import type {FlowSpec} from '../flows/model.js'
import {compileRecordValidator} from '../validate/record.js'
import {readFlusso} from '../xml/read.js'
import type {SandboxIdentity} from './identity.js'
import {SandboxState, type ReceivedEntry} from './state.js'
import {readBody, sendJson, sendProblem} from '../runtime/http-server.js'

/**
 * An INPS-like endpoint on loopback (DESIGN §8): a PDND-like token endpoint and JWKS, and the
 * push contract of DESIGN §8.2 with strict checks — voucher, Digest, Agid-JWT-Signature, the
 * entry schema of the WaaS OpenAPI — then INPS's own checks on each flusso (one beneficiario and
 * one prestazione, the schema's values), answered later as esiti. `faults` makes it misbehave
 * the ways real endpoints do, before or after it has stored a batch.
 */

export interface SandboxOptions {
  identity: SandboxIdentity
  /** SQLite file of what was received (':memory:' for a throwaway one) */
  statePath: string
  port?: number
  host?: string
  /** probability (0–1) that a request meets a fault */
  faults?: number
  /** delay before an esito becomes visible */
  esitiDelayMs?: number
  /** Retry-After sent with 429/503, seconds */
  retryAfterS?: number
  /** how long a "slow" fault holds the answer */
  slowMs?: number
  /** every answer to /flussi and /esiti waits this long after the work is done (a slow network) */
  latencyMs?: number
  /**
   * codici fiscali INPS "does not know" (not in the anagrafe): their flussi get DATI_NON_TROVATI,
   * the rejection no local check can foresee
   */
  unknownCodiciFiscali?: ReadonlySet<string>
  /** one line per request (method, path, status; never the body) */
  log?: (line: string) => void
}

export interface RunningSandbox {
  url: string
  port: number
  state: SandboxState
  close: () => Promise<void>
}

export const SANDBOX_ISSUER = 'sandbox.interop.casellario'
const VOUCHER_LIFETIME_S = 600
const CLOCK_SKEW_S = 60
const MAX_BODY = 64 << 20
const FAULTS = ['500', '503', '429', 'reset', 'reset-after', '500-after', 'slow'] as const
type Fault = (typeof FAULTS)[number]

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost'])

export async function startSandbox(opts: SandboxOptions): Promise<RunningSandbox> {
  const host = opts.host ?? '127.0.0.1'
  if (!LOOPBACK.has(host)) throw new Error('the sandbox listens on loopback only')
  const state = new SandboxState(opts.statePath)
  const signing = generateKeyPairSync('rsa', {modulusLength: 2048})
  const kid = `sandbox-pdnd-${randomUUID().slice(0, 8)}`
  const jwk: JWK = {...(await exportJWK(signing.publicKey)), kid, use: 'sig', alg: 'RS256'}
  const seenJti = new Map<string, number>()
  let url = ''

  const handler = new SandboxHandler({...opts, state, signingKey: signing.privateKey, publicKey: signing.publicKey, kid, jwk, seenJti, url: () => url})
  const server: Server = createServer((req, res) => {
    handler.handle(req, res).catch((error: Error) => {
      if (!res.headersSent) sendProblem(res, 500, 'Errore interno del sandbox', error.message)
    })
  })
  server.keepAliveTimeout = 5000
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port ?? 0, host, () => resolve())
  })
  const {port} = server.address() as AddressInfo
  url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`
  return {
    url,
    port,
    state,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => {
          state.close()
          resolve()
        })
      }),
  }
}

interface HandlerContext extends SandboxOptions {
  state: SandboxState
  signingKey: KeyObject
  publicKey: KeyObject
  kid: string
  jwk: JWK
  seenJti: Map<string, number>
  url: () => string
}

class SandboxHandler {
  private readonly validators = new Map<string, (values: string[]) => ReturnType<ReturnType<typeof compileRecordValidator>>>()

  constructor(private readonly ctx: HandlerContext) {}

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]
    res.on('finish', () => this.ctx.log?.(`${req.method} ${path} ${res.statusCode}`))
    const route = `${req.method} ${path}`
    if (route === 'GET /status') return sendProblem(res, 200, 'OK', 'Sandbox casellario attivo')
    if (route === 'GET /.well-known/jwks.json') return sendJson(res, 200, {keys: [this.ctx.jwk]})
    if (route === 'GET /_sandbox/stats') return sendJson(res, 200, this.ctx.state.stats())
    if (route === 'GET /_sandbox/received') return sendJson(res, 200, {received: this.ctx.state.received()})
    if (route !== 'POST /token.oauth2' && route !== 'POST /flussi' && route !== 'GET /esiti') return sendProblem(res, 404, 'Risorsa inesistente', route)

    const body = await readBody(req, MAX_BODY)
    if (body === undefined) return sendProblem(res, 413, 'Richiesta troppo grande')
    const fault = this.fault()
    if (fault) this.ctx.state.bump(`fault:${fault}`)
    if (fault === '500') return sendProblem(res, 500, 'Errore simulato')
    if (fault === '503' || fault === '429') {
      res.setHeader('Retry-After', String(this.ctx.retryAfterS ?? 1))
      return sendProblem(res, Number(fault), fault === '503' ? 'Servizio non disponibile (simulato)' : 'Troppe richieste (simulato)')
    }
    if (fault === 'reset') return void req.socket.destroy()
    if (fault === 'slow') await new Promise((resolve) => setTimeout(resolve, this.ctx.slowMs ?? 1500))

    const answer = await this.route(route, req, body)
    if (this.ctx.latencyMs && route !== 'POST /token.oauth2') await new Promise((resolve) => setTimeout(resolve, this.ctx.latencyMs))
    if (fault === 'reset-after') return void req.socket.destroy()
    if (fault === '500-after') return sendProblem(res, 500, 'Errore simulato dopo la presa in carico')
    if (answer.headers) for (const [k, v] of Object.entries(answer.headers)) res.setHeader(k, v)
    if (answer.problem) return sendProblem(res, answer.status, answer.problem.title, answer.problem.detail)
    return sendJson(res, answer.status, answer.body)
  }

  private fault(): Fault | undefined {
    const rate = this.ctx.faults ?? 0
    if (rate <= 0 || Math.random() >= rate) return undefined
    return FAULTS[Math.floor(Math.random() * FAULTS.length)]
  }

  private async route(route: string, req: IncomingMessage, body: Buffer): Promise<Answer> {
    if (route === 'POST /token.oauth2') return this.token(body)
    const denied = await this.checkVoucher(req.headers.authorization)
    if (denied) return denied
    if (route === 'GET /esiti') return this.esiti(req)
    const integrity = await this.checkIntegrity(req, body)
    if (integrity) return integrity
    return this.flussi(body)
  }

  // ---- PDND-like token endpoint (client credentials, RFC 7523 client assertion) ----

  private async token(body: Buffer): Promise<Answer> {
    const form = new URLSearchParams(body.toString('utf8'))
    const client = this.ctx.identity.client
    const fail = (error: string, description: string): Answer => ({status: error === 'invalid_client' ? 401 : 400, body: {error, error_description: description}})
    if (form.get('grant_type') !== 'client_credentials') return fail('unsupported_grant_type', 'grant_type deve essere client_credentials')
    if (form.get('client_assertion_type') !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer') return fail('invalid_request', 'client_assertion_type errato')
    if (form.get('client_id') !== client.clientId) return fail('invalid_client', 'client_id sconosciuto')
    const assertion = form.get('client_assertion') ?? ''
    try {
      const header = decodeProtectedHeader(assertion)
      if (header.kid !== client.kid) return fail('invalid_client', 'kid non registrato')
      const {payload} = await jwtVerify(assertion, client.publicKey, {
        algorithms: ['RS256'],
        issuer: client.clientId,
        subject: client.clientId,
        audience: client.assertionAudience,
        clockTolerance: CLOCK_SKEW_S,
        requiredClaims: ['jti', 'iat', 'exp'],
      })
      if (payload.purposeId !== client.purposeId) return fail('invalid_scope', 'purposeId non autorizzato')
      if (!this.freshJti(`assertion:${payload.jti}`, payload.exp!)) return fail('invalid_grant', 'jti già usato')
    } catch (error) {
      return fail('invalid_client', `client_assertion non valida: ${(error as Error).message}`)
    }
    const now = Math.floor(Date.now() / 1000)
    const voucher = await new SignJWT({client_id: client.clientId, purposeId: client.purposeId, producerId: 'sandbox-producer', consumerId: 'sandbox-consumer', eserviceId: 'sandbox-eservice', descriptorId: 'sandbox-descriptor'})
      .setProtectedHeader({alg: 'RS256', kid: this.ctx.kid, typ: 'at+jwt'})
      .setIssuer(SANDBOX_ISSUER)
      .setSubject(client.clientId)
      .setAudience(this.ctx.url())
      .setJti(randomUUID())
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(now + VOUCHER_LIFETIME_S)
      .sign(this.ctx.signingKey)
    return {status: 200, body: {access_token: voucher, token_type: 'Bearer', expires_in: VOUCHER_LIFETIME_S}}
  }

  private async checkVoucher(authorization: string | undefined): Promise<Answer | undefined> {
    const token = /^Bearer ([\w-]+\.[\w-]+\.[\w-]+)$/.exec(authorization ?? '')?.[1]
    if (!token) return unauthorized('Manca il voucher PDND (Authorization: Bearer)')
    try {
      const {payload} = await jwtVerify(token, this.ctx.publicKey, {
        algorithms: ['RS256'],
        typ: 'at+jwt',
        issuer: SANDBOX_ISSUER,
        audience: this.ctx.url(),
        clockTolerance: CLOCK_SKEW_S,
        requiredClaims: ['jti', 'iat', 'exp', 'sub', 'client_id', 'purposeId'],
      })
      if (payload.sub !== payload.client_id) return unauthorized('sub diverso da client_id')
      return undefined
    } catch (error) {
      return unauthorized(`Voucher non valido: ${(error as Error).message}`)
    }
  }

  // ---- ModI INTEGRITY_REST_01 ----

  private async checkIntegrity(req: IncomingMessage, body: Buffer): Promise<Answer | undefined> {
    const forbidden = (detail: string): Answer => ({status: 403, problem: {title: 'Firma di integrità non valida (INTEGRITY_REST_01)', detail}})
    const digest = req.headers.digest
    const expected = `SHA-256=${createHash('sha256').update(body).digest('base64')}`
    if (digest !== expected) return forbidden('Digest assente o diverso dal corpo ricevuto')
    const jws = req.headers['agid-jwt-signature']
    if (typeof jws !== 'string') return forbidden('Manca Agid-JWT-Signature')
    try {
      const header = decodeProtectedHeader(jws)
      const der = Buffer.from(header.x5c?.[0] ?? '', 'base64')
      if (!der.equals(this.ctx.identity.ente.certificate)) return forbidden('Certificato x5c non riconosciuto')
      const {payload} = await jwtVerify(jws, new X509Certificate(der).publicKey, {
        algorithms: ['RS256'],
        audience: this.ctx.url(),
        clockTolerance: CLOCK_SKEW_S,
        requiredClaims: ['iat', 'exp', 'jti'],
      })
      if (!this.freshJti(`modi:${payload.jti}`, payload.exp!)) return forbidden('jti già usato')
      const signed = Array.isArray(payload.signed_headers) ? (payload.signed_headers as Array<Record<string, unknown>>) : []
      const value = (name: string): unknown => signed.find((h) => name in h)?.[name]
      if (value('digest') !== digest) return forbidden('Il Digest non è tra gli header firmati')
      if (value('content-type') !== req.headers['content-type']) return forbidden('Content-Type non firmato o diverso')
    } catch (error) {
      return forbidden(`Agid-JWT-Signature non valida: ${(error as Error).message}`)
    }
    return undefined
  }

  private freshJti(jti: string, exp: number): boolean {
    const now = Date.now()
    if (this.ctx.seenJti.size > 10_000) for (const [k, until] of this.ctx.seenJti) if (until < now) this.ctx.seenJti.delete(k)
    if (this.ctx.seenJti.has(jti)) return false
    this.ctx.seenJti.set(jti, exp * 1000 + CLOCK_SKEW_S * 1000)
    return true
  }

  // ---- the push contract ----

  private flussi(body: Buffer): Answer {
    let doc: unknown
    try {
      doc = JSON.parse(body.toString('utf8'))
    } catch {
      return badRequest('Il corpo non è JSON')
    }
    const list = (doc as {elenco_flussi?: unknown})?.elenco_flussi
    if (!isPlainObject(doc) || Object.keys(doc).some((k) => k !== 'elenco_flussi') || !Array.isArray(list)) return badRequest('Atteso {"elenco_flussi": [...]}')
    if (list.length < 1 || list.length > 100) return badRequest('elenco_flussi deve avere da 1 a 100 elementi')
    const entries: Array<ReceivedEntry & {xml: Buffer}> = []
    const ids = new Set<string>()
    for (const [i, e] of list.entries()) {
      const wrong = entryProblem(e)
      if (wrong) return badRequest(`elenco_flussi[${i}]: ${wrong}`)
      if (ids.has(e.id_flusso)) return badRequest(`elenco_flussi[${i}]: id_flusso ripetuto nella stessa richiesta`)
      ids.add(e.id_flusso)
      const xml = Buffer.from(e.flusso, 'base64')
      const contentSha256 = createHash('sha256').update(xml).update(`\0${e.tipo}\0${e.codice_ente}`).digest('hex')
      entries.push({idFlusso: e.id_flusso, contentSha256, tipo: e.tipo, codiceEnte: e.codice_ente, tsFlusso: e.ts_flusso, esito: 'OK', xml})
    }
    const standing = this.ctx.state.classify(entries)
    const conflicts = entries.filter((e) => standing.get(e.idFlusso) === 'conflict')
    if (conflicts.length > 0) {
      this.ctx.state.bump('conflicts', conflicts.length)
      return {status: 409, problem: {title: 'Conflitto', detail: `id_flusso già ricevuto con contenuto diverso: ${conflicts.map((c) => c.idFlusso).join(', ')}`}}
    }
    const fresh = entries.filter((e) => standing.get(e.idFlusso) === 'new')
    // INPS's holdings and the receipt change together: a kill in between must not make a resend look new
    this.ctx.state.atomically(() => {
      for (const e of fresh) Object.assign(e, this.inpsCheck(e))
      this.ctx.state.receive(fresh, this.ctx.esitiDelayMs ?? 500)
    })
    const duplicates = entries.length - fresh.length
    if (duplicates > 0) this.ctx.state.bump('duplicates', duplicates)
    this.ctx.state.bump('batches')
    return {status: 202, body: {elenco_ricevute: entries.map((e) => ({id_flusso: e.idFlusso, stato: standing.get(e.idFlusso) === 'new' ? 'RICEVUTO' : 'DUPLICATO'}))}}
  }

  /** What INPS checks after acceptance: the outcome of the esito. */
  private inpsCheck(e: ReceivedEntry & {xml: Buffer}): {esito: string; descrizione?: string} {
    const flow: FlowSpec = e.tipo === 'SINBA' ? FLOWS.sinba : FLOWS.ps
    const invalid = (descrizione: string): {esito: string; descrizione: string} => ({esito: 'RICHIESTA_INVALIDA', descrizione})
    const read = readFlusso(e.xml, flow)
    if (read.problems.length > 0) return invalid(`Flusso non conforme allo schema: ${read.problems[0]}`)
    if (read.nome !== e.idFlusso) return invalid('IdentificazioneFlusso/@Nome diverso da id_flusso')
    if (e.codiceEnte !== read.ente.Indirizzo && e.codiceEnte !== read.ente.Codice) return invalid("codice_ente diverso dall'Ente del flusso")
    if (read.groups !== 1 || read.records.length !== 1) return invalid('In cooperazione è possibile inviare solo un beneficiario e una prestazione sociale')
    let validate = this.validators.get(flow.id)
    const today = romeCalendar()
    if (!validate) this.validators.set(flow.id, (validate = compileRecordValidator(flow, {currentYear: today.year, currentMonth: today.month})))
    const error = validate(read.records[0]).find((p) => p.severity === 'error')
    if (error) return invalid(`Valore non valido in ${error.field.xml}: ${error.code}`)
    const values = read.records[0]
    if (this.ctx.unknownCodiciFiscali?.has(values[flow.groupKey.index])) {
      return {esito: 'DATI_NON_TROVATI', descrizione: 'Codice fiscale del beneficiario non presente in anagrafe'}
    }
    return this.applyOperation(flow, values, e.idFlusso)
  }

  /**
   * What INPS holds: an insertion of a prestazione it already has is refused (it must be cancelled
   * first); a cancellation must carry exactly the data of the version it holds.
   */
  private applyOperation(flow: FlowSpec, values: string[], idFlusso: string): {esito: string; descrizione?: string} {
    const operation = flow.delta.operation
    const identity = flow.delta.identity.map((f) => values[f.index]).join('\u001F')
    const content = values.map((v, i) => (i === operation?.index ? '' : v)).join('\u001F')
    const held = this.ctx.state.held(identity)
    if (operation && values[operation.index] === 'C') {
      if (held !== content) return {esito: 'DATI_NON_TROVATI', descrizione: 'Prestazione da cancellare non presente, o con dati diversi da quelli acquisiti'}
      this.ctx.state.release(identity)
      return {esito: 'OK'}
    }
    if (held !== undefined && operation) return {esito: 'RICHIESTA_INVALIDA', descrizione: 'Prestazione già presente: per modificarla va prima cancellata'}
    this.ctx.state.hold(identity, content, idFlusso)
    return {esito: 'OK'}
  }

  private esiti(req: IncomingMessage): Answer {
    const query = new URL(req.url ?? '/', 'http://sandbox').searchParams
    const since = query.get('since')
    const limit = query.get('limit') ?? '10'
    if (since === null || !/^\d{1,20}$/.test(since)) return badRequest('since (millisecondi) è obbligatorio')
    if (!/^\d{1,3}$/.test(limit) || Number(limit) > 100) return badRequest('limit deve essere tra 0 e 100')
    const esiti = this.ctx.state.esiti(Number(since), Number(limit)).map((r) => ({
      id_flusso: r.id_flusso,
      tipo: r.tipo,
      ts_flusso: r.ts_flusso,
      ts_acquisizione: new Date(r.esito_at).toISOString(),
      codice_esito: r.codice_esito,
      ...(r.descrizione_esito ? {descrizione_esito: r.descrizione_esito} : {}),
      ...(r.id_acquisizione_siuss ? {id_acquisizione_siuss: r.id_acquisizione_siuss} : {}),
    }))
    return {status: 200, body: {elenco_esiti: esiti}}
  }
}

interface Answer {
  status: number
  body?: unknown
  problem?: {title: string; detail?: string}
  headers?: Record<string, string>
}

const ENTRY_KEYS = new Set(['codice_ente', 'denominazione_ente', 'id_flusso', 'tipo', 'ts_flusso', 'flusso'])
/** what the OpenAPI says: EEEEE.TIPO.AAAAMMGG.NNNNNNN, at most 64 characters (the ente code is free) */
const ID_FLUSSO = /^[^.\s]+\.(PS|SINBA)\.\d{8}\.\d{7}$/
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

/** The WaaS `Flusso` schema, strictly (additionalProperties: false). */
function entryProblem(e: unknown): string | undefined {
  if (!isPlainObject(e)) return 'non è un oggetto'
  const extra = Object.keys(e).find((k) => !ENTRY_KEYS.has(k))
  if (extra) return `proprietà non prevista ${extra}`
  const x = e as Record<string, unknown>
  if (typeof x.codice_ente !== 'string' || !/^[A-Z][0-9]{3}$/.test(x.codice_ente)) return 'codice_ente deve essere un codice Belfiore (^[A-Z][0-9]{3}$)'
  if (x.denominazione_ente !== undefined && (typeof x.denominazione_ente !== 'string' || x.denominazione_ente.length > 256)) return 'denominazione_ente oltre 256 caratteri'
  if (typeof x.id_flusso !== 'string' || x.id_flusso.length > 64 || !ID_FLUSSO.test(x.id_flusso)) return 'id_flusso non nel formato EEEE.TIPO.AAAAMMGG.NNNNNNN'
  if (x.tipo !== 'PS_PSA_SINA' && x.tipo !== 'SINBA') return 'tipo deve essere PS_PSA_SINA o SINBA'
  if ((x.tipo === 'SINBA') !== x.id_flusso.includes('.SINBA.')) return 'tipo non coerente con id_flusso'
  if (typeof x.ts_flusso !== 'string' || !DATE_TIME.test(x.ts_flusso) || Number.isNaN(Date.parse(x.ts_flusso))) return 'ts_flusso non è una data-ora RFC 3339'
  if (typeof x.flusso !== 'string' || x.flusso.length === 0 || x.flusso.length > 10_000_000 || !BASE64.test(x.flusso)) return 'flusso deve essere base64 (al più 10.000.000 caratteri)'
  return undefined
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x)
}

function badRequest(detail: string): Answer {
  return {status: 400, problem: {title: 'Richiesta non valida', detail}}
}

function unauthorized(detail: string): Answer {
  return {status: 401, problem: {title: 'Non autorizzato', detail}, headers: {'WWW-Authenticate': 'Bearer'}}
}
