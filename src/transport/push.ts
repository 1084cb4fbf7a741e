import type {AxiosInstance, AxiosResponse} from 'axios'

import {TransportError, UsageError, type Text} from '../errors/index.js'
import {retryableStatus, withRetries, type RetryPolicy} from './http.js'
import {integrityHeaders, type IntegrityKey} from './modi.js'
import type {VoucherSource} from './pdnd.js'

/**
 * The push transport (DESIGN §8.2): `POST {base}/flussi` with up to 100 entries shaped like the
 * WaaS `Flusso`, `GET {base}/esiti?since&limit`, `GET {base}/status`. Every request carries a
 * PDND voucher; a POST also carries the ModI integrity headers over its exact body.
 */

/** One entry of `elenco_flussi`, as in the WaaS OpenAPI `Flusso` schema. */
export interface FlussoEntry {
  codice_ente: string
  denominazione_ente?: string
  id_flusso: string
  tipo: 'PS_PSA_SINA' | 'SINBA'
  ts_flusso: string
  /** the XML, base64 */
  flusso: string
}

export interface EsitoFlusso {
  id_flusso: string
  tipo?: string
  ts_flusso?: string
  /** date-time in the OpenAPI; milliseconds are accepted too */
  ts_acquisizione: string | number
  codice_esito: 'OK' | 'DATI_NON_TROVATI' | 'RICHIESTA_INVALIDA' | 'ERRORE_GENERICO'
  descrizione_esito?: string
  id_acquisizione_siuss?: string
}

export const MAX_BATCH = 100
export const ESITI = ['OK', 'DATI_NON_TROVATI', 'RICHIESTA_INVALIDA', 'ERRORE_GENERICO'] as const

export type SendOutcome =
  | {kind: 'received'; receipts: Array<{idFlusso: string; stato: 'RICEVUTO' | 'DUPLICATO'}>}
  /** 409: an id_flusso of the batch is already there with different content */
  | {kind: 'conflict'; detail: string}
  /** 400: the endpoint refuses the batch as malformed */
  | {kind: 'invalid'; detail: string}

export interface PushClientOptions {
  baseUrl: string
  http: AxiosInstance
  voucher: VoucherSource
  signer: IntegrityKey
  /** `aud` of Agid-JWT-Signature; the base URL by default */
  audience?: string
  retry: {policy?: RetryPolicy; resume: string; onRetry?: (reason: string, waitMs: number) => void}
}

export class PushClient {
  private readonly base: string

  constructor(private readonly opts: PushClientOptions) {
    this.base = opts.baseUrl.replace(/\/+$/, '')
  }

  async send(entries: FlussoEntry[]): Promise<SendOutcome> {
    if (entries.length === 0 || entries.length > MAX_BATCH) throw new Error(`batch of ${entries.length}`)
    const body = Buffer.from(JSON.stringify({elenco_flussi: entries}))
    const response = await this.request(SENDING, async () => {
      const headers = await integrityHeaders(body, {signer: this.opts.signer, audience: this.opts.audience ?? this.base, contentType: 'application/json'})
      return this.opts.http.post(`${this.base}/flussi`, body, {headers: {...headers, Authorization: `Bearer ${await this.opts.voucher.voucher()}`}})
    })
    if (response.status === 409) return {kind: 'conflict', detail: problemText(response)}
    if (response.status === 400 || response.status === 413 || response.status === 422) return {kind: 'invalid', detail: problemText(response)}
    if (response.status !== 202 && response.status !== 200) throw unexpected(SENDING, response, this.opts.retry.resume)
    const receipts = (response.data as {elenco_ricevute?: unknown})?.elenco_ricevute
    if (!Array.isArray(receipts)) throw unexpected(SENDING, response, this.opts.retry.resume)
    const sent = new Set(entries.map((e) => e.id_flusso))
    return {
      kind: 'received',
      receipts: receipts
        .filter((r): r is {id_flusso: string; stato: 'RICEVUTO' | 'DUPLICATO'} => sent.has(r?.id_flusso) && (r.stato === 'RICEVUTO' || r.stato === 'DUPLICATO'))
        .map((r) => ({idFlusso: r.id_flusso, stato: r.stato})),
    }
  }

