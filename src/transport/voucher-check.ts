import {readFileSync, statSync} from 'node:fs'

import {createLocalJWKSet, createRemoteJWKSet, customFetch, decodeProtectedHeader, errors, jwtVerify, type JSONWebKeySet, type JWTPayload, type JWTVerifyGetKey} from 'jose'

import {UsageError} from '../errors/index.js'
import {createHttpClient, isNetworkFailure} from './http.js'

/**
 * The erogatore side of PDND AUTH_REST_01 (domain notes §4.3): the bearer voucher INPS presents is
 * a JWT signed by PDND; we check it against PDND's JWKS (a file, re-read when it changes, or an
 * https URL, cached and refetched when an unknown kid appears: key rotation) — RS256 only,
 * `typ: at+jwt`, a `kid`, `iss`, `aud`, `exp`/`nbf`/`iat` with a small clock skew, `sub` =
 * `client_id`, and the purposeId / eserviceId when configured.
 */

export interface VoucherPolicy {
  /** JWKS file or https URL */
  jwks: string
  audience: string
  issuer: string
  purposeId?: string
  eserviceId?: string
}

export type VoucherVerdict = {ok: true; clientId: string; claims: JWTPayload} | {ok: false; status: 401 | 403 | 503; detail: string}

const ALGORITHMS = ['RS256']
const CLOCK_SKEW_S = 60
/** PDND vouchers for WaaS last up to a day (INPS suggests 1440 minutes) */
const MAX_TOKEN_AGE_S = 24 * 3600 + CLOCK_SKEW_S
/** a verified voucher is reused this long at most: a key PDND withdraws stops working soon */
const CACHE_MS = 5 * 60_000
/** an unknown kid makes the JWKS be read again (rotation), at most this often */
const JWKS_COOLDOWN_MS = 5_000

/**
 * PDND's keys and the vouchers whose signature and validity they have verified: one for every ente
 * a `serve` answers for (the JWKS read and its keys imported once, not once per ente; a voucher
 * presented on several enti's paths has its signature checked once). What differs between enti
 * (aud, purposeId, eserviceId) is checked by each ente's check, on every call.
 */
export interface VoucherKeys {
  readonly jwks: string
  readonly get: JWTVerifyGetKey
  /** token → its verified claims, until when they may be reused */
  readonly verified: Map<string, {claims: JWTPayload; until: number}>
}

export function voucherKeys(jwks: string): VoucherKeys {
  // plain http only on this machine (a local copy, a test PDND); over a network the keys could be swapped
  const loopback = /^http:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?\//.test(jwks)
  if (/^http:\/\//.test(jwks) && !loopback) {
    throw new UsageError('SERVE_JWKS_INSECURE', {
      it: 'La JWKS di PDND va letta in https: in http chiunque sulla rete potrebbe sostituirne le chiavi.',
      en: "PDND's JWKS must be read over https: over http anyone on the network could swap its keys.",
    }, {suggestions: ['--jwks https://interop.pagopa.it/.well-known/jwks.json']})
  }
  const get = /^https?:\/\//.test(jwks)
    ? createRemoteJWKSet(new URL(jwks), {cacheMaxAge: 10 * 60_000, cooldownDuration: JWKS_COOLDOWN_MS, [customFetch]: fetchThroughProxy})
    : fileJwks(jwks)
  return {jwks, get, verified: new Map()}
}

