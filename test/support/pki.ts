/**
 * A small PKI made by the real openssl binary in a temporary folder: a CA, the ente's signing
 * certificate as PKCS#12, and the problem certificates (expired, not yet valid, wrong key usage).
 */
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {X509Certificate} from 'node:crypto'
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

export const PASSPHRASE = 'Segreta-Ente!2024'
export const WRONG = 'non-e-questa-42'
/** openssl encrypts modern PKCS#12 with the UTF-8 bytes of the passphrase: see decodePkcs12 */
export const ACCENTED = 'Città di Forlì €2024'

// ---------------------------------------------------------------------------------------------
// helpers: openssl in a temp dir

export function openssl(dir: string, args: string[], input?: Buffer): {status: number; stdout: string; stderr: string} {
  const r = spawnSync('openssl', args, {cwd: dir, input, maxBuffer: 256 * 1024 * 1024})
  return {status: r.status ?? -1, stdout: r.stdout?.toString('utf8') ?? '', stderr: r.stderr?.toString('utf8') ?? ''}
}

export function mustOpenssl(dir: string, args: string[]): string {
  const r = openssl(dir, args)
  assert.equal(r.status, 0, `openssl ${args.join(' ')}\n${r.stderr}`)
  return r.stdout
}

export function pemToDer(pem: string): Buffer {
  return new X509Certificate(pem).raw
}

export interface Pki {
  dir: string
  /** passphrase-protected PKCS#12 files */
  p12: {modern: string; legacy?: string; accented: string[]; expired: string; notYetValid: string; encipherOnly: string; rsaPss: string; ec: string}
  /** an ente certificate with the same issuer, serial and key as ente.pem, but different bytes */
  reissued: Buffer
}

function writeExt(dir: string, name: string, lines: string[]): string {
  const file = join(dir, name)
  writeFileSync(file, lines.join('\n') + '\n')
  return file
}

const ENTE_EXT = ['basicConstraints=CA:FALSE', 'keyUsage=critical,digitalSignature,nonRepudiation', 'subjectKeyIdentifier=hash', 'authorityKeyIdentifier=keyid']

