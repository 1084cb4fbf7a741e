import assert from 'node:assert/strict'
import {execFile, execFileSync} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {createServer, type Server, type Socket} from 'node:net'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath, pathToFileURL} from 'node:url'

import {CasellarioError, ExitCode} from '../src/errors/index.js'
import {
  deleteSecret,
  getSecret,
  type Keychain,
  keychainStatus,
  OsKeychain,
  secretStatus,
  setSecret,
} from '../src/secrets/index.js'

const here = dirname(fileURLToPath(import.meta.url))
const secretsModule = pathToFileURL(join(here, '..', 'src', 'secrets', 'index.ts')).href
const sessionScript = join(here, 'support', 'keyring-session.sh')

/** In-memory keychain that records who asked: the chain logic, without any OS store. */
class MemoryKeychain implements Keychain {
  readonly store = new Map<string, string>()
  calls = 0
  async get(account: string) {
    this.calls++
    return this.store.get(account) ?? null
  }
  async set(account: string, value: string) {
    this.calls++
    this.store.set(account, value)
  }
  async delete(account: string) {
    this.calls++
    return this.store.delete(account)
  }
  async probe() {}
}

/** A keychain that is not there, as on a headless server. */
class AbsentKeychain implements Keychain {
  private fail(): never {
    throw new Error('nessuna sessione D-Bus (test)')
  }
  async get(): Promise<string | null> {
    this.fail()
  }
  async set(): Promise<void> {
    this.fail()
  }
  async delete(): Promise<boolean> {
    this.fail()
  }
  async probe(): Promise<void> {
    this.fail()
  }
}

const SECRET = 'Sup3r-segreta!'
const noEnv = {} as NodeJS.ProcessEnv

async function rejection(promise: Promise<unknown>): Promise<CasellarioError> {
  try {
    await promise
  } catch (error) {
    assert.ok(error instanceof CasellarioError, `expected a CasellarioError, got ${String(error)}`)
    return error
  }
  assert.fail('expected a rejection')
}

/** Nothing about a failure may carry the value: message, suggestions, cause. */
function assertNoSecret(error: CasellarioError, value = SECRET) {
  const text = JSON.stringify({m: error.message, s: error.suggestions, c: String(error.cause ?? '')})
  assert.ok(!text.includes(value), 'the secret value leaked into the error')
}

function hasCommand(name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], {stdio: 'ignore'})
    return true
  } catch {
    return false
  }
}