/** The check of one e-service's vouchers; `keys` shared by the checks of every ente served (else its own, from policy.jwks). */
export function createVoucherCheck(policy: VoucherPolicy, keys: VoucherKeys = voucherKeys(policy.jwks)): (authorization: string | undefined) => Promise<VoucherVerdict> {
  return async (authorization) => {
    const token = /^Bearer\s+([\w-]+\.[\w-]+\.[\w-]*)$/i.exec(authorization ?? '')?.[1]
    if (!token) return {ok: false, status: 401, detail: 'Manca il voucher PDND (Authorization: Bearer …)'}
    // INPS reuses one voucher for many calls: one whose signature is verified is remembered for a few minutes
    const known = keys.verified.get(token)
    if (known && known.until > Date.now()) return judge(known.claims)
    const verdict = await verify(token)
    if (verdict.ok) {
      if (keys.verified.size >= 1000) keys.verified.clear()
      keys.verified.set(token, {claims: verdict.claims, until: Math.min((verdict.claims.exp ?? 0) * 1000, Date.now() + CACHE_MS)})
      return judge(verdict.claims)
    }
    return verdict
  }

  /** Signature, header and validity in time: the same for every ente. */
  async function verify(token: string): Promise<VoucherVerdict> {
    const refuse = (detail: string, status: 401 | 403 = 401): VoucherVerdict => ({ok: false, status, detail})
    try {
      const header = decodeProtectedHeader(token)
      if (!ALGORITHMS.includes(String(header.alg))) return refuse(`Algoritmo del voucher non ammesso: ${String(header.alg)}`)
      if (header.typ !== 'at+jwt') return refuse('Il voucher deve avere typ "at+jwt"')
      if (typeof header.kid !== 'string') return refuse('Il voucher non indica la chiave (kid)')
      const {payload} = await jwtVerify(token, keys.get, {
        algorithms: ALGORITHMS,
        typ: 'at+jwt',
        clockTolerance: CLOCK_SKEW_S,
        maxTokenAge: MAX_TOKEN_AGE_S,
        requiredClaims: ['exp', 'iat', 'nbf', 'jti', 'iss', 'aud'],
      })
      return {ok: true, clientId: '', claims: payload}
    } catch (error) {
      // PDND's keys cannot be read right now: not the caller's fault, and INPS should retry
      if (error instanceof errors.JWKSTimeout || error instanceof JwksUnavailable || error instanceof UsageError || isNetworkFailure(error) || (error instanceof errors.JOSEError && error.code === 'ERR_JWKS_INVALID')) {
        return {ok: false, status: 503, detail: 'Le chiavi di PDND non sono leggibili in questo momento'}
      }
      // jose's messages name the failed check (expired, signature), never the token's content
      return refuse(`Voucher non valido: ${(error as Error).message}`)
    }
  }

  /** What this ente's e-service expects of a verified voucher: its issuer, its audience, the client, purpose and e-service. */
  function judge(payload: JWTPayload): VoucherVerdict {
    const refuse = (detail: string, status: 401 | 403 = 401): VoucherVerdict => ({ok: false, status, detail})
    // the same checks and words as jose's issuer and audience options
    if (payload.iss !== policy.issuer) return refuse('Voucher non valido: unexpected "iss" claim value')
    if (!(typeof payload.aud === 'string' ? [payload.aud] : payload.aud ?? []).includes(policy.audience)) return refuse('Voucher non valido: unexpected "aud" claim value')
    if (payload.client_id !== undefined && payload.sub !== payload.client_id) return refuse('sub diverso da client_id')
    if (policy.purposeId && payload.purposeId !== policy.purposeId) return refuse('Finalità (purposeId) non autorizzata per questo e-service', 403)
    if (policy.eserviceId && payload.eserviceId !== policy.eserviceId) return refuse('Voucher emesso per un altro e-service', 403)
    const clientId = typeof payload.client_id === 'string' ? payload.client_id : String(payload.sub ?? '')
    return {ok: true, clientId, claims: payload}
  }
}

class JwksUnavailable extends Error {}

/** PDND's JWKS fetched with the HTTP client that honours HTTPS_PROXY / NO_PROXY (Node's fetch does not). */
const jwksHttp = createHttpClient({timeoutMs: 5000})
async function fetchThroughProxy(url: string, options: {headers: Headers | Record<string, string>; signal: AbortSignal}): Promise<Response> {
  const answer = await jwksHttp.get(url, {responseType: 'arraybuffer', headers: Object.fromEntries(new Headers(options.headers)), signal: options.signal})
  if (answer.status !== 200) throw new JwksUnavailable(`HTTP ${answer.status}`)
  return new Response(answer.data as ArrayBuffer, {status: answer.status, headers: {'content-type': String(answer.headers['content-type'] ?? 'application/json')}})
}

/** A JWKS file, read again whenever it changes on disk (PDND key rotation by a deploy). */
function fileJwks(path: string): JWTVerifyGetKey {
  let loaded: {mtime: number; get: JWTVerifyGetKey} | undefined
  const load = (): JWTVerifyGetKey => {
    let mtime: number
    try {
      mtime = statSync(path).mtimeMs
    } catch {
      throw new UsageError('SERVE_JWKS_UNREADABLE', {it: 'Il file JWKS configurato non si può leggere.', en: 'The configured JWKS file cannot be read.'}, {
        suggestions: [{it: 'casellario config set serve.jwks /percorso/jwks.json (o un URL https)', en: 'casellario config set serve.jwks /path/to/jwks.json (or an https URL)'}],
      })
    }
    if (loaded?.mtime !== mtime) {
      const set = JSON.parse(readFileSync(path, 'utf8')) as JSONWebKeySet
      if (!Array.isArray(set.keys)) {
        throw new UsageError('SERVE_JWKS_INVALID', {it: 'Il file JWKS configurato non è una JWKS ({"keys": [...]}).', en: 'The configured JWKS file is not a JWKS ({"keys": [...]}).'})
      }
      loaded = {mtime, get: createLocalJWKSet(set)}
    }
    return loaded.get
  }
  load()
  return (header, token) => load()(header, token)
}
