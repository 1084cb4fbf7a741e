import {spawn} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {chmodSync, closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync} from 'node:fs'
import {createRequire} from 'node:module'
import {basename, dirname, join} from 'node:path'

import {UsageError, type Text} from '../errors/index.js'
import {say} from '../i18n/messages.js'

/**
 * Secrets (passphrases) for the signing certificate and the PDND key (DESIGN §7, §8.4).
 *
 * Lookup is an ordered chain: environment variable → OS keychain → opt-in secrets file.
 * - The environment wins so that scripts and servers can always override, with nothing stored.
 * - The keychain (service `casellario`, account `${profile}:${name}`) is the normal home on a desktop.
 * - The file is only used when the caller passes its path, i.e. when the user explicitly asked
 *   for it (`--secrets-file`): it is a plain-text secret on disk, so never a silent default.
 *
 * No function ever puts a secret value in an error message, a log line or stdout.
 */

export interface SecretSpec {
  /** environment variable that overrides everything else (for scripts and servers) */
  env: string
  /** what the secret unlocks, for messages (Italian with its article, English) */
  label: Text
}

/** The secrets the product knows. Add a row here to add a secret; nothing else needs to change. */
export const SECRETS = {
  'p12-passphrase': {env: 'CASELLARIO_P12_PASSPHRASE', label: {it: 'la passphrase del certificato PKCS#12 (sign.certificate)', en: 'the passphrase of the PKCS#12 certificate (sign.certificate)'}},
  'pdnd-key-passphrase': {env: 'CASELLARIO_PDND_KEY_PASSPHRASE', label: {it: 'la passphrase della chiave privata PDND (pdnd.key)', en: 'the passphrase of the PDND private key (pdnd.key)'}},
} as const satisfies Record<string, SecretSpec>

export type SecretName = keyof typeof SECRETS
export const SECRET_NAMES = Object.keys(SECRETS) as SecretName[]
export type SecretSource = 'env' | 'keychain' | 'file'

export const KEYCHAIN_SERVICE = 'casellario'
/** Suggested location for the opt-in secrets file, next to the profiles' config files. */
export function defaultSecretsFile(configDir: string): string {
  return join(configDir, 'secrets.json')
}

export function isSecretName(name: string): name is SecretName {
  return Object.hasOwn(SECRETS, name)
}

export interface SecretOptions {
  profile: string
  /** path of the opt-in 0600 secrets file; undefined means "never touch a file" */
  fileFallback?: string
  /** for tests; defaults to process.env */
  env?: NodeJS.ProcessEnv
  /** for tests; defaults to the OS keychain */
  keychain?: Keychain
}

// ---------------------------------------------------------------------------------------------
// The keychain, behind a tiny interface

/**
 * The OS keychain. Any rejection means "unavailable": callers fall back, they never retry.
 * Implementations must not put the value in their errors.
 */
export interface Keychain {
  get(account: string): Promise<string | null>
  set(account: string, value: string): Promise<void>
  /** true when something was deleted */
  delete(account: string): Promise<boolean>
  /** resolves when the keychain answers; rejects (with the reason as message) when it does not */
  probe(): Promise<void>
}

/**
 * Code run by the keychain child process (plain CommonJS, so it needs no loader): reads one JSON
 * request on stdin, answers one JSON reply on stdout. The value travels only through the pipes,
 * never through argv (visible in `ps`) or the environment.
 *
 * On Linux the Secret Service store is forced: the binding's default would silently fall back to
 * the kernel keyring, which forgets everything at logout/reboot — worse than saying "unavailable".
 */
const CHILD_SOURCE = `
const {AsyncEntry} = require(process.argv[1])
let input = ''
process.stdin.setEncoding('utf8')
process.stdin.on('data', (chunk) => { input += chunk })
process.stdin.on('end', async () => {
  let req = {}
  const reply = (r) => process.stdout.write(JSON.stringify(r))
  try {
    req = JSON.parse(input)
    const entry = new AsyncEntry(req.service, req.account, {linux: {store: 'secret-service'}})
    if (req.op === 'get') reply({ok: true, value: await entry.getPassword()})
    else if (req.op === 'set') { await entry.setPassword(req.value); reply({ok: true}) }
    else if (req.op === 'delete') reply({ok: true, value: await entry.deletePassword()})
    else reply({ok: false, error: 'unknown op'})
  } catch (error) {
    let message = String((error && error.message) || error)
    if (req.value) message = message.split(req.value).join('***')
    reply({ok: false, error: message})
  }
})
`

