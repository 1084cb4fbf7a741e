import {readFileSync, statSync} from 'node:fs'

import {createLocalJWKSet, createRemoteJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet, type JWTPayload, type JWTVerifyGetKey} from 'jose'

import {UsageError} from '../errors/index.js'

/**
 * The erogatore side of PDND AUTH_REST_01 (domain notes §4.3): the bearer voucher INPS presents is
 * a JWT signed by PDND; we check it against PDND's JWKS (a file, re-read when it changes, or a URL,
 * cached and refetched when an unknown kid appears: key rotation), with an algorithm allow-list,
 * `typ`, `iss`, `aud`, `exp`/`nbf` with a small clock skew, and the purposeId when configured.
 */

export interface VoucherPolicy {
  /** JWKS file or https URL */
  jwks: string
  audience: string
  issuer: string
  purposeId?: string
}

export type VoucherVerdict = {ok: true; clientId: string; claims: JWTPayload} | {ok: false; status: 401 | 403; detail: string}

const ALGORITHMS = ['RS256']
const TYPES = new Set(['at+jwt', 'JWT'])
const CLOCK_SKEW_S = 60

export function createVoucherCheck(policy: VoucherPolicy): (authorization: string | undefined) => Promise<VoucherVerdict> {
  const keys = /^https?:\/\//.test(policy.jwks) ? createRemoteJWKSet(new URL(policy.jwks), {cacheMaxAge: 10 * 60_000, cooldownDuration: 30_000}) : fileJwks(policy.jwks)
  // INPS reuses one voucher for many calls: a verified one is remembered until it expires
  const verified = new Map<string, {verdict: VoucherVerdict; until: number}>()
  return async (authorization) => {
    const token = /^Bearer\s+([\w-]+\.[\w-]+\.[\w-]*)$/i.exec(authorization ?? '')?.[1]
    if (!token) return {ok: false, status: 401, detail: 'Manca il voucher PDND (Authorization: Bearer …)'}
    const known = verified.get(token)
    if (known && known.until > Date.now()) return known.verdict
    const verdict = await verify(token)
    if (verdict.ok) {
      if (verified.size >= 1000) verified.clear()
      verified.set(token, {verdict, until: (verdict.claims.exp ?? 0) * 1000})
    }
    return verdict
  }

  async function verify(token: string): Promise<VoucherVerdict> {
    try {
      const header = decodeProtectedHeader(token)
      if (!ALGORITHMS.includes(String(header.alg))) return {ok: false, status: 401, detail: `Algoritmo del voucher non ammesso: ${String(header.alg)}`}
      if (header.typ !== undefined && !TYPES.has(header.typ)) return {ok: false, status: 401, detail: `Tipo di voucher non ammesso: ${header.typ}`}
      const {payload} = await jwtVerify(token, keys, {
        algorithms: ALGORITHMS,
        issuer: policy.issuer,
        audience: policy.audience,
        clockTolerance: CLOCK_SKEW_S,
        requiredClaims: ['exp', 'iat'],
      })
      if (policy.purposeId && payload.purposeId !== policy.purposeId) return {ok: false, status: 403, detail: 'Finalità (purposeId) non autorizzata per questo e-service'}
      const clientId = typeof payload.client_id === 'string' ? payload.client_id : String(payload.sub ?? '')
      return {ok: true, clientId, claims: payload}
    } catch (error) {
      // jose's messages name the failed check (expired, audience, signature), never the token's content
      return {ok: false, status: 401, detail: `Voucher non valido: ${(error as Error).message}`}
    }
  }
}

/** A JWKS file, read again whenever it changes on disk (PDND key rotation by a deploy). */
function fileJwks(path: string): JWTVerifyGetKey {
  let loaded: {mtime: number; get: JWTVerifyGetKey} | undefined
  const load = (): JWTVerifyGetKey => {
    let mtime: number
    try {
      mtime = statSync(path).mtimeMs
    } catch {
      throw new UsageError('SERVE_JWKS_UNREADABLE', `Il JWKS ${path} non si può leggere.`, {suggestions: ['casellario config set serve.jwks /percorso/jwks.json (o un URL https)']})
    }
    if (loaded?.mtime !== mtime) {
      const set = JSON.parse(readFileSync(path, 'utf8')) as JSONWebKeySet
      if (!Array.isArray(set.keys)) throw new UsageError('SERVE_JWKS_INVALID', `Il file ${path} non è un JWKS ({"keys": [...]}).`)
      loaded = {mtime, get: createLocalJWKSet(set)}
    }
    return loaded.get
  }
  load()
  return (header, token) => load()(header, token)
}