/** A CA, the ente's certificate and the problem certificates, all made by openssl. */
export function makePki(): Pki {
  const dir = mkdtempSync(join(tmpdir(), 'casellario-sign-'))
  const o = (...args: string[]): string => mustOpenssl(dir, args)

  o('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '3650', '-sha256',
    '-subj', '/C=IT/O=Certificatore di prova/CN=CA di prova', '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign')
  // another CA, trusted by nobody, to check that the chain is really checked
  o('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'other-ca.key', '-out', 'other-ca.pem', '-days', '3650',
    '-subj', '/CN=Altra CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign')

  writeExt(dir, 'ente.ext', ENTE_EXT)
  // accented organization name (UTF-8) and the serialNumber attribute Italian certificates carry
  o('req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ente.key', '-out', 'ente.csr', '-utf8',
    '-subj', '/C=IT/O=Comune di Forlì/organizationIdentifier=VATIT-00606820401/serialNumber=TINIT-RSSMRA80A01D704X/CN=Mario Rossi')
  o('x509', '-req', '-in', 'ente.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-set_serial', '0x1A2B3C4D', '-days', '365', '-sha256',
    '-extfile', 'ente.ext', '-out', 'ente.pem')
  // same key, issuer and serial, one day more of validity: same length, different bytes
  o('x509', '-req', '-in', 'ente.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-set_serial', '0x1A2B3C4D', '-days', '366', '-sha256',
    '-extfile', 'ente.ext', '-out', 'reissued.pem')
  const pass = `pass:${PASSPHRASE}`
  o('pkcs12', '-export', '-inkey', 'ente.key', '-in', 'ente.pem', '-certfile', 'ca.pem', '-name', 'Comune', '-out', 'ente.p12', '-passout', pass)
  o('pkcs12', '-export', '-inkey', 'ente.key', '-in', 'ente.pem', '-out', 'accented.p12', '-passout', `pass:${ACCENTED}`)
  const legacyAccented = openssl(dir, ['pkcs12', '-export', '-legacy', '-inkey', 'ente.key', '-in', 'ente.pem', '-out', 'accented-legacy.p12', '-passout', `pass:${ACCENTED}`])
  const legacy = openssl(dir, ['pkcs12', '-export', '-legacy', '-inkey', 'ente.key', '-in', 'ente.pem', '-certfile', 'ca.pem', '-out', 'legacy.p12', '-passout', pass])

  // Expired and not-yet-valid certificates: this openssl (3.0) has no `x509 -not_before/-not_after`
  // (added in 3.4) and faketime is not installed, so they come from `openssl ca -startdate/-enddate`.
  writeFileSync(join(dir, 'index.txt'), '')
  writeFileSync(join(dir, 'serial'), '2000\n')
  writeExt(dir, 'ca.cnf', [
    '[ca]', 'default_ca = test_ca',
    '[test_ca]', `dir = ${dir}`, 'database = $dir/index.txt', 'new_certs_dir = $dir', 'serial = $dir/serial',
    'certificate = $dir/ca.pem', 'private_key = $dir/ca.key', 'default_md = sha256', 'policy = any', 'unique_subject = no',
    'copy_extensions = none', 'x509_extensions = ente_ext',
    '[any]', 'countryName = optional', 'organizationName = optional', 'commonName = supplied',
    '[ente_ext]', ...ENTE_EXT,
  ])
  const caIssued = (name: string, start: string, end: string): void => {
    o('req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/C=IT/O=Comune di Prova/CN=${name}`)
    o('ca', '-batch', '-config', 'ca.cnf', '-in', `${name}.csr`, '-out', `${name}.pem`, '-startdate', start, '-enddate', end, '-notext')
    o('pkcs12', '-export', '-inkey', `${name}.key`, '-in', `${name}.pem`, '-out', `${name}.p12`, '-passout', pass)
  }
  caIssued('expired', '20200101000000Z', '20210101000000Z')
  caIssued('notyet', '20990101000000Z', '20991231000000Z')

  // a certificate for encryption only
  writeExt(dir, 'enc.ext', ['basicConstraints=CA:FALSE', 'keyUsage=critical,keyEncipherment'])
  o('req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'enc.key', '-out', 'enc.csr', '-subj', '/CN=Solo cifratura')
  o('x509', '-req', '-in', 'enc.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-days', '365', '-extfile', 'enc.ext', '-out', 'enc.pem')
  o('pkcs12', '-export', '-inkey', 'enc.key', '-in', 'enc.pem', '-out', 'enc.p12', '-passout', pass)

  // key types forge cannot parse itself (RSA-PSS-only and EC): they must still load and sign
  o('genpkey', '-algorithm', 'RSA-PSS', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', 'pss.key')
  o('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'ec.key')
  for (const name of ['pss', 'ec']) {
    o('req', '-new', '-key', `${name}.key`, '-out', `${name}.csr`, '-subj', `/O=Comune di Prova/CN=Ente ${name}`)
    o('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-days', '365', '-sha256', '-extfile', 'ente.ext', '-out', `${name}.pem`)
    o('pkcs12', '-export', '-inkey', `${name}.key`, '-in', `${name}.pem`, '-certfile', 'ca.pem', '-out', `${name}.p12`, '-passout', pass)
  }

  return {
    dir,
    p12: {
      modern: join(dir, 'ente.p12'),
      ...(legacy.status === 0 ? {legacy: join(dir, 'legacy.p12')} : {}),
      accented: [join(dir, 'accented.p12'), ...(legacyAccented.status === 0 ? [join(dir, 'accented-legacy.p12')] : [])],
      expired: join(dir, 'expired.p12'),
      notYetValid: join(dir, 'notyet.p12'),
      encipherOnly: join(dir, 'enc.p12'),
      rsaPss: join(dir, 'pss.p12'),
      ec: join(dir, 'ec.p12'),
    },
    reissued: pemToDer(readFileSync(join(dir, 'reissued.pem'), 'utf8')),
  }
}