/**
 * The real keychain through `@napi-rs/keyring`, one short-lived child process per operation.
 *
 * Why a child process: when the D-Bus socket accepts but never answers (stale session, hung
 * daemon) the native call blocks forever, ignores its AbortSignal, and keeps the process alive —
 * even `process.exit()` and `worker.terminate()` hang. A child can be killed, so a timeout is a
 * real timeout. It costs ~50 ms per operation, paid only when no environment variable is set.
 */
export class OsKeychain implements Keychain {
  /** once the keychain failed in this process, the next operations fail at once */
  private unavailable?: string

  constructor(
    private readonly options: {service?: string; timeoutMs?: number; probeTimeoutMs?: number; env?: NodeJS.ProcessEnv} = {},
  ) {}

  async get(account: string): Promise<string | null> {
    const value = await this.run({op: 'get', account})
    return typeof value === 'string' ? value : null
  }

  async set(account: string, value: string): Promise<void> {
    await this.run({op: 'set', account, value})
  }

  async delete(account: string): Promise<boolean> {
    return (await this.run({op: 'delete', account})) === true
  }

  async probe(): Promise<void> {
    // reading an entry that does not exist touches the store without changing it
    await this.run({op: 'get', account: '__probe__'}, this.options.probeTimeoutMs ?? 1200)
  }

  private async run(request: {op: string; account: string; value?: string}, timeoutMs = this.options.timeoutMs ?? 10_000): Promise<unknown> {
    if (this.unavailable !== undefined) throw new Error(this.unavailable)
    try {
      return await this.spawnChild(request, timeoutMs)
    } catch (error) {
      this.unavailable = (error as Error).message
      throw error
    }
  }

  private spawnChild(request: {op: string; account: string; value?: string}, timeoutMs: number): Promise<unknown> {
    const env = this.options.env ?? process.env
    let bindingPath: string
    try {
      bindingPath = createRequire(import.meta.url).resolve('@napi-rs/keyring')
    } catch {
      return Promise.reject(new Error(say({it: 'modulo @napi-rs/keyring non installato', en: 'the @napi-rs/keyring module is not installed'})))
    }
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['-e', CHILD_SOURCE, bindingPath], {
        env,
        stdio: ['pipe', 'pipe', 'ignore'],
        windowsHide: true,
      })
      let stdout = ''
      let settled = false
      const finish = (fn: () => void): void => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        fn()
      }
      const timer = setTimeout(() => {
        child.kill('SIGKILL')
        finish(() => reject(new Error(say({it: `il servizio del portachiavi non ha risposto entro ${timeoutMs} ms`, en: `the keychain service did not answer within ${timeoutMs} ms`}))))
      }, timeoutMs)
      child.stdout.setEncoding('utf8')
      child.stdout.on('data', (chunk: string) => (stdout += chunk))
      child.on('error', (error) => finish(() => reject(new Error(say({it: `impossibile avviare il processo del portachiavi: ${error.message}`, en: `cannot start the keychain process: ${error.message}`})))))
      child.on('close', () =>
        finish(() => {
          let reply: {ok?: boolean; value?: unknown; error?: string}
          try {
            reply = JSON.parse(stdout)
          } catch {
            // stdout is only parsed, never quoted in the error: it is the channel that carries values
            return reject(new Error(say({it: 'il processo del portachiavi è terminato senza risposta', en: 'the keychain process ended without an answer'})))
          }
          if (reply.ok) resolve(reply.value)
          else reject(new Error(explainKeychainError(reply.error ?? say({it: 'errore sconosciuto', en: 'unknown error'}), env)))
        }),
      )
      // EPIPE if the child died before reading: the 'close' handler reports it
      child.stdin.on('error', () => {})
      child.stdin.end(JSON.stringify({...request, service: this.options.service ?? KEYCHAIN_SERVICE}))
    })
  }
}

