import {createPrivateKey, generateKeyPairSync, randomBytes, type KeyObject} from 'node:crypto'
import {chmodSync, mkdirSync, writeFileSync} from 'node:fs'
import {dirname} from 'node:path'

import forge from 'node-forge'

/**
 * A throwaway, self-signed signing certificate for the sandbox (`init --sandbox`): the README's
 * quick start must work without a real certificate. Never for INPS: its subject says so.
 */
export function createSandboxCertificate(path: string, enteName: string): {passphrase: string; subject: string; notAfter: string} {
  const {key, cert, subject} = selfSigned(enteName)
  const passphrase = randomBytes(24).toString('base64url')
  const p12 = forge.pkcs12.toPkcs12Asn1(key, [cert], passphrase, {algorithm: 'aes256'})
  mkdirSync(dirname(path), {recursive: true, mode: 0o700})
  writeFileSync(path, Buffer.from(forge.asn1.toDer(p12).getBytes(), 'binary'), {mode: 0o600})
  chmodSync(path, 0o600)
  return {passphrase, subject, notAfter: cert.validity.notAfter.toISOString()}
}

/** The same kind of throwaway identity as a key and a DER certificate (the sandbox's ModI signer). */
export function createSandboxIdentity(enteName: string): {key: KeyObject; certificate: Buffer} {
  const {key, cert} = selfSigned(enteName)
  return {
    key: createPrivateKey(forge.pki.privateKeyToPem(key)),
    certificate: Buffer.from(forge.asn1.toDer(forge.pki.certificateToAsn1(cert)).getBytes(), 'binary'),
  }
}

/** A PKCS#12 of an existing key and certificate (AES-256), for tools that want a .p12. */
export function pkcs12Of(key: KeyObject, certificate: Buffer, passphrase: string): Buffer {
  const forgeKey = forge.pki.privateKeyFromPem(key.export({type: 'pkcs1', format: 'pem'}).toString())
  const cert = forge.pki.certificateFromAsn1(forge.asn1.fromDer(certificate.toString('binary')))
  return Buffer.from(forge.asn1.toDer(forge.pkcs12.toPkcs12Asn1(forgeKey, [cert], passphrase, {algorithm: 'aes256'})).getBytes(), 'binary')
}

function selfSigned(enteName: string): {key: forge.pki.rsa.PrivateKey; cert: forge.pki.Certificate; subject: string} {
  // Node generates the RSA key (fast, native); forge builds the X.509 and the PKCS#12
  const {privateKey} = generateKeyPairSync('rsa', {modulusLength: 2048})
  const key = forge.pki.privateKeyFromPem(privateKey.export({type: 'pkcs1', format: 'pem'}).toString())
  const publicKey = forge.pki.setRsaPublicKey(key.n, key.e)
  const cert = forge.pki.createCertificate()
  cert.publicKey = publicKey
  cert.serialNumber = `01${randomBytes(8).toString('hex')}`
  const now = new Date()
  cert.validity.notBefore = new Date(now.getTime() - 60_000)
  cert.validity.notAfter = new Date(now.getTime() + 365 * 86_400_000)
  const attrs = [
    {name: 'commonName', value: `${enteName} - SANDBOX casellario, non valido per INPS`.slice(0, 64)},
    {name: 'organizationName', value: 'casellario sandbox'},
    {name: 'countryName', value: 'IT'},
  ]
  cert.setSubject(attrs)
  cert.setIssuer(attrs)
  cert.setExtensions([
    {name: 'basicConstraints', cA: false},
    {name: 'keyUsage', digitalSignature: true, nonRepudiation: true},
    {name: 'subjectKeyIdentifier'},
  ])
  cert.sign(key, forge.md.sha256.create())
  return {key, cert, subject: attrs[0].value}
}
