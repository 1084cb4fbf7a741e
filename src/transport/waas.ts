import {readFileSync} from 'node:fs'
import {createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import {createServer as createHttpsServer} from 'node:https'
import type {AddressInfo} from 'node:net'
import {Worker} from 'node:worker_threads'

import {UsageError} from '../errors/index.js'
import type {Actor, EsitoUpdate, Store} from '../store/sqlite.js'
import {ESITI} from './push.js'
import type {VoucherVerdict} from './voucher-check.js'
import {readBody, sendProblem} from '../runtime/http-server.js'

/**
 * `casellario serve` (DESIGN §8.1): the ente's WaaS e-service, exactly as INPS's OpenAPI
 * (waas-api-comuni.yaml) describes it. INPS pulls `GET /flussi?since&limit` and posts
 * `POST /esiti`; `GET /status` says whether the store answers. Every call but /status carries a
 * PDND voucher. Flussi are read from the same store `submit --transport waas` queues them in.
 */

export type VoucherCheck = (authorization: string | undefined) => Promise<VoucherVerdict>

export interface WaasServerOptions {
  store: Store
  /**
   * The enti served, by CodiceEnte as the store spells it, each with the check of its own e-service's
   * vouchers: ente X is served under `{base}/X/flussi`, `/esiti`, `/status` (X in any case), and only
   * X's flussi are there.
   */
  enti: ReadonlyMap<string, VoucherCheck>
  /** the one ente also served at `{base}/flussi` … (serve without --enti: the paths of earlier versions) */
  defaultEnte?: string
  /** default /waas/v1, the OpenAPI server URL's path */
  basePath?: string
  port?: number
  host?: string
  tls?: {cert: string; key: string}
  /** requests per minute per client (token client_id) */
  rateLimit?: number
  /** one JSON line per request: method, path, status, ms, client; never a body or personal data */
  log?: (line: string) => void
}

export interface RunningWaasServer {
  url: string
  port: number
  /** stops accepting, finishes requests in flight, records pending deliveries */
  close: () => Promise<void>
}

const STOP_DEADLINE_MS = 10_000
const DELIVERY_WORKER = new URL('./delivery-worker.js', import.meta.url)
const DEFAULT_LIMIT = 10
const MAX_LIMIT = 100
const MAX_BODY = 4 << 20
const OPEN_ENTRIES = Buffer.from('{"elenco_flussi":[')
const CLOSE_ENTRIES = Buffer.from(']}')
/** loopback unless the operator exposes the service on purpose (`serve --host`) */
export const DEFAULT_HOST = '127.0.0.1'
/** ElencoEsiti is {"elenco_esiti": [{…}]}: three levels; anything deeper is not an ElencoEsiti */
const MAX_JSON_DEPTH = 4
/**
 * `{CodiceEnte}.{PS|SINBA}.{AAAAMMGG}.{progressivo}` (DESIGN §6; the OpenAPI's own example has 8
 * digits), at most 50 characters like `IdentificazioneFlusso/@Nome`
 */
// the ente code as earlier versions and imported flussi may have it (any code without dots or spaces)
const ID_FLUSSO = /^[^.\s]{1,32}\.(?:PS|SINBA)\.\d{8}\.\d{1,8}$/
const ID_FLUSSO_MAX = 50
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/

export async function startWaasServer(opts: WaasServerOptions): Promise<RunningWaasServer> {
  const base = (opts.basePath ?? '/waas/v1').replace(/\/+$/, '')
  opts.store.tuneForServing()
  const limiter = new RateLimiter(opts.rateLimit ?? 600)
  // a path names its ente in any case (/waas/v1/h501/flussi); the store's spelling is the key
  const enti = new Map([...opts.enti.keys()].map((code) => [code.toUpperCase(), code]))
  const deliveries = new DeliveryMarks(opts.store.path, opts.store.currentActor())
  const stalls = new LoopStalls()
  const handler = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    // from when the request could have arrived (the loop may have been busy before it was read) to the last byte sent
    const started = process.hrtime.bigint()
    const waited = stalls.current()
    let client = ''
    res.on('close', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6 + waited
      opts.log?.(
        JSON.stringify({at: new Date().toISOString(), method: req.method, path: (req.url ?? '').split('?')[0], status: res.statusCode, ms: Math.round(ms * 10) / 10, waited_ms: Math.round(waited), client}),
      )
    })
    const url = new URL(req.url ?? '/', 'http://serve')
    const route = routeOf(url.pathname, base, enti, opts.defaultEnte)
    if (route?.resource === 'status' && req.method === 'GET') return health(opts.store, res)
    if (!route || route.resource === 'status' || !route.ente) return sendProblem(res, 404, 'Risorsa inesistente')
    const {resource, ente} = route
    if ((resource === 'flussi' && req.method !== 'GET') || (resource === 'esiti' && req.method !== 'POST')) {
      res.setHeader('Allow', resource === 'flussi' ? 'GET' : 'POST')
      return sendProblem(res, 405, 'Metodo non ammesso')
    }
    // the voucher must be one for this ente's e-service: a voucher for another ente is refused here
    const verdict = await opts.enti.get(ente)!(req.headers.authorization)
    if (!verdict.ok) {
      if (verdict.status === 401) res.setHeader('WWW-Authenticate', 'Bearer')
      return sendProblem(res, verdict.status, verdict.status === 401 ? 'Non autorizzato' : 'Accesso negato', verdict.detail)
    }
    client = verdict.clientId
    const quota = limiter.take(`${ente} ${client}`)
    res.setHeader('X-RateLimit-Limit', String(quota.limit))
    res.setHeader('X-RateLimit-Remaining', String(quota.remaining))
    res.setHeader('X-RateLimit-Reset', String(quota.resetS))
    if (!quota.allowed) {
      res.setHeader('Retry-After', String(quota.retryAfterS))
      return sendProblem(res, 429, 'Troppe richieste', `Limite di ${quota.limit} richieste al minuto`)
    }
    if (resource === 'flussi') return await flussi(opts.store, ente, url.searchParams, res, deliveries)
    return esiti(opts.store, ente, req, res, deliveries)
  }
  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    handler(req, res).catch((error: NodeJS.ErrnoException) => {
      // the store failed (busy, disk): INPS retries later; the code goes to the log, never the data
      opts.log?.(JSON.stringify({at: new Date().toISOString(), error: error.code ?? error.name}))
      if (!res.headersSent) unavailable(res)
    })
  }
  const server: Server = opts.tls
    ? createHttpsServer({cert: readFileSync(opts.tls.cert), key: readFileSync(opts.tls.key)}, listener)
    : createHttpServer(listener)
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(error.code === 'EADDRINUSE' ? new UsageError('SERVE_PORT_IN_USE', {it: `La porta ${opts.port} è già in uso: scegline un'altra.`, en: `Port ${opts.port} is already in use: choose another one.`}, {suggestions: ['casellario serve --port 8444']}) : error),
    )
    server.listen(opts.port ?? 8443, opts.host ?? DEFAULT_HOST, () => resolve())
  })
  const {port} = server.address() as AddressInfo
  const host = opts.host && opts.host !== '0.0.0.0' ? opts.host : '127.0.0.1'
  return {
    url: `${opts.tls ? 'https' : 'http'}://${host}:${port}${base}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        // requests in flight finish; a client that holds its connection open is cut after a while
        const deadline = setTimeout(() => server.closeAllConnections(), STOP_DEADLINE_MS)
        server.close(() => {
          clearTimeout(deadline)
          stalls.stop()
          void deliveries.close().then(resolve)
        })
        server.closeIdleConnections()
      }),
  }
}

/**
 * Which ente and resource a path names: `{base}/{CodiceEnte}/flussi|esiti|status` for a served ente,
 * `{base}/flussi|esiti|status` for the default ente (serve without --enti), `{base}/status` always.
 * Undefined: no such resource (404, whether the ente exists or not).
 */
function routeOf(pathname: string, base: string, enti: ReadonlyMap<string, string>, defaultEnte?: string): {resource: 'flussi' | 'esiti' | 'status'; ente?: string} | undefined {
  if (!pathname.startsWith(`${base}/`)) return undefined
  const parts = pathname.slice(base.length + 1).split('/')
  const resource = parts.at(-1)
  if (resource !== 'flussi' && resource !== 'esiti' && resource !== 'status') return undefined
  if (parts.length === 1) return resource === 'status' ? {resource, ente: defaultEnte} : defaultEnte ? {resource, ente: defaultEnte} : undefined
  if (parts.length !== 2) return undefined
  const ente = enti.get(parts[0].toUpperCase())
  return ente ? {resource, ente} : undefined
}

/** `GET /flussi`: the OpenAPI `Entries` of this ente, by strictly increasing ts_flusso after `since`. */
async function flussi(store: Store, ente: string, query: URLSearchParams, res: ServerResponse, deliveries: DeliveryMarks): Promise<void> {
  const since = query.get('since')
  // the spec's own curl example (§3.4.1) says max_entries: the same parameter as the OpenAPI's limit
  const limitText = query.get('limit') ?? query.get('max_entries') ?? String(DEFAULT_LIMIT)
  // the OpenAPI allows up to 1e20: beyond any ts_flusso, simply nothing after it
  if (since === null || !/^\d{1,21}$/.test(since) || Number(since) > 1e20) return sendProblem(res, 400, 'Richiesta non valida', 'since è obbligatorio: millisecondi, intero da 0')
  if (!/^\d{1,3}$/.test(limitText) || Number(limitText) > MAX_LIMIT) return sendProblem(res, 400, 'Richiesta non valida', `limit deve essere un intero da 0 a ${MAX_LIMIT}`)
  const page = Number(limitText) === 0 ? undefined : await store.waasPageAsync(Number(since), Number(limitText), ente)
  // the entries are stored serialised (OpenAPI `Flusso`, UTF-8): the answer is their concatenation
  const entries = page?.entries ?? Buffer.alloc(0)
  res.writeHead(200, {'Content-Type': 'application/json', 'Content-Length': OPEN_ENTRIES.length + entries.length + CLOSE_ENTRIES.length})
  res.cork()
  res.write(OPEN_ENTRIES)
  res.write(entries)
  res.end(CLOSE_ENTRIES)
  if (page && page.count > 0) deliveries.add(page)
}

/**
 * `POST /esiti`: ElencoEsiti, applied idempotently; 204 once every esito is recorded. The body is
 * bounded in size and nesting before it is parsed; an esito for a flusso INPS has not pulled yet
 * refuses the whole request (409) and changes nothing.
 */
async function esiti(store: Store, ente: string, req: IncomingMessage, res: ServerResponse, deliveries: DeliveryMarks): Promise<void> {
  const body = await readBody(req, MAX_BODY)
  if (body === undefined) return sendProblem(res, 413, 'Richiesta troppo grande')
  if (jsonDepthExceeds(body, MAX_JSON_DEPTH)) return sendProblem(res, 400, 'Richiesta non valida', `JSON annidato oltre ${MAX_JSON_DEPTH} livelli`)
  let doc: unknown
  try {
    doc = JSON.parse(body.toString('utf8'))
  } catch {
    return sendProblem(res, 400, 'Richiesta non valida', 'Il corpo non è JSON')
  }
  // the schema does not require the key: {} is an empty list
  const list = (doc as {elenco_esiti?: unknown})?.elenco_esiti ?? []
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc) || Object.keys(doc).some((k) => k !== 'elenco_esiti') || !Array.isArray(list) || list.length > 100) {
    return sendProblem(res, 400, 'Richiesta non valida', 'Atteso {"elenco_esiti": [...]} con al più 100 esiti')
  }
  const updates: EsitoUpdate[] = []
  for (const [i, e] of list.entries()) {
    const wrong = esitoProblem(e)
    if (wrong) return sendProblem(res, 400, 'Richiesta non valida', `elenco_esiti[${i}]: ${wrong}`)
    // the spec's example calls the acquisition code codice_siuss, the OpenAPI id_acquisizione_siuss
    updates.push({idFlusso: e.id_flusso, codiceEsito: e.codice_esito, descrizione: e.descrizione_esito, idAcquisizione: e.id_acquisizione_siuss ?? e.codice_siuss, tsAcquisizione: Date.parse(e.ts_acquisizione)})
  }
  // Still `queued`, yet pulled: INPS names the ts_flusso it was handed (another process answered the
  // page, or its mark is not written yet), or this process answered that page moments ago. An esito
  // naming an earlier offer of a flusso re-offered after ERRORE_GENERICO is a repeat: nothing to do.
  const saidTs = new Map<string, number>(list.map((e: {id_flusso: string; ts_flusso: string}) => [e.id_flusso, Date.parse(e.ts_flusso)]))
  const repeats = new Set<string>()
  // another ente's flussi are not looked at: for this ente they do not exist (recorded as unknown below)
  const notPulled = store.queuedForWaas(updates.map((u) => u.idFlusso), ente).filter((f) => {
    const said = saidTs.get(f.idFlusso)
    if (said === f.tsFlusso || deliveries.covers(ente, f.tsFlusso)) return false
    if (f.reoffered && said !== undefined && said < f.tsFlusso) {
      repeats.add(f.idFlusso)
      return false
    }
    return true
  })
  if (repeats.size > 0) updates.splice(0, updates.length, ...updates.filter((u) => !repeats.has(u.idFlusso)))
  if (notPulled.length > 0) {
    const ids = notPulled.slice(0, 10).map((f) => f.idFlusso)
    return sendProblem(res, 409, 'Conflitto', `Esito per flussi mai prelevati con GET /flussi: ${ids.join(', ')}${notPulled.length > ids.length ? ` e altri ${notPulled.length - ids.length}` : ''}. Nessun esito è stato registrato.`)
  }
  // an esito for a flusso this store never queued for INPS for this ente is recorded (once, for this
  // ente) and acknowledged, or INPS would resend it forever; another ente's flusso is never changed
  const {changed} = store.applyEsiti(updates, {scope: {transport: 'waas', ente}, recordUnknown: true})
  reofferAfterGenericError(store, updates, changed)
  res.writeHead(204)
  res.end()
}

/**
 * True when brackets nest deeper than `max` outside strings: checked on the bytes, before
 * JSON.parse builds anything (a deeply nested body costs the parser's stack and the heap).
 */
export function jsonDepthExceeds(body: Buffer, max: number): boolean {
  let depth = 0
  let inString = false
  for (let i = 0; i < body.length; i++) {
    const c = body[i]
    if (inString) {
      if (c === 0x5c) i++ // backslash: skip the escaped byte
      else if (c === 0x22) inString = false
    } else if (c === 0x22) inString = true
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return true
    } else if (c === 0x7d || c === 0x5d) depth--
  }
  return false
}

function esitoProblem(e: unknown): string | undefined {
  if (typeof e !== 'object' || e === null || Array.isArray(e)) return 'non è un oggetto'
  const x = e as Record<string, unknown>
  for (const k of ['id_flusso', 'tipo', 'ts_flusso', 'ts_acquisizione', 'codice_esito']) if (typeof x[k] !== 'string') return `${k} obbligatorio (stringa)`
  // checked before anything is stored: an unknown id is kept, so it must look like one
  const id = x.id_flusso as string
  if (id.length > ID_FLUSSO_MAX || !ID_FLUSSO.test(id)) return `id_flusso non nel formato CodiceEnte.PS|SINBA.AAAAMMGG.progressivo (al più ${ID_FLUSSO_MAX} caratteri)`
  for (const k of ['ts_flusso', 'ts_acquisizione']) {
    if (!DATE_TIME.test(x[k] as string) || Number.isNaN(Date.parse(x[k] as string))) return `${k} non è una data-ora RFC 3339`
  }
  if (!(ESITI as readonly string[]).includes(x.codice_esito as string)) return `codice_esito non tra ${ESITI.join(', ')}`
  for (const k of ['descrizione_esito', 'id_acquisizione_siuss', 'codice_siuss']) if (x[k] !== undefined && typeof x[k] !== 'string') return `${k} deve essere una stringa`
  return undefined
}

/** How many times a flusso is offered again after ERRORE_GENERICO before it stays rejected. */
export const GENERIC_ERROR_RETRIES = 3

/**
 * ERRORE_GENERICO is INPS's own failure, not a verdict on the data: the flusso goes back to the
 * queue with a new ts_flusso (so INPS's paging by `since` sees it again), a bounded number of
 * times; after that it stays rejected. Only esiti that changed a flusso count: INPS repeating
 * the same esito does not re-offer it twice.
 */
function reofferAfterGenericError(store: Store, updates: EsitoUpdate[], changed: Array<{idFlusso: string}>): void {
  const generic = new Set(updates.filter((u) => u.codiceEsito === 'ERRORE_GENERICO').map((u) => u.idFlusso))
  const ids = changed.map((c) => c.idFlusso).filter((id) => generic.has(id))
  if (ids.length > 0) store.requeueWaas(ids, GENERIC_ERROR_RETRIES)
}

/** `GET /status`: problem+json, 200 when the store answers. */
function health(store: Store, res: ServerResponse): void {
  try {
    // one indexed row, not a count of every flusso: /status must stay instant on a big store
    store.ping()
    sendProblem(res, 200, 'OK', 'Servizio attivo, store raggiungibile')
  } catch {
    unavailable(res, 'Lo store locale non risponde')
  }
}

/** 503 with the Retry-After the OpenAPI pairs with it. */
function unavailable(res: ServerResponse, detail?: string): void {
  res.setHeader('Retry-After', '30')
  sendProblem(res, 503, 'Servizio temporaneamente non disponibile', detail)
}

/**
 * Pages pulled by INPS make their flussi `delivered`, written by a worker thread with its own
 * connection (a pull is a read; the mark is informational and must never stall the answers).
 */
class DeliveryMarks {
  private readonly worker: Worker
  private pending: Array<{since: number; last: number; ente: string}> = []
  private timer: NodeJS.Timeout | undefined
  /** pages handed to INPS recently, whose marks may not be written yet: the ente's (since, last] by when */
  private readonly recent: Array<{since: number; last: number; ente: string; at: number}> = []

  constructor(storePath: string, actor: Actor) {
    this.worker = new Worker(DELIVERY_WORKER, {workerData: {store: storePath, actor}})
    this.worker.unref()
  }

  add(page: {since: number; last: number; ente: string}): void {
    this.pending.push({since: page.since, last: page.last, ente: page.ente})
    this.recent.push({since: page.since, last: page.last, ente: page.ente, at: Date.now()})
    this.timer ??= setTimeout(() => this.send(), 50)
  }

  /** Whether this process handed out the ente's flusso with this ts_flusso recently (its mark may still be on its way). */
  covers(ente: string, tsFlusso: number): boolean {
    // the worker writes a page within seconds (or retries every 2 s while a submit holds the lock)
    const horizon = Date.now() - RECENT_PAGES_MS
    while (this.recent.length > 0 && this.recent[0].at < horizon) this.recent.shift()
    return this.recent.some((p) => p.ente === ente && tsFlusso > p.since && tsFlusso <= p.last)
  }

  /** Hands over what is pending and waits until the worker has written it (graceful stop). */
  async close(): Promise<void> {
    this.send()
    const flushed = new Promise<void>((resolve) => {
      this.worker.once('message', () => resolve())
      this.worker.once('exit', () => resolve())
    })
    this.worker.postMessage({flush: true})
    await flushed
    await this.worker.terminate()
  }

  private send(): void {
    clearTimeout(this.timer)
    this.timer = undefined
    if (this.pending.length === 0) return
    this.worker.postMessage({pages: this.pending})
    this.pending = []
  }
}

const RECENT_PAGES_MS = 60_000

/**
 * How long the event loop has been held up right now: a heartbeat every 10 ms notes the time, and
 * a request read late (after the loop was busy elsewhere) may have waited up to the gap since then.
 * The access log adds it, so a stalled service never logs its requests as instant.
 */
class LoopStalls {
  private last = performance.now()
  private readonly timer = setInterval(() => (this.last = performance.now()), 10).unref()

  current(): number {
    return Math.max(0, performance.now() - this.last - 10)
  }

  stop(): void {
    clearInterval(this.timer)
  }
}

/** Token bucket per client: `limit` requests per minute, refilled continuously. */
class RateLimiter {
  private readonly buckets = new Map<string, {tokens: number; at: number}>()
  constructor(private readonly limit: number) {}

  take(client: string): {allowed: boolean; limit: number; remaining: number; resetS: number; retryAfterS: number} {
    const now = Date.now()
    const perMs = this.limit / 60_000
    const b = this.buckets.get(client) ?? {tokens: this.limit, at: now}
    b.tokens = Math.min(this.limit, b.tokens + (now - b.at) * perMs)
    b.at = now
    const allowed = b.tokens >= 1
    if (allowed) b.tokens -= 1
    this.buckets.set(client, b)
    return {
      allowed,
      limit: this.limit,
      remaining: Math.floor(b.tokens),
      resetS: Math.ceil((this.limit - b.tokens) / perMs / 1000),
      retryAfterS: Math.max(1, Math.ceil((1 - b.tokens) / perMs / 1000)),
    }
  }
}