/** Turns the binding's message into a short reason a user can act on; unknown cases keep the original. */
function explainKeychainError(message: string, env: NodeJS.ProcessEnv): string {
  if (process.platform === 'linux' && !env.DBUS_SESSION_BUS_ADDRESS) return say({it: 'nessuna sessione D-Bus: DBUS_SESSION_BUS_ADDRESS non è impostata', en: 'no D-Bus session: DBUS_SESSION_BUS_ADDRESS is not set'})
  if (/org\.freedesktop\.secrets/.test(message)) return say({it: 'nessun Secret Service (es. gnome-keyring) nella sessione D-Bus', en: 'no Secret Service (e.g. gnome-keyring) in the D-Bus session'})
  return message
}

let defaultKeychain: Keychain | undefined
function keychainOf(opts: {keychain?: Keychain}): Keychain {
  return opts.keychain ?? (defaultKeychain ??= new OsKeychain())
}

/** `{available:false, reason}` when the keychain cannot be used; answers within ~1.2 s whatever happens. */
export async function keychainStatus(opts: {keychain?: Keychain} = {}): Promise<{available: boolean; reason?: string}> {
  try {
    await keychainOf(opts).probe()
    return {available: true}
  } catch (error) {
    return {available: false, reason: reasonOf(error)}
  }
}

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

// ---------------------------------------------------------------------------------------------
// The opt-in secrets file: JSON {"version":1,"secrets":{"<profile>:<name>": "<value>"}}, 0600

interface SecretsFile {
  version: 1
  secrets: Record<string, string>
}

function readSecretsFile(path: string): SecretsFile {
  if (!existsSync(path)) return {version: 1, secrets: {}}
  // like ssh with its keys: a secret others can read is refused, not used
  const mode = statSync(path).mode & 0o777
  if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
    throw new UsageError(
      'SECRETS_FILE_PERMISSIONS',
      {
        it: `Il file dei segreti ${path} è accessibile ad altri utenti (permessi ${mode.toString(8).padStart(3, '0')}): per sicurezza non viene usato.`,
        en: `The secrets file ${path} is accessible to other users (mode ${mode.toString(8).padStart(3, '0')}): for safety it is not used.`,
      },
      {suggestions: [`chmod 600 ${path}`]},
    )
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'))
  } catch {
    // JSON.parse's message quotes the file's text, i.e. possibly a secret: say only where
    throw new UsageError('SECRETS_FILE_INVALID', {it: `Il file dei segreti ${path} non è JSON valido.`, en: `The secrets file ${path} is not valid JSON.`}, {
      suggestions: [{
        it: `Elimina ${path} e salva di nuovo i segreti con casellario login --secrets-file ${path}`,
        en: `Delete ${path} and save the secrets again with casellario login --secrets-file ${path}`,
      }],
    })
  }
  const secrets = (parsed as {secrets?: unknown} | null)?.secrets
  if (typeof secrets !== 'object' || secrets === null || Object.values(secrets).some((v) => typeof v !== 'string')) {
    throw new UsageError('SECRETS_FILE_INVALID', {
      it: `Il file dei segreti ${path} non ha il formato atteso ({"version":1,"secrets":{…}}).`,
      en: `The secrets file ${path} does not have the expected format ({"version":1,"secrets":{…}}).`,
    }, {
      suggestions: [{
        it: `Elimina ${path} e salva di nuovo i segreti con casellario login --secrets-file ${path}`,
        en: `Delete ${path} and save the secrets again with casellario login --secrets-file ${path}`,
      }],
    })
  }
  return {version: 1, secrets: {...(secrets as Record<string, string>)}}
}

