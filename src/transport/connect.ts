import {createPrivateKey, type KeyObject} from 'node:crypto'
import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'

import {validateConfigValue, type Settings} from '../config/index.js'
import {UsageError} from '../errors/index.js'
import {loadSandboxIdentity, sandboxDir} from '../sandbox/identity.js'
import {startSandbox, type RunningSandbox} from '../sandbox/server.js'
import {defaultSecretsFile, getSecret} from '../secrets/index.js'
import {openSigner} from '../sign/index.js'
import {loadPkcs12} from '../sign/pkcs12.js'
import {createHttpClient, DEFAULT_RETRY, endpointName, type RetryPolicy} from './http.js'
import type {IntegrityKey} from './modi.js'
import {VoucherSource, type PdndSettings} from './pdnd.js'
import {PushClient} from './push.js'

/**
 * A push client for the configured endpoint (DESIGN §8.4 keys, each also a CASELLARIO_* variable),
 * or for the embedded sandbox, started in this process with throwaway credentials.
 */

export interface PushConnection {
  client: PushClient
  /** how the store names this endpoint (cursor of esiti, submissions) */
  endpoint: string
  /** the embedded sandbox, when endpoint is `sandbox` */
  sandbox?: RunningSandbox
  close: () => Promise<void>
}

export interface ConnectOptions {
  settings: Settings
  endpoint?: string
  dataDir: string
  configDir: string
  profile: string
  retry: {policy?: RetryPolicy; resume: string; onRetry?: (reason: string, waitMs: number) => void}
}

export async function connectPush(opts: ConnectOptions): Promise<PushConnection> {
  const endpoint = opts.endpoint ?? opts.settings.get('endpoint.url')
  if (!endpoint) {
    throw new UsageError('ENDPOINT_NOT_CONFIGURED', {it: 'Nessun endpoint configurato per il trasporto push.', en: 'No endpoint is configured for the push transport.'}, {
      suggestions: [
        {it: 'casellario submit FILE --endpoint sandbox   (per provare)', en: 'casellario submit FILE --endpoint sandbox   (to try things out)'},
        'casellario config set endpoint.url https://…',
        'export CASELLARIO_ENDPOINT=https://…',
      ],
    })
  }
  const policy = {...DEFAULT_RETRY, ...opts.retry.policy}
  const retries = settingNumber(opts.settings, 'endpoint.retries')
  if (retries) policy.attempts = retries
  opts = {...opts, retry: {...opts.retry, policy}}
  if (endpoint === 'sandbox') return connectSandbox(opts)
  const timeout = settingNumber(opts.settings, 'endpoint.timeout')
  const http = createHttpClient({timeoutMs: timeout ? timeout * 1000 : undefined, tls: {cert: opts.settings.get('endpoint.tlsCert'), key: opts.settings.get('endpoint.tlsKey'), ca: opts.settings.get('endpoint.ca')}})
  const pdnd = await pdndSettings(opts)
  const signer = await openSigner({certificate: opts.settings.get('sign.certificate'), profile: opts.profile, configDir: opts.configDir})
  const integrity: IntegrityKey = {key: signer.contents.privateKey, certificates: [signer.contents.certificate.der, ...signer.contents.chain]}
  const client = new PushClient({
    baseUrl: endpoint,
    http,
    voucher: new VoucherSource(pdnd, http, opts.retry),
    signer: integrity,
    audience: opts.settings.get('modi.audience'),
    retry: opts.retry,
  })
  return {client, endpoint: endpointName(endpoint), close: async () => {}}
}

