import assert from 'node:assert/strict'
import {existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {run, tempDir, userEnv} from './support/cli.js'

/**
 * Secrets stay where secrets belong: a password is never written into the configuration inside a
 * URL, never printed back, and the sandbox's throwaway passphrase never mixes with real ones.
 */

const PASSWORD = 'S3greta-Non-Stampare'

describe('secrets: no password in URLs, sandbox secrets kept apart', function () {
  this.timeout(120_000)
  const home = tempDir()
  const env = userEnv(home, {DBUS_SESSION_BUS_ADDRESS: ''})
  const configDir = join(env.XDG_CONFIG_HOME, 'casellario')
  after(() => rmSync(home, {recursive: true, force: true}))

  it('config set saves a store URL without its password, warning to use PGPASSWORD or .pgpass; an endpoint URL with one is refused', () => {
    const r = run(['config', 'set', 'store', `postgres://casellario:${PASSWORD}@db.example.it/siuss`, '--json'], {env})
    assert.equal(r.code, 0, r.stdout + r.stderr)
    const {warnings} = r.json()
    assert.equal(warnings[0].code, 'STORE_PASSWORD_NOT_SAVED')
    assert.match(warnings[0].message, /PGPASSWORD/)
    assert.match(warnings[0].message, /\.pgpass/)
    assert.ok(!r.stdout.includes(PASSWORD) && !r.stderr.includes(PASSWORD))
    assert.ok(!readFileSync(join(configDir, 'default.json'), 'utf8').includes(PASSWORD), 'the password is not saved')
    assert.equal(JSON.parse(readFileSync(join(configDir, 'default.json'), 'utf8')).store, 'postgres://casellario@db.example.it/siuss')
    const endpoint = run(['config', 'set', 'endpoint.url', `https://ente:${PASSWORD}@hub.example.it/siuss`, '--json'], {env})
    assert.equal(endpoint.code, 1)
    assert.equal(endpoint.json().error.code, 'CONFIG_SECRET_IN_URL')
    assert.ok(!endpoint.stdout.includes(PASSWORD))
  })

  it('masks a password that reaches a URL through the environment wherever the URL is shown', () => {
    const withPassword = {...env, CASELLARIO_STORE: `postgres://casellario:${PASSWORD}@db.example.it/siuss`, CASELLARIO_ENDPOINT: `https://ente:${PASSWORD}@hub.example.it/siuss`}
    for (const args of [['config', 'list'], ['config', 'list', '--json'], ['config', 'get', 'store'], ['config', 'get', 'endpoint.url', '--json'], ['status', '--json']]) {
      const r = run(args, {env: withPassword})
      assert.ok(!r.stdout.includes(PASSWORD) && !r.stderr.includes(PASSWORD), `${args.join(' ')}: ${r.stdout}${r.stderr}`)
    }
    assert.match(run(['config', 'get', 'store'], {env: withPassword}).stdout, /postgres:\/\/casellario:\*\*\*@db\.example\.it/)
  })

  it('init --sandbox keeps the throwaway passphrase in the sandbox folder, not in secrets.json', () => {
    const r = run(['init', '--sandbox', '--no-interactive', '--ente-codice', 'H501', '--ente-belfiore', 'H501', '--cf-operatore', 'PRTPRV80A01H501O', '--json'], {env})
    assert.equal(r.code, 0, r.stdout)
    assert.ok(!existsSync(join(configDir, 'secrets.json')), 'no secrets file written')
    const sandbox = join(configDir, 'sandbox')
    assert.equal(statSync(sandbox).mode & 0o777, 0o700)
    const passphrase = readdirSync(sandbox).filter((f) => f.endsWith('.passphrase'))
    assert.equal(passphrase.length, 1)
    assert.equal(statSync(join(sandbox, passphrase[0])).mode & 0o777, 0o600)
    // and the sandbox certificate signs with it, no keychain and no environment variable needed
    writeFileSync(join(home, 'f.xml'), '<x/>')
    const s = run(['sign', join(home, 'f.xml'), '--json'], {env})
    assert.equal(s.code, 0, s.stdout)
  })
})
