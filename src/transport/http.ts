import {readFileSync} from 'node:fs'
import {Agent as HttpsAgent} from 'node:https'

import axios, {type AxiosInstance, type AxiosResponse} from 'axios'

import {TransportError, UsageError, type Text} from '../errors/index.js'
import {say} from '../i18n/messages.js'

/**
 * The HTTP client every transport uses: axios (it honours HTTPS_PROXY / NO_PROXY with a CONNECT
 * tunnel), optional mutual TLS and a private CA, statuses handled by the caller, and one retry
 * policy for what the network and the endpoint do to us (DESIGN §8.2).
 */

/** How the store names an endpoint: its base URL without trailing slashes, or `sandbox`. */
export function endpointName(url: string): string {
  // stored as given (it scopes identities and esiti cursors, and sync connects to it); masked where shown
  return url.replace(/\/+$/, '')
}

export interface TlsOptions {
  /** PEM client certificate and key for mutual TLS */
  cert?: string
  key?: string
  /** PEM bundle of CAs trusted for the endpoint (a regional hub with a private CA) */
  ca?: string
}

/** `direct`: never through a proxy (the embedded sandbox on loopback). */
export function createHttpClient(opts: {timeoutMs?: number; tls?: TlsOptions; direct?: boolean} = {}): AxiosInstance {
  const read = (file: string | undefined, what: Text): Buffer | undefined => {
    if (!file) return undefined
    try {
      return readFileSync(file)
    } catch {
      throw new UsageError('TLS_FILE_UNREADABLE', {it: `Il file ${what.it} ${file} non si può leggere.`, en: `The ${what.en} file ${file} cannot be read.`})
    }
  }
  const tls = opts.tls ?? {}
  const httpsAgent =
    tls.cert || tls.ca
      ? new HttpsAgent({
          cert: read(tls.cert, {it: 'del certificato TLS', en: 'TLS certificate'}),
          key: read(tls.key, {it: 'della chiave TLS', en: 'TLS key'}),
          ca: read(tls.ca, {it: 'delle CA', en: 'CA'}),
          keepAlive: true,
        })
      : undefined
  return axios.create({
    timeout: opts.timeoutMs ?? 60_000,
    httpsAgent,
    ...(opts.direct ? {proxy: false as const} : {}),
    // every status is an answer the transport interprets; only network failures throw
    validateStatus: () => true,
    maxRedirects: 0,
    maxBodyLength: 128 << 20,
    maxContentLength: 128 << 20,
    responseType: 'json',
    transitional: {clarifyTimeoutError: true},
  })
}

export interface RetryPolicy {
  /** attempts per request, the first included */
  attempts: number
  /** first backoff, doubled at every attempt, with full jitter */
  baseMs: number
  capMs: number
  /** longest Retry-After honoured; a longer one ends the run (resume later) */
  maxRetryAfterMs: number
  sleep: (ms: number) => Promise<void>
}

export const DEFAULT_RETRY: RetryPolicy = {
  attempts: 8,
  baseMs: 500,
  capMs: 30_000,
  maxRetryAfterMs: 300_000,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
}

/** What one attempt concluded. */
export type Attempt<T> = {done: T} | {retry: string; afterMs?: number}

/** A response status the retry loop handles itself: 429/503 with Retry-After, other 5xx. */
export function retryableStatus(response: AxiosResponse): {retry: string; afterMs?: number} | undefined {
  const {status} = response
  if (status === 429 || status === 503) return {retry: `HTTP ${status}`, afterMs: retryAfterMs(response.headers['retry-after'])}
  if (status >= 500) return {retry: `HTTP ${status}`}
  return undefined
}

/** Retry-After as seconds or as an HTTP date. */
export function retryAfterMs(value: unknown): number | undefined {
  if (typeof value !== 'string' && typeof value !== 'number') return undefined
  const text = String(value).trim()
  if (/^\d+$/.test(text)) return Number(text) * 1000
  const at = Date.parse(text)
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now())
}

/** Network failures worth another attempt (the request may or may not have arrived). */
export function isNetworkFailure(error: unknown): boolean {
  return axios.isAxiosError(error) && error.response === undefined
}

/**
 * Runs `attempt` until it is done, retrying with exponential backoff and full jitter (or the
 * endpoint's Retry-After). After the last attempt, a TransportError (exit 3) whose suggestion is
 * `resume`, the command that continues where this one stopped.
 */
export async function withRetries<T>(what: Text, attempt: () => Promise<Attempt<T>>, opts: {policy?: RetryPolicy; resume: string; onRetry?: (reason: string, waitMs: number) => void}): Promise<T> {
  const policy = opts.policy ?? DEFAULT_RETRY
  let last = ''
  for (let n = 1; ; n++) {
    let outcome: Attempt<T>
    try {
      outcome = await attempt()
    } catch (error) {
      if (!isNetworkFailure(error)) throw error
      outcome = {retry: networkReason(error)}
    }
    if ('done' in outcome) return outcome.done
    last = outcome.retry
    if (outcome.afterMs !== undefined && outcome.afterMs > policy.maxRetryAfterMs) {
      const seconds = Math.ceil(outcome.afterMs / 1000)
      throw new TransportError('ENDPOINT_BUSY', {
        it: `${what.it}: l'endpoint chiede di riprovare tra ${seconds} s.`,
        en: `${what.en}: the endpoint asks to try again in ${seconds} s.`,
      }, {suggestions: [opts.resume]})
    }
    if (n >= policy.attempts) {
      throw new TransportError('ENDPOINT_UNAVAILABLE', {
        it: `${what.it}: nessuna risposta utile dopo ${n} tentativi (ultimo: ${last}). Nulla è perso: lo store sa cosa resta da inviare.`,
        en: `${what.en}: no useful answer after ${n} attempts (last: ${last}). Nothing is lost: the store knows what is left to send.`,
      }, {
        suggestions: [opts.resume],
      })
    }
    const backoff = Math.random() * Math.min(policy.capMs, policy.baseMs * 2 ** (n - 1))
    const wait = outcome.afterMs ?? backoff
    opts.onRetry?.(last, wait)
    await policy.sleep(wait)
  }
}

function networkReason(error: unknown): string {
  const e = error as {code?: string; message?: string}
  return e.code ?? e.message ?? say({it: 'errore di rete', en: 'network error'})
}