/** Written to a temporary file created 0600 in the same folder, then renamed: never half a file, never readable by others. */
function writeSecretsFile(path: string, content: SecretsFile): void {
  const dir = dirname(path)
  // only a folder we create is set to 0700: tightening a folder the user chose (e.g. $HOME) is not ours to do
  if (mkdirSync(dir, {recursive: true, mode: 0o700}) !== undefined) chmodSync(dir, 0o700)
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`)
  const fd = openSync(tmp, 'wx', 0o600)
  try {
    writeSync(fd, JSON.stringify(content, null, 2) + '\n')
    fsyncSync(fd)
  } catch (error) {
    closeSync(fd)
    unlinkSync(tmp)
    throw error
  }
  closeSync(fd)
  // exactly 0600 whatever the umask (a strict one could have left 0400, which a later rewrite trips on)
  chmodSync(tmp, 0o600)
  renameSync(tmp, path)
}

// ---------------------------------------------------------------------------------------------
// The chain

function specOf(name: string): SecretSpec {
  if (!isSecretName(name)) {
    throw new UsageError('SECRET_UNKNOWN', {it: `Segreto sconosciuto: «${name}».`, en: `Unknown secret: "${name}".`}, {
      suggestions: [{it: `Segreti disponibili: ${SECRET_NAMES.join(', ')}`, en: `Available secrets: ${SECRET_NAMES.join(', ')}`}],
    })
  }
  return SECRETS[name]
}

function accountOf(name: string, profile: string): string {
  return `${profile}:${name}`
}

function profileFlagOf(profile: string): string {
  return profile === 'default' ? '' : ` --profile ${profile}`
}

interface Lookup {
  value?: string
  source?: SecretSource
  /** set when the keychain could not be asked */
  keychainUnavailable?: string
}

async function lookup(name: SecretName, opts: SecretOptions): Promise<Lookup> {
  const spec = specOf(name)
  const env = opts.env ?? process.env
  // an empty variable counts as unset, as for the other CASELLARIO_* settings
  const fromEnv = env[spec.env]
  if (fromEnv) return {value: fromEnv, source: 'env'}

  let keychainUnavailable: string | undefined
  try {
    const fromKeychain = await keychainOf(opts).get(accountOf(name, opts.profile))
    if (fromKeychain !== null) return {value: fromKeychain, source: 'keychain'}
  } catch (error) {
    keychainUnavailable = reasonOf(error)
  }

  if (opts.fileFallback !== undefined) {
    const fromFile = readSecretsFile(opts.fileFallback).secrets[accountOf(name, opts.profile)]
    if (fromFile !== undefined) return {value: fromFile, source: 'file', keychainUnavailable}
  }
  return {keychainUnavailable}
}

/**
 * The secret from the first place that has it: environment, keychain, then the opt-in file.
 * Throws `SECRET_MISSING` naming the environment variable, and saying so when the keychain is unavailable.
 */
export async function getSecret(name: SecretName, opts: SecretOptions): Promise<{value: string; source: SecretSource}> {
  const found = await lookup(name, opts)
  if (found.value !== undefined && found.source !== undefined) return {value: found.value, source: found.source}

  const spec = specOf(name)
  const places: Text[] = [{it: `nella variabile d'ambiente ${spec.env}`, en: `in the environment variable ${spec.env}`}]
  if (found.keychainUnavailable === undefined) places.push({it: 'nel portachiavi del sistema', en: "in the system's keychain"})
  if (opts.fileFallback !== undefined) places.push({it: `nel file dei segreti ${opts.fileFallback}`, en: `in the secrets file ${opts.fileFallback}`})
  const message: Text = {
    it: `Manca ${spec.label.it}, segreto «${name}» del profilo «${opts.profile}»: non è ${places.map((p) => p.it).join(', né ')}.`,
    en: `${upperFirst(spec.label.en)} is missing (secret "${name}" of profile "${opts.profile}"): it is not ${places.map((p) => p.en).join(', nor ')}.`,
  }
  const suggestions: Array<string | Text> = []
  if (found.keychainUnavailable === undefined) {
    suggestions.push(`casellario login${profileFlagOf(opts.profile)}`, `export ${spec.env}=…`)
  } else {
    message.it +=
      ` Il portachiavi del sistema non è disponibile (${found.keychainUnavailable}):` +
      ` su un server senza portachiavi imposta la variabile d'ambiente ${spec.env}.`
    message.en +=
      ` The system's keychain is not available (${found.keychainUnavailable}):` +
      ` on a server without a keychain set the environment variable ${spec.env}.`
    suggestions.push(`export ${spec.env}=…`, {
      it: `casellario login${profileFlagOf(opts.profile)} --secrets-file PERCORSO (file 0600, solo se accetti di tenere il segreto su disco)`,
      en: `casellario login${profileFlagOf(opts.profile)} --secrets-file PATH (a 0600 file, only if you accept keeping the secret on disk)`,
    })
  }
  throw new UsageError('SECRET_MISSING', message, {suggestions})
}

