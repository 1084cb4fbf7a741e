import {randomUUID, type KeyObject} from 'node:crypto'

import type {AxiosInstance} from 'axios'
import {SignJWT} from 'jose'

import {UsageError} from '../errors/index.js'
import {retryableStatus, withRetries, type RetryPolicy} from './http.js'

/**
 * PDND voucher (AUTH_REST_01): client-credentials grant with an RS256 `client_assertion`
 * (RFC 7523) signed with the key registered on PDND; the voucher is reused until shortly before
 * it expires.
 */

export interface PdndSettings {
  tokenUrl: string
  clientId: string
  kid: string
  purposeId: string
  /** `aud` of the client assertion */
  audience: string
  key: KeyObject
}

/** Seconds before expiry when a voucher is renewed: a request must not leave with a dying one. */
const RENEW_BEFORE_S = 60
const ASSERTION_LIFETIME_S = 300

export class VoucherSource {
  private cached: {token: string; expiresAt: number} | undefined

  constructor(
    private readonly settings: PdndSettings,
    private readonly http: AxiosInstance,
    private readonly retry: {policy?: RetryPolicy; resume: string},
  ) {}

  /** A valid voucher: the cached one, or a new one from the token endpoint. */
  async voucher(): Promise<string> {
    if (this.cached && this.cached.expiresAt - RENEW_BEFORE_S * 1000 > Date.now()) return this.cached.token
    const s = this.settings
    const answer = await withRetries(
      {it: 'Richiesta del voucher PDND', en: 'Requesting the PDND voucher'},
      async () => {
        // a new assertion per attempt: its jti must never be seen twice, even when an answer is lost
        const body = new URLSearchParams({
          client_id: s.clientId,
          client_assertion: await this.clientAssertion(),
          client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
          grant_type: 'client_credentials',
        }).toString()
        const response = await this.http.post(s.tokenUrl, body, {headers: {'content-type': 'application/x-www-form-urlencoded'}})
        const retry = retryableStatus(response)
        if (retry) return retry
        return {done: response}
      },
      this.retry,
    )
    const data = answer.data as {access_token?: unknown; expires_in?: unknown; error?: unknown; error_description?: unknown}
    if (answer.status !== 200 || typeof data?.access_token !== 'string') {
      // RFC 6749 §5.2 codes say what is wrong with our registration; they carry no personal data
      const code = typeof data?.error === 'string' ? data.error : `HTTP ${answer.status}`
      throw new UsageError('PDND_TOKEN_REFUSED', {it: `PDND ha rifiutato la richiesta di voucher (${code}).`, en: `PDND refused the voucher request (${code}).`}, {
        suggestions: [
          {
            it: 'Controlla pdnd.clientId, pdnd.kid, pdnd.purposeId e pdnd.audience (casellario config list) con quanto registrato nel back office PDND.',
            en: 'Check pdnd.clientId, pdnd.kid, pdnd.purposeId and pdnd.audience (casellario config list) against what is registered in the PDND back office.',
          },
          {
            it: 'La chiave pdnd.key deve essere quella la cui chiave pubblica è caricata sul client PDND.',
            en: 'The pdnd.key key must be the one whose public key is uploaded to the PDND client.',
          },
        ],
      })
    }
    const lifetime = typeof data.expires_in === 'number' ? data.expires_in : 600
    this.cached = {token: data.access_token, expiresAt: Date.now() + lifetime * 1000}
    return data.access_token
  }

  /** After a 401: the voucher may have been revoked or the clocks disagree; get a new one. */
  forget(): void {
    this.cached = undefined
  }

  private async clientAssertion(): Promise<string> {
    const s = this.settings
    const now = Math.floor(Date.now() / 1000)
    return new SignJWT({purposeId: s.purposeId})
      .setProtectedHeader({alg: 'RS256', kid: s.kid, typ: 'JWT'})
      .setIssuer(s.clientId)
      .setSubject(s.clientId)
      .setAudience(s.audience)
      .setJti(randomUUID())
      .setIssuedAt(now)
      .setExpirationTime(now + ASSERTION_LIFETIME_S)
      .sign(s.key)
  }
}
