import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {existsSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {BIN, ROOT, run, tempDir, userEnv} from './support/cli.js'
import {PASSPHRASE, WRONG, makePki, openssl, type Pki} from './support/pki.js'
import {psRows, writeCsv} from './support/ps-data.js'

/** Every file under `dir`, for looking for secrets where they must not be. */
function allFiles(dir: string): string[] {
  if (!existsSync(dir)) return []
  return readdirSync(dir, {withFileTypes: true, recursive: true})
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
}

describe('first run, secrets and signatures, as a municipal IT person would do them', function () {
  this.timeout(180_000)
  let pki: Pki
  const dir = tempDir()
  const noEnte = userEnv(dir)
  for (const k of ['CASELLARIO_ENTE_CODICE', 'CASELLARIO_ENTE_BELFIORE', 'CASELLARIO_ENTE_DENOMINAZIONE', 'CASELLARIO_CF_OPERATORE']) delete noEnte[k]
  const env = {...noEnte, CASELLARIO_P12_PASSPHRASE: PASSPHRASE}
  const outputs: string[] = []
  const cli = (args: string[], e: Record<string, string> = env, input?: string) => {
    const r = run(args, {env: e, input})
    outputs.push(r.stdout, r.stderr)
    return r
  }

  before(() => {
    pki = makePki()
  })

  it('init without a terminal never prompts: it names the missing flags and exits 1', () => {
    const r = cli(['init', '--json'], noEnte)
    assert.equal(r.code, 1)
    assert.equal(r.json().error.code, 'INIT_MISSING')
    assert.match(r.json().error.message, /--ente-codice.*--ente-belfiore.*--cf-operatore/)
  })

  it('init --no-interactive writes the profile (0600, in a 0700 folder) with every value checked', () => {
    const bad = cli(['init', '--no-interactive', '--ente-codice', 'H501', '--ente-belfiore', 'H501', '--cf-operatore', 'PRTPRV80A01H501X', '--json'], noEnte)
    assert.equal(bad.code, 1)
    assert.match(bad.json().error.message, /carattere di controllo/)
    const r = cli(['init', '--no-interactive', '--ente-codice', 'H501', '--ente-belfiore', 'h501', '--ente-denominazione', 'Comune di Prova', '--cf-operatore', 'PRTPRV80A01H501O', '--certificate', pki.p12.modern, '--json'], noEnte)
    assert.equal(r.code, 0, r.stdout)
    const file = r.json().file
    assert.equal(statSync(file).mode & 0o777, 0o600)
    assert.equal(statSync(join(file, '..')).mode & 0o777, 0o700)
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8'))['ente.belfiore'], 'H501')
  })

  it('init refuses what would fail later: a text file as certificate, a code that cannot name a flusso, a Belfiore that is no comune; a lower-case code is normalised', () => {
    const textAsP12 = join(dir, 'non-un-certificato.p12')
    writeFileSync(textAsP12, 'questo è un testo, non un PKCS#12\n')
    const base = ['init', '--no-interactive', '--ente-belfiore', 'H501', '--cf-operatore', 'PRTPRV80A01H501O', '--profile', 'prova', '--json']
    const cert = cli([...base, '--ente-codice', 'H501', '--certificate', textAsP12], noEnte)
    assert.equal(cert.code, 1)
    assert.match(cert.json().error.message, /PKCS#12/)
    assert.equal(cli([...base, '--ente-codice', 'A B&C'], noEnte).code, 1)
    const foreign = cli(['init', '--no-interactive', '--ente-codice', 'H501', '--ente-belfiore', 'Z999', '--cf-operatore', 'PRTPRV80A01H501O', '--profile', 'prova', '--json'], noEnte)
    assert.equal(foreign.code, 1)
    assert.match(foreign.json().error.message, /non è il codice di un comune italiano/)
    const lower = cli([...base, '--ente-codice', 'h501'], noEnte)
    assert.equal(lower.code, 0, lower.stdout)
    assert.equal(JSON.parse(readFileSync(lower.json().file, 'utf8'))['ente.codice'], 'H501')
  })

  it('config get/set/list: values validated, sources shown, secrets only as "set"', () => {
    assert.equal(cli(['config', 'set', 'ente.belfiore', 'ROMA', '--json'], noEnte).code, 1)
    assert.equal(cli(['config', 'set', 'no.such.key', 'x'], noEnte).code, 1)
    assert.equal(cli(['config', 'set', 'ente.denominazione', 'Comune di Prova & Servizi'], noEnte).code, 0)
    assert.equal(cli(['config', 'get', 'ente.denominazione'], noEnte).stdout.trim(), 'Comune di Prova & Servizi')
    const got = cli(['config', 'get', 'ente.codice', '--json'], {...noEnte, CASELLARIO_ENTE_CODICE: 'X999'}).json()
    assert.deepEqual(got, {key: 'ente.codice', value: 'X999', source: 'env'})
    const list = cli(['config', 'list', '--json']).json()
    assert.deepEqual(list.secrets.find((s: {name: string}) => s.name === 'p12-passphrase'), {name: 'p12-passphrase', env: 'CASELLARIO_P12_PASSPHRASE', set: true, source: 'env'})
    assert.doesNotMatch(JSON.stringify(list), new RegExp(PASSPHRASE.replace(/[!]/g, '.')))
  })

  it('build then sign: the .p7m verifies with openssl, carries signing-certificate-v2, and gives back the flusso', () => {
    const csv = join(dir, 'prestazioni.csv')
    writeCsv(csv, psRows(1, 20))
    const out = join(dir, 'flussi')
    assert.equal(cli(['build', csv, '--out', out]).code, 0)
    const xml = readdirSync(out).filter((f) => f.endsWith('.xml')).map((f) => join(out, f))
    const r = cli(['sign', ...xml, '--json'])
    assert.equal(r.code, 0, r.stdout + r.stderr)
    assert.equal(r.json().passphraseSource, 'env')
    assert.match(r.json().signer.subject.text, /Mario Rossi/)
    const p7m = r.json().signed[0].signature
    assert.equal(statSync(p7m).mode & 0o777, 0o600)
    const verified = openssl(dir, ['cms', '-verify', '-inform', 'DER', '-in', p7m, '-CAfile', join(pki.dir, 'ca.pem'), '-out', join(dir, 'recovered.xml')])
    assert.equal(verified.status, 0, verified.stderr)
    assert.deepEqual(readFileSync(join(dir, 'recovered.xml')), readFileSync(xml[0]))
    assert.match(openssl(dir, ['cms', '-cmsout', '-print', '-inform', 'DER', '-in', p7m]).stdout, /signingCertificateV2/)
    const ours = cli(['verify', p7m, '--ca', join(pki.dir, 'ca.pem'), '--json'])
    assert.equal(ours.code, 0)
    assert.equal(ours.json().valid, true)
    assert.equal(ours.json().chainTrusted, true)
  })

  it('a detached .p7s verifies with openssl and with verify, next to its file', () => {
    const xml = readdirSync(join(dir, 'flussi')).find((f) => f.endsWith('.xml'))!
    const file = join(dir, 'flussi', xml)
    rmSync(`${file}.p7s`, {force: true})
    assert.equal(cli(['sign', file, '--detached']).code, 0)
    const v = openssl(dir, ['cms', '-verify', '-inform', 'DER', '-in', `${file}.p7s`, '-content', file, '-binary', '-CAfile', join(pki.dir, 'ca.pem'), '-out', '/dev/null'])
    assert.equal(v.status, 0, v.stderr)
    assert.equal(cli(['verify', `${file}.p7s`]).code, 0)
  })

  it('a tampered flusso fails both our verify (exit 2) and openssl', () => {
    const p7m = readdirSync(join(dir, 'flussi')).find((f) => f.endsWith('.xml.p7m'))!
    const path = join(dir, 'flussi', p7m)
    const bytes = readFileSync(path)
    const at = bytes.indexOf(Buffer.from('CodiceFiscale="')) + 16
    bytes[at] = bytes[at] === 0x41 ? 0x42 : 0x41
    const tampered = join(dir, 'tampered.xml.p7m')
    writeFileSync(tampered, bytes)
    const r = cli(['verify', tampered, '--json'])
    assert.equal(r.code, 2)
    assert.equal(r.json().valid, false)
    assert.notEqual(openssl(dir, ['cms', '-verify', '-inform', 'DER', '-in', tampered, '-CAfile', join(pki.dir, 'ca.pem'), '-out', '/dev/null']).status, 0)
  })

  it('a wrong passphrase and an expired certificate: exit 1, Italian message, no secret echoed', () => {
    const xml = join(dir, 'solo.xml')
    writeFileSync(xml, '<x/>')
    const wrong = cli(['sign', xml, '--json'], {...env, CASELLARIO_P12_PASSPHRASE: WRONG})
    assert.equal(wrong.code, 1)
    assert.equal(wrong.json().error.code, 'P12_WRONG_PASSPHRASE')
    assert.match(wrong.json().error.message, /passphrase/)
    assert.doesNotMatch(wrong.stdout + wrong.stderr, new RegExp(WRONG))
    const expired = cli(['sign', xml, '--certificate', pki.p12.expired, '--json'])
    assert.equal(expired.code, 1)
    assert.equal(expired.json().error.code, 'CERTIFICATE_EXPIRED')
    assert.match(expired.json().error.message, /scadut/)
  })

  it('login --stdin checks the passphrase against the certificate before saving it; without a keychain it says which variable to set', () => {
    const wrong = cli(['login', '--stdin', '--json'], noEnte, `${WRONG}\n`)
    assert.equal(wrong.code, 1)
    assert.equal(wrong.json().error.code, 'P12_WRONG_PASSPHRASE')
    // this test runs without a D-Bus session: no keychain
    const noKeychain = cli(['login', '--stdin', '--json'], {...noEnte, DBUS_SESSION_BUS_ADDRESS: ''}, `${PASSPHRASE}\n`)
    assert.equal(noKeychain.code, 1)
    assert.equal(noKeychain.json().error.code, 'KEYCHAIN_UNAVAILABLE')
    assert.match(noKeychain.json().error.message, /CASELLARIO_P12_PASSPHRASE/)
    const secrets = join(dir, 'config', 'casellario', 'secrets.json')
    const saved = cli(['login', '--stdin', '--secrets-file', '--json'], {...noEnte, DBUS_SESSION_BUS_ADDRESS: ''}, `${PASSPHRASE}\n`)
    assert.equal(saved.code, 0, saved.stdout)
    assert.equal(statSync(secrets).mode & 0o777, 0o600)
    const signed = cli(['sign', join(dir, 'solo.xml'), '--json'], {...noEnte, DBUS_SESSION_BUS_ADDRESS: ''})
    assert.equal(signed.code, 0, signed.stdout)
    assert.equal(signed.json().passphraseSource, 'file')
  })

  it('init --sandbox never replaces a profile\'s real certificate or its passphrase', () => {
    const r = cli(['init', '--sandbox', '--no-interactive', '--json'], noEnte)
    assert.equal(r.code, 1)
    assert.equal(r.json().error.code, 'SANDBOX_OVER_REAL_CERTIFICATE')
    assert.equal(cli(['sign', join(dir, 'solo.xml'), '--json']).code, 0)
  })

  it('init --sandbox makes a test certificate that signs at once, no real certificate needed', () => {
    const home = tempDir()
    const e = {...userEnv(home), DBUS_SESSION_BUS_ADDRESS: ''}
    const r = run(['init', '--sandbox', '--no-interactive', '--ente-codice', 'H501', '--ente-belfiore', 'H501', '--cf-operatore', 'PRTPRV80A01H501O', '--json'], {env: e})
    assert.equal(r.code, 0, r.stdout)
    assert.match(r.json().sandbox, /mai per INPS/)
    writeFileSync(join(home, 'f.xml'), '<x/>')
    const s = run(['sign', join(home, 'f.xml'), '--json'], {env: e})
    assert.equal(s.code, 0, s.stdout)
    assert.match(s.json().signer.subject.text, /SANDBOX/)
    rmSync(home, {recursive: true, force: true})
  })

  it('init on a terminal asks, checks each answer and asks again when it is wrong', function () {
    const home = tempDir()
    const steps = [
      ["Codice dell.ente", 'H501\r'],
      ['Belfiore', 'h501\r'],
      ['Denominazione', 'Comune di Prova\r'],
      ['Codice fiscale', 'PRTPRV80A01H501X\r'],
      ['carattere di controllo', '\u0015PRTPRV80A01H501O\r'],
      ['Certificato', '\r'],
      ['Trasporto', '\r'],
      ['URL', '\r'],
    ]
    const e = {...userEnv(home)}
    for (const k of ['CASELLARIO_ENTE_CODICE', 'CASELLARIO_ENTE_BELFIORE', 'CASELLARIO_ENTE_DENOMINAZIONE', 'CASELLARIO_CF_OPERATORE']) delete (e as Record<string, string>)[k]
    const r = spawnSync('python3', [join(ROOT, 'test', 'support', 'pty-drive.py'), JSON.stringify(steps), '--', process.execPath, BIN, 'init'], {env: e, encoding: 'utf8', timeout: 90_000})
    const result = JSON.parse(r.stdout)
    assert.equal(result.answered, steps.length, result.transcript)
    assert.equal(result.exit, 0, result.transcript)
    const saved = JSON.parse(readFileSync(join(home, 'config', 'casellario', 'default.json'), 'utf8'))
    assert.deepEqual(saved, {'ente.belfiore': 'H501', 'ente.cfOperatore': 'PRTPRV80A01H501O', 'ente.codice': 'H501', 'ente.denominazione': 'Comune di Prova', transport: 'waas'})
    rmSync(home, {recursive: true, force: true})
  })

  it('no secret in the config files, the store, or any output', () => {
    const places = [...allFiles(join(dir, 'config')).filter((f) => !f.endsWith('secrets.json')), ...allFiles(join(dir, 'data')), join(dir, 'store.db')]
    for (const file of places.filter(existsSync)) assert.ok(!readFileSync(file).includes(Buffer.from(PASSPHRASE)), file)
    for (const text of outputs) assert.ok(!text.includes(PASSPHRASE))
  })

  after(() => {
    rmSync(dir, {recursive: true, force: true})
    if (pki) rmSync(pki.dir, {recursive: true, force: true})
  })
})