/** The embedded sandbox: its state in the data folder, so a later `sync --endpoint sandbox` finds the esiti. */
async function connectSandbox(opts: ConnectOptions): Promise<PushConnection> {
  const identity = loadSandboxIdentity(sandboxDir(opts.dataDir))
  const sandbox = await startSandbox({identity, statePath: join(identity.dir, 'state.db')})
  const http = createHttpClient({direct: true})
  const c = identity.client
  const client = new PushClient({
    baseUrl: sandbox.url,
    http,
    voucher: new VoucherSource({tokenUrl: `${sandbox.url}/token.oauth2`, clientId: c.clientId, kid: c.kid, purposeId: c.purposeId, audience: c.assertionAudience, key: c.key}, http, opts.retry),
    signer: {key: identity.ente.key, certificates: [identity.ente.certificate]},
    retry: opts.retry,
  })
  return {client, endpoint: 'sandbox', sandbox, close: () => sandbox.close()}
}

/** A numeric setting, checked like `config set` checks it even when it comes from the environment. */
function settingNumber(settings: Settings, key: string): number | undefined {
  const value = settings.get(key)
  if (value === undefined) return undefined
  validateConfigValue(key, value)
  return Number(value)
}

const PDND_KEYS = [
  ['pdnd.tokenUrl', 'tokenUrl'],
  ['pdnd.clientId', 'clientId'],
  ['pdnd.kid', 'kid'],
  ['pdnd.purposeId', 'purposeId'],
  ['pdnd.audience', 'audience'],
  ['pdnd.key', 'key'],
] as const

async function pdndSettings(opts: ConnectOptions): Promise<PdndSettings> {
  const values: Record<string, string> = {}
  const missing: string[] = []
  for (const [key, name] of PDND_KEYS) {
    const value = opts.settings.get(key)
    if (value) values[name] = value
    else missing.push(key)
  }
  if (missing.length > 0) {
    throw new UsageError('PDND_NOT_CONFIGURED', {it: `Configurazione PDND incompleta: mancano ${missing.join(', ')}.`, en: `The PDND configuration is incomplete: ${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} missing.`}, {
      suggestions: [
        ...missing.map((k) => `casellario config set ${k} …`),
        {it: 'Negli script: le variabili CASELLARIO_PDND_* (casellario config list le elenca).', en: 'In scripts: the CASELLARIO_PDND_* variables (casellario config list lists them).'},
      ],
    })
  }
  return {...(values as Omit<PdndSettings, 'key'>), key: await loadPdndKey(values.key, opts)}
}

/** The PDND client key: a PEM (encrypted or not) or a PKCS#12; its passphrase from the secrets chain. */
async function loadPdndKey(file: string, opts: ConnectOptions): Promise<KeyObject> {
  if (!existsSync(file)) throw new UsageError('PDND_KEY_NOT_FOUND', {it: `La chiave PDND ${file} non esiste.`, en: `The PDND key ${file} does not exist.`}, {
      suggestions: ['casellario config set pdnd.key /percorso/chiave.pem'],
    })
  const secrets = defaultSecretsFile(opts.configDir)
  const passphrase = async (): Promise<string> =>
    (await getSecret('pdnd-key-passphrase', {profile: opts.profile, fileFallback: existsSync(secrets) ? secrets : undefined})).value
  if (/\.(p12|pfx)$/i.test(file)) return loadPkcs12(file, await passphrase()).privateKey
  const pem = readFileSync(file, 'utf8')
  try {
    return /ENCRYPTED/.test(pem) ? createPrivateKey({key: pem, passphrase: await passphrase()}) : createPrivateKey(pem)
  } catch (error) {
    if (error instanceof UsageError) throw error
    throw new UsageError('PDND_KEY_UNREADABLE', {
      it: `La chiave PDND ${file} non si può leggere (PEM non valido o passphrase errata).`,
      en: `The PDND key ${file} cannot be read (invalid PEM or wrong passphrase).`,
    }, {
      suggestions: [{it: 'Controlla il file o la passphrase (CASELLARIO_PDND_KEY_PASSPHRASE, casellario login).', en: 'Check the file or the passphrase (CASELLARIO_PDND_KEY_PASSPHRASE, casellario login).'}],
    })
  }
}