function upperFirst(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1)
}

/** Whether the secret is set and where, never its value (for `config list`). */
export async function secretStatus(name: SecretName, opts: SecretOptions): Promise<{set: boolean; source?: SecretSource}> {
  const found = await lookup(name, opts)
  return found.source === undefined ? {set: false} : {set: true, source: found.source}
}

function keychainUnavailableError(action: 'save' | 'delete', spec: SecretSpec, reason: string, profile: string): UsageError {
  return new UsageError(
    'KEYCHAIN_UNAVAILABLE',
    {
      it:
        `Impossibile ${action === 'save' ? 'salvare' : 'eliminare'} ${spec.label.it}: il portachiavi del sistema non è disponibile (${reason}).` +
        ` Su un server senza portachiavi imposta la variabile d'ambiente ${spec.env},` +
        ' oppure consenti esplicitamente un file di segreti protetto (permessi 0600) con --secrets-file.',
      en:
        `Cannot ${action} ${spec.label.en}: the system's keychain is not available (${reason}).` +
        ` On a server without a keychain set the environment variable ${spec.env},` +
        ' or explicitly allow a protected secrets file (mode 0600) with --secrets-file.',
    },
    {
      suggestions: [`export ${spec.env}=…`, `casellario login${profileFlagOf(profile)} --secrets-file PERCORSO`],
    },
  )
}

/**
 * Stores the secret in the keychain; when the keychain is unavailable, in the opt-in file if the
 * caller passed one. Returns where it went.
 */
export async function setSecret(name: SecretName, value: string, opts: SecretOptions): Promise<{source: 'keychain' | 'file'}> {
  const spec = specOf(name)
  const account = accountOf(name, opts.profile)
  try {
    await keychainOf(opts).set(account, value)
    return {source: 'keychain'}
  } catch (error) {
    if (opts.fileFallback === undefined) throw keychainUnavailableError('save', spec, redact(reasonOf(error), value), opts.profile)
  }
  const file = readSecretsFile(opts.fileFallback)
  file.secrets[account] = value
  writeSecretsFile(opts.fileFallback, file)
  return {source: 'file'}
}

/**
 * Removes the secret from the keychain and, when given, from the opt-in file. Returns where it was
 * removed from (empty: it was nowhere). An environment variable cannot be removed from here.
 */
export async function deleteSecret(name: SecretName, opts: SecretOptions): Promise<{removed: Array<'keychain' | 'file'>}> {
  const spec = specOf(name)
  const account = accountOf(name, opts.profile)
  const removed: Array<'keychain' | 'file'> = []
  let keychainUnavailable: string | undefined
  try {
    if (await keychainOf(opts).delete(account)) removed.push('keychain')
  } catch (error) {
    keychainUnavailable = reasonOf(error)
  }
  if (opts.fileFallback !== undefined) {
    const file = readSecretsFile(opts.fileFallback)
    if (Object.hasOwn(file.secrets, account)) {
      delete file.secrets[account]
      writeSecretsFile(opts.fileFallback, file)
      removed.push('file')
    }
  } else if (keychainUnavailable !== undefined) {
    // nothing we could look at: "removed nothing" would wrongly suggest the secret is gone
    throw keychainUnavailableError('delete', spec, keychainUnavailable, opts.profile)
  }
  return {removed}
}

/** Belt and braces: a platform message must never carry the value we just tried to store. */
function redact(message: string, value: string): string {
  return value === '' ? message : message.split(value).join('***')
}