describe('secrets', () => {
  let dir: string
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'casellario-secrets-'))
  })
  afterEach(() => rmSync(dir, {recursive: true, force: true}))

  describe('the chain (env → keychain → opt-in file)', () => {
    it('the environment variable wins, without even asking the keychain', async () => {
      const keychain = new MemoryKeychain()
      keychain.store.set('default:p12-passphrase', 'from-keychain')
      const file = join(dir, 'conf', 'secrets.json')
      await setSecret('p12-passphrase', 'from-file', {profile: 'default', keychain: new AbsentKeychain(), fileFallback: file})
      keychain.calls = 0
      const got = await getSecret('p12-passphrase', {profile: 'default', keychain, fileFallback: file, env: {CASELLARIO_P12_PASSPHRASE: 'from-env'}})
      assert.deepEqual(got, {value: 'from-env', source: 'env'})
      assert.equal(keychain.calls, 0)
      const pdnd = await getSecret('pdnd-key-passphrase', {profile: 'default', keychain, env: {CASELLARIO_PDND_KEY_PASSPHRASE: 'pdnd'}})
      assert.deepEqual(pdnd, {value: 'pdnd', source: 'env'})
    })

    it('an empty environment variable counts as unset', async () => {
      const keychain = new MemoryKeychain()
      keychain.store.set('default:p12-passphrase', 'from-keychain')
      const got = await getSecret('p12-passphrase', {profile: 'default', keychain, env: {CASELLARIO_P12_PASSPHRASE: ''}})
      assert.deepEqual(got, {value: 'from-keychain', source: 'keychain'})
    })

    it('the keychain comes before the file, per profile (account profile:name)', async () => {
      const keychain = new MemoryKeychain()
      await setSecret('p12-passphrase', 'kc-a', {profile: 'comune-a', keychain})
      assert.deepEqual([...keychain.store.keys()], ['comune-a:p12-passphrase'])
      const file = join(dir, 'secrets.json')
      await setSecret('p12-passphrase', 'file-a', {profile: 'comune-a', keychain: new AbsentKeychain(), fileFallback: file})
      assert.deepEqual(await getSecret('p12-passphrase', {profile: 'comune-a', keychain, fileFallback: file, env: noEnv}), {value: 'kc-a', source: 'keychain'})
      const other = await rejection(getSecret('p12-passphrase', {profile: 'comune-b', keychain, env: noEnv}))
      assert.equal(other.code, 'SECRET_MISSING')
    })

    it('secretStatus says whether and where, never the value', async () => {
      const keychain = new MemoryKeychain()
      assert.deepEqual(await secretStatus('p12-passphrase', {profile: 'default', keychain, env: noEnv}), {set: false})
      await setSecret('p12-passphrase', SECRET, {profile: 'default', keychain})
      const status = await secretStatus('p12-passphrase', {profile: 'default', keychain, env: noEnv})
      assert.deepEqual(status, {set: true, source: 'keychain'})
      assert.ok(!JSON.stringify(status).includes(SECRET))
      assert.deepEqual(await secretStatus('p12-passphrase', {profile: 'default', keychain, env: {CASELLARIO_P12_PASSPHRASE: 'x'}}), {set: true, source: 'env'})
    })

    it('a missing secret, keychain working: names the env variable and suggests casellario login', async () => {
      const error = await rejection(getSecret('p12-passphrase', {profile: 'comune-b', keychain: new MemoryKeychain(), env: noEnv}))
      assert.equal(error.code, 'SECRET_MISSING')
      assert.equal(error.exit, ExitCode.usage)
      assert.match(error.message, /passphrase del certificato PKCS#12/)
      assert.match(error.message, /CASELLARIO_P12_PASSPHRASE/)
      assert.doesNotMatch(error.message, /non è disponibile/)
      assert.ok(error.suggestions.includes('casellario login --profile comune-b'), error.suggestions.join(' | '))
      assert.ok(error.suggestions.includes('export CASELLARIO_P12_PASSPHRASE=…'))
    })

    it('a missing secret, keychain unavailable: says so and names exactly the env variable to set', async () => {
      const error = await rejection(getSecret('pdnd-key-passphrase', {profile: 'default', keychain: new AbsentKeychain(), env: noEnv}))
      assert.equal(error.code, 'SECRET_MISSING')
      assert.match(error.message, /portachiavi del sistema non è disponibile \(nessuna sessione D-Bus \(test\)\)/)
      assert.match(error.message, /imposta la variabile d'ambiente CASELLARIO_PDND_KEY_PASSPHRASE\./)
      assert.equal(error.suggestions[0], 'export CASELLARIO_PDND_KEY_PASSPHRASE=…')
      assert.ok(error.suggestions.some((s) => s.includes('--secrets-file')))
    })

    it('an unknown secret name is a usage error', async () => {
      const error = await rejection(getSecret('nope' as 'p12-passphrase', {profile: 'default', keychain: new MemoryKeychain(), env: noEnv}))
      assert.equal(error.code, 'SECRET_UNKNOWN')
    })
  })

  describe('the opt-in secrets file', () => {
    it('without --secrets-file, an unavailable keychain is KEYCHAIN_UNAVAILABLE and nothing is written', async () => {
      const error = await rejection(setSecret('p12-passphrase', SECRET, {profile: 'default', keychain: new AbsentKeychain()}))
      assert.equal(error.code, 'KEYCHAIN_UNAVAILABLE')
      assert.equal(error.exit, ExitCode.usage)
      assert.match(error.message, /CASELLARIO_P12_PASSPHRASE/)
      assert.match(error.message, /--secrets-file/)
      assertNoSecret(error)
      assert.deepEqual(readdirSync(dir), [])
    })

    it('with --secrets-file: a 0600 JSON file in a 0700 folder, read back only when allowed', async () => {
      const file = join(dir, 'nuova', 'cartella', 'secrets.json')
      const keychain = new AbsentKeychain()
      assert.deepEqual(await setSecret('p12-passphrase', SECRET, {profile: 'default', keychain, fileFallback: file}), {source: 'file'})
      assert.equal(statSync(file).mode & 0o777, 0o600)
      assert.equal(statSync(dirname(file)).mode & 0o777, 0o700)
      assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), {version: 1, secrets: {'default:p12-passphrase': SECRET}})

      assert.deepEqual(await getSecret('p12-passphrase', {profile: 'default', keychain, fileFallback: file, env: noEnv}), {value: SECRET, source: 'file'})
      // the file exists, but the caller did not opt in: it is not read
      const error = await rejection(getSecret('p12-passphrase', {profile: 'default', keychain, env: noEnv}))
      assert.equal(error.code, 'SECRET_MISSING')
      assert.deepEqual(await secretStatus('p12-passphrase', {profile: 'default', keychain, fileFallback: file, env: noEnv}), {set: true, source: 'file'})
    })

    it('rewrites atomically: other entries kept, no temporary file left, still 0600', async () => {
      const file = join(dir, 'secrets.json')
      const opts = {profile: 'default', keychain: new AbsentKeychain(), fileFallback: file}
      await setSecret('p12-passphrase', 'one', opts)
      await setSecret('pdnd-key-passphrase', 'two', opts)
      await setSecret('p12-passphrase', 'three', {...opts, profile: 'comune-b'})
      assert.deepEqual(readdirSync(dir), ['secrets.json'])
      assert.equal(statSync(file).mode & 0o777, 0o600)
      assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')).secrets, {
        'default:p12-passphrase': 'one',
        'default:pdnd-key-passphrase': 'two',
        'comune-b:p12-passphrase': 'three',
      })
      assert.deepEqual(await deleteSecret('p12-passphrase', opts), {removed: ['file']})
      assert.deepEqual(await deleteSecret('p12-passphrase', opts), {removed: []})
      assert.deepEqual(Object.keys(JSON.parse(readFileSync(file, 'utf8')).secrets), ['default:pdnd-key-passphrase', 'comune-b:p12-passphrase'])
    })

    it('a working keychain is preferred to the file even when the file is allowed', async () => {
      const file = join(dir, 'secrets.json')
      const keychain = new MemoryKeychain()
      assert.deepEqual(await setSecret('p12-passphrase', SECRET, {profile: 'default', keychain, fileFallback: file}), {source: 'keychain'})
      assert.equal(existsSync(file), false)
    })

    it('refuses a file that others can read, like ssh does', async () => {
      const file = join(dir, 'secrets.json')
      writeFileSync(file, JSON.stringify({version: 1, secrets: {'default:p12-passphrase': SECRET}}), {mode: 0o644})
      const error = await rejection(getSecret('p12-passphrase', {profile: 'default', keychain: new AbsentKeychain(), fileFallback: file, env: noEnv}))
      assert.equal(error.code, 'SECRETS_FILE_PERMISSIONS')
      assert.deepEqual(error.suggestions, [`chmod 600 ${file}`])
      assertNoSecret(error)
    })

    it('a corrupt file is reported without quoting its content', async () => {
      const file = join(dir, 'secrets.json')
      writeFileSync(file, `{"secrets": {"default:p12-passphrase": "${SECRET}"`, {mode: 0o600})
      const error = await rejection(getSecret('p12-passphrase', {profile: 'default', keychain: new AbsentKeychain(), fileFallback: file, env: noEnv}))
      assert.equal(error.code, 'SECRETS_FILE_INVALID')
      assertNoSecret(error)
    })

    it('deleting with the keychain unavailable and no file is an error, not a silent no-op', async () => {
      const error = await rejection(deleteSecret('p12-passphrase', {profile: 'default', keychain: new AbsentKeychain()}))
      assert.equal(error.code, 'KEYCHAIN_UNAVAILABLE')
    })
  })

  // The real binding (@napi-rs/keyring in a child process), with no usable D-Bus: what a
  // headless server sees. Needs no package: the binding fails on its own.
  describe('the real OS keychain binding without a Secret Service', function () {
    before(function () {
      if (process.platform !== 'linux') this.skip() // D-Bus is the Linux keychain transport
    })

    it('no D-Bus session: unavailable, quickly, and the error names the env variable', async () => {
      const keychain = new OsKeychain({env: {...process.env, DBUS_SESSION_BUS_ADDRESS: undefined}})
      const started = Date.now()
      const status = await keychainStatus({keychain})
      assert.equal(status.available, false)
      assert.match(status.reason ?? '', /D-Bus/)
      assert.ok(Date.now() - started < 2000, `keychainStatus took ${Date.now() - started} ms`)

      const error = await rejection(getSecret('p12-passphrase', {profile: 'default', keychain, env: noEnv}))
      assert.equal(error.code, 'SECRET_MISSING')
      assert.match(error.message, /portachiavi del sistema non è disponibile \(nessuna sessione D-Bus/)
      assert.match(error.message, /imposta la variabile d'ambiente CASELLARIO_P12_PASSPHRASE\./)
      assert.ok(error.suggestions.includes('export CASELLARIO_P12_PASSPHRASE=…'))

      const file = join(dir, 'secrets.json')
      assert.deepEqual(await setSecret('p12-passphrase', SECRET, {profile: 'default', keychain, fileFallback: file}), {source: 'file'})
      assert.deepEqual(await getSecret('p12-passphrase', {profile: 'default', keychain, fileFallback: file, env: noEnv}), {value: SECRET, source: 'file'})
    })

    it('a D-Bus socket that never answers: keychainStatus still answers in < 2 s and the binding is killed', async () => {
      const socketPath = join(dir, 'bus.sock')
      const connections: Socket[] = []
      const server: Server = createServer((socket) => {
        connections.push(socket)
        socket.on('data', () => {}) // swallow the D-Bus handshake, never reply
      })
      await new Promise<void>((resolve) => server.listen(socketPath, resolve))
      try {
        const keychain = new OsKeychain({env: {...process.env, DBUS_SESSION_BUS_ADDRESS: `unix:path=${socketPath}`}})
        const started = Date.now()
        const status = await keychainStatus({keychain})
        const elapsed = Date.now() - started
        assert.equal(status.available, false)
        assert.match(status.reason ?? '', /non ha risposto/)
        assert.ok(elapsed < 2000, `keychainStatus took ${elapsed} ms`)
        assert.ok(connections.length > 0, 'the binding never reached the fake bus')
        // the child that was stuck in the native call is gone: its end of the socket closes
        await Promise.all(connections.map((s) => (s.closed ? undefined : new Promise((resolve) => s.on('close', resolve)))))
        // later operations in the same process fail at once instead of waiting again
        const again = Date.now()
        await rejection(getSecret('p12-passphrase', {profile: 'default', keychain, env: noEnv}))
        assert.ok(Date.now() - again < 500)
      } finally {
        server.close()
      }
    })
  })

  // The real keychain: gnome-keyring's Secret Service in a private D-Bus session.
  describe('the real OS keychain (gnome-keyring under dbus-run-session)', () => {
    it('set → get (keychain) → status → delete → get fails', async function () {
      if (process.platform !== 'linux') this.skip()
      const missing = ['dbus-run-session', 'gnome-keyring-daemon'].filter((c) => !hasCommand(c))
      if (missing.length > 0) {
        // eslint-disable-next-line no-console
        console.log(`      skipped: ${missing.join(', ')} not found (apt-get install dbus gnome-keyring)`)
        this.skip()
      }
      const child = `
        import {deleteSecret, getSecret, keychainStatus, secretStatus, setSecret} from ${JSON.stringify(secretsModule)}
        const out = {}
        const opts = {profile: 'comune-a'}
        out.status = await keychainStatus()
        out.set = await setSecret('p12-passphrase', ${JSON.stringify(SECRET)}, opts)
        out.get = await getSecret('p12-passphrase', opts)
        out.secretStatus = await secretStatus('p12-passphrase', opts)
        out.otherProfile = await secretStatus('p12-passphrase', {profile: 'comune-b'})
        out.deleted = await deleteSecret('p12-passphrase', opts)
        try {
          await getSecret('p12-passphrase', opts)
          out.after = 'found'
        } catch (error) {
          out.after = {code: error.code, message: error.message, suggestions: error.suggestions}
        }
        process.stdout.write(JSON.stringify(out))
      `
      const env = {...process.env}
      delete env.CASELLARIO_P12_PASSPHRASE
      const {stdout, stderr} = await new Promise<{stdout: string; stderr: string}>((resolve, reject) =>
        execFile(sessionScript, [process.execPath, '--import', 'tsx', '--input-type=module', '-e', child], {env, cwd: join(here, '..'), timeout: 60_000}, (error, stdout, stderr) =>
          error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve({stdout, stderr}),
        ),
      )
      assert.ok(!stderr.includes(SECRET))
      const out = JSON.parse(stdout)
      assert.deepEqual(out.status, {available: true})
      assert.deepEqual(out.set, {source: 'keychain'})
      assert.deepEqual(out.get, {value: SECRET, source: 'keychain'})
      assert.deepEqual(out.secretStatus, {set: true, source: 'keychain'})
      assert.deepEqual(out.otherProfile, {set: false})
      assert.deepEqual(out.deleted, {removed: ['keychain']})
      assert.equal(out.after.code, 'SECRET_MISSING')
      assert.doesNotMatch(out.after.message, /non è disponibile/)
      assert.ok(out.after.suggestions.includes('casellario login --profile comune-a'))
      assert.ok(!JSON.stringify(out.after).includes(SECRET))
    })
  })
})
