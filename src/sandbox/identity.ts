import {createPrivateKey, createPublicKey, randomBytes, randomUUID, X509Certificate, type KeyObject} from 'node:crypto'
import {chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {createSandboxIdentity, pkcs12Of} from '../setup/test-certificate.js'

/**
 * The throwaway credentials of the sandbox (DESIGN §8): a PDND client (its key, kid, purpose) and
 * an ente certificate for ModI signatures, created on first use in a private folder so that a
 * new user needs nothing to try `submit --endpoint sandbox`. The sandbox trusts exactly these.
 */

export interface SandboxClient {
  clientId: string
  kid: string
  purposeId: string
  /** `aud` the sandbox expects in client assertions */
  assertionAudience: string
  key: KeyObject
  publicKey: KeyObject
}

export interface SandboxIdentity {
  dir: string
  client: SandboxClient
  ente: {key: KeyObject; certificate: Buffer}
}

const ASSERTION_AUDIENCE = 'sandbox.casellario/client-assertion'

export function sandboxDir(dataDir: string): string {
  return join(dataDir, 'sandbox')
}

export function loadSandboxIdentity(dir: string): SandboxIdentity {
  mkdirSync(dir, {recursive: true, mode: 0o700})
  const registration = join(dir, 'registration.json')
  if (!existsSync(registration)) {
    // the PDND client key and the ente certificate are two different keys, as in real life
    const client = createSandboxIdentity('client PDND')
    const ente = createSandboxIdentity('Ente')
    writePrivate(join(dir, 'client-key.pem'), client.key.export({type: 'pkcs8', format: 'pem'}).toString())
    writePrivate(join(dir, 'ente-key.pem'), ente.key.export({type: 'pkcs8', format: 'pem'}).toString())
    writePrivate(join(dir, 'ente-cert.pem'), new X509Certificate(ente.certificate).toString())
    // the same identity as a .p12, for a casellario pointed at a standalone sandbox (sign.certificate)
    const passphrase = randomBytes(18).toString('base64url')
    writePrivate(join(dir, 'ente.p12.passphrase'), passphrase)
    writePrivate(join(dir, 'ente.p12'), pkcs12Of(ente.key, ente.certificate, passphrase))
    const id = randomUUID()
    writePrivate(registration, `${JSON.stringify({clientId: id, kid: `sandbox-${id.slice(0, 8)}`, purposeId: randomUUID()}, null, 2)}\n`)
  }
  const reg = JSON.parse(readFileSync(registration, 'utf8')) as {clientId: string; kid: string; purposeId: string}
  const clientKey = createPrivateKey(readFileSync(join(dir, 'client-key.pem')))
  return {
    dir,
    client: {...reg, assertionAudience: ASSERTION_AUDIENCE, key: clientKey, publicKey: createPublicKey(clientKey)},
    ente: {key: createPrivateKey(readFileSync(join(dir, 'ente-key.pem'))), certificate: new X509Certificate(readFileSync(join(dir, 'ente-cert.pem'))).raw},
  }
}

function writePrivate(path: string, text: string | Buffer): void {
  writeFileSync(path, text, {mode: 0o600})
  chmodSync(path, 0o600)
}
