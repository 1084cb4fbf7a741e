import {chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync} from 'node:fs'
import {dirname, join, resolve} from 'node:path'

import {UsageError, type Text} from '../errors/index.js'
import {isPostgresLocation, URL_PASSWORD, withoutPassword} from './url.js'

export {withoutPassword} from './url.js'
import {ENTE_FIELDS, type EnteIdentity} from '../flows/ente.js'
import {enteValueProblem} from '../validate/ente.js'

/**
 * Configuration (DESIGN §8.4, §10): one JSON file per profile in the XDG config dir (a Region
 * can keep one profile per ente), every key also an environment variable for scripts, flags
 * over both. Described once, as data. Secrets never live here (DESIGN §7): see src/secrets.
 */

export interface ConfigKey {
  key: string
  env: string
  /** the flag that overrides it, where a command has one */
  flag?: string
  /** what the key is for, Italian and English */
  description: Text
  /** why the value is not acceptable, Italian and English */
  validate?: (value: string) => Text | undefined
}

const enteRule = (field: Parameters<typeof enteValueProblem>[0]) => (value: string) => enteValueProblem(field, value)
const isUrl = (value: string): Text | undefined => (/^https?:\/\/[^\s]+$/.test(value) ? undefined : {it: 'deve essere un URL http(s)://…', en: 'it must be an http(s)://… URL'})
const isUrlOrSandbox = (value: string): Text | undefined => (value === 'sandbox' ? undefined : isUrl(value))
const isUrlOrFile = (value: string): Text | undefined => (/^https?:\/\//.test(value) ? isUrl(value) : undefined)

export const CONFIG_KEYS: readonly ConfigKey[] = [
  {key: 'ente.codice', env: ENTE_FIELDS.codice.env, flag: ENTE_FIELDS.codice.flag, description: {it: "Codice dell'ente (Ente/@Codice)", en: "The ente's code (Ente/@Codice)"}, validate: enteRule(ENTE_FIELDS.codice)},
  {key: 'ente.belfiore', env: ENTE_FIELDS.belfiore.env, flag: ENTE_FIELDS.belfiore.flag, description: {it: "Codice Belfiore del comune sede dell'ente (Ente/@Indirizzo)", en: 'Belfiore code of the comune where the ente has its seat (Ente/@Indirizzo)'}, validate: enteRule(ENTE_FIELDS.belfiore)},
  {key: 'ente.denominazione', env: ENTE_FIELDS.denominazione.env, flag: ENTE_FIELDS.denominazione.flag, description: {it: "Denominazione dell'ente", en: "The ente's name"}, validate: enteRule(ENTE_FIELDS.denominazione)},
  {key: 'ente.cfOperatore', env: ENTE_FIELDS.cfOperatore.env, flag: ENTE_FIELDS.cfOperatore.flag, description: {it: "Codice fiscale dell'operatore che invia", en: "The sending operator's codice fiscale"}, validate: enteRule(ENTE_FIELDS.cfOperatore)},
  {key: 'sign.certificate', env: 'CASELLARIO_P12', flag: 'certificate', description: {it: "PKCS#12 (.p12/.pfx) dell'ente per firmare", en: "The ente's PKCS#12 (.p12/.pfx) for signing"}},
  {key: 'transport', env: 'CASELLARIO_TRANSPORT', flag: 'transport', description: {it: 'Trasporto: waas, push o file', en: 'Transport: waas, push or file'}, validate: (v) => (['waas', 'push', 'file'].includes(v) ? undefined : {it: 'valori ammessi: waas, push, file', en: 'allowed values: waas, push, file'})},
  {key: 'endpoint.url', env: 'CASELLARIO_ENDPOINT', flag: 'endpoint', description: {it: 'URL base del trasporto push, o sandbox', en: 'Base URL of the push transport, or sandbox'}, validate: isUrlOrSandbox},
  {key: 'pdnd.tokenUrl', env: 'CASELLARIO_PDND_TOKEN_URL', description: {it: 'Endpoint dei voucher PDND', en: 'PDND voucher endpoint'}, validate: isUrl},
  {key: 'pdnd.clientId', env: 'CASELLARIO_PDND_CLIENT_ID', description: {it: 'Client id PDND (iss/sub della client assertion)', en: 'PDND client id (iss/sub of the client assertion)'}},
  {key: 'pdnd.kid', env: 'CASELLARIO_PDND_KID', description: {it: 'Id della chiave registrata su PDND', en: 'Id of the key registered on PDND'}},
  {key: 'pdnd.purposeId', env: 'CASELLARIO_PDND_PURPOSE_ID', description: {it: 'Finalità PDND', en: 'PDND purpose'}},
  {key: 'pdnd.audience', env: 'CASELLARIO_PDND_AUDIENCE', description: {it: 'aud della client assertion', en: 'aud of the client assertion'}},
  {key: 'pdnd.key', env: 'CASELLARIO_PDND_KEY', description: {it: 'Chiave privata PEM registrata su PDND', en: 'PEM private key registered on PDND'}},
  {key: 'endpoint.retries', env: 'CASELLARIO_ENDPOINT_RETRIES', description: {it: 'Tentativi per richiesta prima di fermarsi con uscita 3 (predefinito 8)', en: 'Attempts per request before stopping with exit code 3 (default 8)'}, validate: (v) => (/^([1-9]|[1-9]\d)$/.test(v) ? undefined : {it: 'un intero da 1 a 99', en: 'a whole number from 1 to 99'})},
  {key: 'endpoint.timeout', env: 'CASELLARIO_ENDPOINT_TIMEOUT', description: {it: 'Secondi di attesa di una risposta (predefinito 60)', en: 'Seconds to wait for a response (default 60)'}, validate: (v) => (/^\d{1,4}$/.test(v) && Number(v) > 0 ? undefined : {it: 'un intero di secondi', en: 'a whole number of seconds'})},
  {key: 'endpoint.tlsCert', env: 'CASELLARIO_TLS_CERT', description: {it: 'Certificato client PEM per TLS mutuo verso l’endpoint (facoltativo)', en: 'PEM client certificate for mutual TLS with the endpoint (optional)'}},
  {key: 'endpoint.tlsKey', env: 'CASELLARIO_TLS_KEY', description: {it: 'Chiave PEM del certificato client TLS (facoltativa)', en: 'PEM key of the TLS client certificate (optional)'}},
  {key: 'endpoint.ca', env: 'CASELLARIO_TLS_CA', description: {it: 'CA PEM fidate per l’endpoint (un hub regionale con CA propria)', en: 'Trusted PEM CAs for the endpoint (a regional hub with its own CA)'}},
  {key: 'modi.audience', env: 'CASELLARIO_MODI_AUDIENCE', description: {it: 'aud di Agid-JWT-Signature (predefinito: URL dell’endpoint)', en: 'aud of Agid-JWT-Signature (default: the endpoint URL)'}},
  {key: 'serve.jwks', env: 'CASELLARIO_SERVE_JWKS', flag: 'jwks', description: {it: 'JWKS (file o URL) dei voucher PDND accettati da serve', en: 'JWKS (file or URL) of the PDND vouchers that serve accepts'}, validate: isUrlOrFile},
  {key: 'serve.audience', env: 'CASELLARIO_SERVE_AUDIENCE', flag: 'audience', description: {it: 'aud attesa dei voucher', en: 'Expected aud of the vouchers'}},
  {key: 'serve.issuer', env: 'CASELLARIO_SERVE_ISSUER', flag: 'issuer', description: {it: 'iss attesa dei voucher (predefinito interop.pagopa.it)', en: 'Expected iss of the vouchers (default interop.pagopa.it)'}},
  {key: 'serve.purposeId', env: 'CASELLARIO_SERVE_PURPOSE_ID', flag: 'purpose-id', description: {it: 'purposeId accettato nei voucher (facoltativo: INPS)', en: 'purposeId accepted in the vouchers (optional: INPS)'}},
  {key: 'serve.eserviceId', env: 'CASELLARIO_SERVE_ESERVICE_ID', flag: 'eservice-id', description: {it: 'eserviceId di questo e-service su PDND: i voucher per altri e-service sono rifiutati', en: "This e-service's eserviceId on PDND: vouchers for other e-services are refused"}},
  {key: 'serve.enti', env: 'CASELLARIO_SERVE_ENTI', flag: 'enti', description: {it: 'File JSON o YAML degli enti serviti da serve: codice ente → audience, purposeId, eserviceId dei voucher', en: 'JSON or YAML file of the enti that serve serves: ente code → audience, purposeId, eserviceId of the vouchers'}},
  {key: 'serve.basePath', env: 'CASELLARIO_SERVE_BASE_PATH', flag: 'base-path', description: {it: 'Percorso base dell’API (predefinito /waas/v1)', en: "The API's base path (default /waas/v1)"}, validate: (v) => (/^\/[\w\-/.]*$/.test(v) ? undefined : {it: 'un percorso che inizia con /', en: 'a path starting with /'})},
  {key: 'serve.rateLimit', env: 'CASELLARIO_SERVE_RATE_LIMIT', flag: 'rate-limit', description: {it: 'Richieste al minuto per client (predefinito 600)', en: 'Requests per minute per client (default 600)'}, validate: (v) => (/^[1-9]\d{0,6}$/.test(v) ? undefined : {it: 'un intero positivo', en: 'a positive whole number'})},
  {key: 'serve.tlsCert', env: 'CASELLARIO_SERVE_TLS_CERT', flag: 'tls-cert', description: {it: 'Certificato PEM per servire in HTTPS', en: 'PEM certificate for serving over HTTPS'}},
  {key: 'serve.tlsKey', env: 'CASELLARIO_SERVE_TLS_KEY', flag: 'tls-key', description: {it: 'Chiave PEM del certificato HTTPS', en: 'PEM key of the HTTPS certificate'}},
  {key: 'store', env: 'CASELLARIO_STORE', flag: 'store', description: {it: 'Store locale: file SQLite', en: 'Local store: SQLite file'}},
]

export function configKey(key: string): ConfigKey {
  const spec = CONFIG_KEYS.find((k) => k.key === key)
  if (!spec) {
    throw new UsageError('CONFIG_UNKNOWN_KEY', {it: `Chiave di configurazione sconosciuta: ${key}.`, en: `Unknown configuration key: ${key}.`}, {
      suggestions: [{it: `Chiavi: ${CONFIG_KEYS.map((k) => k.key).join(', ')}`, en: `Keys: ${CONFIG_KEYS.map((k) => k.key).join(', ')}`}],
    })
  }
  return spec
}

export function configFile(configDir: string, profile = 'default'): string {
  if (!/^[\w.-]{1,64}$/.test(profile)) {
    throw new UsageError('PROFILE_INVALID', {it: `Nome di profilo non valido: ${profile} (lettere, cifre, . _ -).`, en: `Invalid profile name: ${profile} (letters, digits, . _ -).`})
  }
  return join(configDir, `${profile}.json`)
}

type Stored = Record<string, string>

export function readConfigFile(file: string): Stored {
  if (!existsSync(file)) return {}
  try {
    const doc = JSON.parse(readFileSync(file, 'utf8'))
    return typeof doc === 'object' && doc !== null ? doc : {}
  } catch (error) {
    throw new UsageError('CONFIG_INVALID', {
      it: `Il file di configurazione ${file} non è JSON valido: ${(error as Error).message}`,
      en: `The configuration file ${file} is not valid JSON: ${(error as Error).message}`,
    })
  }
}

/** Writes the profile atomically, 0600 in a 0700 folder. */
export function writeConfigFile(file: string, values: Stored): void {
  mkdirSync(dirname(file), {recursive: true, mode: 0o700})
  const sorted = Object.fromEntries(Object.entries(values).sort(([a], [b]) => a.localeCompare(b)))
  writeFileSync(`${file}.tmp`, `${JSON.stringify(sorted, null, 2)}\n`, {mode: 0o600})
  renameSync(`${file}.tmp`, file)
  chmodSync(file, 0o600)
}

/** Keys that name files: stored absolute, so that cron jobs started elsewhere find them. */
const FILE_KEYS = new Set(['sign.certificate', 'pdnd.key', 'store', 'endpoint.tlsCert', 'endpoint.tlsKey', 'endpoint.ca', 'serve.tlsCert', 'serve.tlsKey'])

/**
 * A store location given with its password (`postgres://u:pw@…`, `password=…`): the location is
 * kept without it — the password goes in PGPASSWORD or ~/.pgpass, as for psql, never in the profile.
 */
export function withoutStorePassword(key: string, value: string): {value: string; passwordDropped: boolean} {
  const trimmed = value.trim()
  if (key !== 'store') return {value, passwordDropped: false}
  let kept = trimmed
  if (/^postgres(ql)?:\/\//i.test(trimmed)) {
    // in the user part or as a query parameter (libpq reads both)
    kept = kept.replace(URL_PASSWORD, '$1@')
    const query = kept.indexOf('?')
    if (query >= 0) {
      const params = kept.slice(query + 1).split('&').filter((p) => !/^password=/i.test(p))
      kept = kept.slice(0, query) + (params.length > 0 ? `?${params.join('&')}` : '')
    }
  } else {
    // key/value settings: only the password's own token goes, every other value stays as written
    kept = kept.replace(/(^|\s+)password\s*=\s*('(?:[^'\\]|\\.)*'|\S+)/g, '').trim()
  }
  if (kept === '') {
    throw new UsageError('CONFIG_VALUE_INVALID', {
      it: 'Valore non valido per store: solo una password, senza la base dati a cui connettersi.',
      en: 'Invalid value for store: only a password, without the database to connect to.',
    })
  }
  return {value: kept, passwordDropped: kept !== trimmed}
}

/** The warning when a store password was left out of the profile. */
export const STORE_PASSWORD_NOT_SAVED: Text = {
  it: 'La password della base dati non è stata salvata nella configurazione (non vi si salvano segreti): mettila in PGPASSWORD (per i servizi, nel file di ambiente) o in ~/.pgpass con permessi 0600, come per psql.',
  en: 'The database password was not saved in the configuration (no secrets are kept there): put it in PGPASSWORD (for services, in the environment file) or in ~/.pgpass with mode 0600, as for psql.',
}

/** Checks a value against its key's rule; throws the reason. */
export function validateConfigValue(key: string, value: string): string {
  const spec = configKey(key)
  const trimmed = value.trim()
  if (URL_PASSWORD.test(trimmed)) {
    throw new UsageError('CONFIG_SECRET_IN_URL', {
      it: `Il valore di ${key} contiene una password (${withoutPassword(trimmed)}): le password non si salvano nella configurazione.`,
      en: `The value of ${key} contains a password (${withoutPassword(trimmed)}): passwords are not stored in the configuration.`,
    }, {
      suggestions:
        key === 'store'
          ? [
              `casellario config set store ${withoutPassword(trimmed).replace(':***@', '@')}`,
              {
                it: 'La password in PGPASSWORD (per i servizi, nel file di ambiente) o in ~/.pgpass (0600), come per psql.',
                en: 'Put the password in PGPASSWORD (for services, in the environment file) or in ~/.pgpass (0600), as for psql.',
              },
            ]
          : [`casellario config set ${key} ${withoutPassword(trimmed).replace(':***@', '@')}`],
    })
  }
  const reason = spec.validate?.(trimmed)
  if (reason) throw new UsageError('CONFIG_VALUE_INVALID', {it: `Valore non valido per ${key}: ${reason.it}.`, en: `Invalid value for ${key}: ${reason.en}.`})
  if (!FILE_KEYS.has(key) || isPostgresLocation(trimmed)) return trimmed
  const path = resolve(trimmed)
  if (key !== 'store' && !existsSync(path)) {
    throw new UsageError('CONFIG_VALUE_INVALID', {it: `Valore non valido per ${key}: il file ${path} non esiste.`, en: `Invalid value for ${key}: the file ${path} does not exist.`})
  }
  return path
}

export interface ResolvedValue {
  key: string
  value?: string
  source: 'flag' | 'env' | 'file' | 'unset'
}

export interface Settings {
  ente: Partial<EnteIdentity>
  store?: string
  /** any key, resolved flag > env > file */
  get: (key: string) => string | undefined
  resolve: (key: string) => ResolvedValue
  file: string
}

export function loadSettings(opts: {configDir: string; profile?: string; env?: NodeJS.ProcessEnv; flags?: Record<string, unknown>}): Settings {
  const env = opts.env ?? process.env
  const file = configFile(opts.configDir, opts.profile)
  // the default profile may be empty (everything from the environment); any other is a name the user chose
  if (opts.profile && opts.profile !== 'default' && !existsSync(file)) throw profileNotFound(opts.configDir, opts.profile)
  const stored = readConfigFile(file)
  const resolve = (key: string): ResolvedValue => {
    const spec = configKey(key)
    const fromFlag = spec.flag ? opts.flags?.[spec.flag] : undefined
    if (typeof fromFlag === 'string' && fromFlag !== '') return {key, value: fromFlag, source: 'flag'}
    if (env[spec.env]) return {key, value: env[spec.env], source: 'env'}
    if (stored[key]) return {key, value: stored[key], source: 'file'}
    return {key, source: 'unset'}
  }
  const get = (key: string): string | undefined => resolve(key).value
  return {
    ente: {codice: get('ente.codice'), belfiore: get('ente.belfiore'), denominazione: get('ente.denominazione'), cfOperatore: get('ente.cfOperatore')},
    store: get('store'),
    get,
    resolve,
    file,
  }
}

function profileNotFound(configDir: string, profile: string): UsageError {
  const known = existsSync(configDir) ? readdirSync(configDir).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)) : []
  const list = known.length > 0 ? known.join(', ') : undefined
  return new UsageError(
    'PROFILE_NOT_FOUND',
    {
      it: `Il profilo "${profile}" non esiste (profili configurati: ${list ?? 'nessuno'}).`,
      en: `The profile "${profile}" does not exist (configured profiles: ${list ?? 'none'}).`,
    },
    {suggestions: [{it: `Crealo con: casellario init --profile ${profile}`, en: `Create it with: casellario init --profile ${profile}`}]},
  )
}