  /** One page of esiti after `since` (ms), oldest first. */
  async esiti(since: number, limit: number): Promise<EsitoFlusso[]> {
    const response = await this.request(READING_ESITI, async () =>
      this.opts.http.get(`${this.base}/esiti`, {params: {since, limit}, headers: {Authorization: `Bearer ${await this.opts.voucher.voucher()}`}}),
    )
    if (response.status !== 200) throw unexpected(READING_ESITI, response, this.opts.retry.resume)
    const list = (response.data as {elenco_esiti?: unknown})?.elenco_esiti
    if (!Array.isArray(list)) throw unexpected(READING_ESITI, response, this.opts.retry.resume)
    // an esito with a code this version does not know still moves the cursor (sync records it)
    return list.filter((e): e is EsitoFlusso => typeof e?.id_flusso === 'string' && typeof e.codice_esito === 'string' && esitoTime(e) !== undefined)
  }

  /** Retries what can be retried; one fresh voucher after a 401; 401/403 again is a configuration problem. */
  private async request(what: Text, send: () => Promise<AxiosResponse>): Promise<AxiosResponse> {
    const attempt = (): Promise<AxiosResponse> => withRetries(what, async () => {
      const r = await send()
      return retryableStatus(r) ?? {done: r}
    }, this.opts.retry)
    let response = await attempt()
    if (response.status === 401) {
      // the voucher may have been revoked or the clocks disagree: one new voucher, a fresh set of attempts
      this.opts.voucher.forget()
      response = await attempt()
    }
    if (response.status === 401 || response.status === 403) {
      throw new UsageError('ENDPOINT_AUTH_REFUSED', {
        it: `${what.it}: l'endpoint rifiuta le credenziali (HTTP ${response.status}: ${problemText(response)}).`,
        en: `${what.en}: the endpoint refuses the credentials (HTTP ${response.status}: ${problemText(response)}).`,
      }, {
        suggestions: [
          {it: 'Controlla la configurazione PDND e il certificato (casellario config list).', en: 'Check the PDND configuration and the certificate (casellario config list).'},
          {it: 'Controlla che modi.audience sia quello atteso dall’endpoint.', en: 'Check that modi.audience is the one the endpoint expects.'},
        ],
      })
    }
    return response
  }
}

/** ts_acquisizione in milliseconds. */
export function esitoTime(e: Pick<EsitoFlusso, 'ts_acquisizione'>): number | undefined {
  if (typeof e.ts_acquisizione === 'number') return Number.isFinite(e.ts_acquisizione) ? e.ts_acquisizione : undefined
  if (/^\d+$/.test(e.ts_acquisizione)) return Number(e.ts_acquisizione)
  const t = Date.parse(e.ts_acquisizione)
  return Number.isNaN(t) ? undefined : t
}

/** An RFC 7807 problem's title and detail (what the endpoint says, never our data). */
function problemText(response: AxiosResponse): string {
  const p = response.data as {title?: unknown; detail?: unknown} | undefined
  const parts = [p?.title, p?.detail].filter((x): x is string => typeof x === 'string' && x !== '')
  return parts.length > 0 ? parts.join(' — ').slice(0, 500) : `HTTP ${response.status}`
}

const SENDING: Text = {it: 'Invio dei flussi', en: 'Sending the flussi'}
const READING_ESITI: Text = {it: 'Lettura degli esiti', en: 'Reading the esiti'}

function unexpected(what: Text, response: AxiosResponse, resume: string): TransportError {
  return new TransportError('ENDPOINT_UNEXPECTED', {
    it: `${what.it}: risposta inattesa dall'endpoint (HTTP ${response.status}: ${problemText(response)}).`,
    en: `${what.en}: unexpected answer from the endpoint (HTTP ${response.status}: ${problemText(response)}).`,
  }, {suggestions: [resume]})
}
