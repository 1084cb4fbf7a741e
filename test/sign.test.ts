/**
 * CAdES-BES signing and verification, with openssl as the independent oracle: every certificate,
 * key and PKCS#12 here is made by the real `openssl` binary in a temporary folder.
 */
import assert from 'node:assert/strict'
import {X509Certificate, createHash, randomBytes} from 'node:crypto'
import {readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {CasellarioError, ExitCode} from '../src/errors/index.js'
import {signCades, verifyCades} from '../src/sign/cades.js'
import {checkSigningCertificate, describeCertificate, loadPkcs12, type Pkcs12Contents} from '../src/sign/pkcs12.js'
import {ACCENTED, PASSPHRASE, WRONG, makePki, mustOpenssl, openssl, pemToDer, type Pki} from './support/pki.js'

/** The typed error a function throws, checked for code, exit code and an Italian message. */
function caught(fn: () => unknown, code: string): CasellarioError {
  try {
    fn()
  } catch (error) {
    assert.ok(error instanceof CasellarioError, `expected a CasellarioError, got ${String(error)}`)
    assert.equal(error.code, code, error.message)
    assert.equal(error.exit, ExitCode.usage)
    return error
  }
  assert.fail(`expected ${code}`)
}

async function caughtAsync(fn: () => Promise<unknown>, code: string): Promise<CasellarioError> {
  try {
    await fn()
  } catch (error) {
    assert.ok(error instanceof CasellarioError, `expected a CasellarioError, got ${String(error)}`)
    assert.equal(error.code, code, error.message)
    return error
  }
  assert.fail(`expected ${code}`)
}

/** Flips one byte of `needle` where it occurs inside `haystack` (the content inside a .p7m). */
function flipInside(haystack: Buffer, needle: Buffer, at: number): Buffer {
  const start = haystack.indexOf(needle)
  assert.ok(start >= 0, 'content not found inside the signature')
  const copy = Buffer.from(haystack)
  copy[start + at] ^= 0x01
  return copy
}

/** How openssl prints an ASN.1 time: "Mar  4 10:20:30 2025 GMT" */
function opensslTime(date: Date): string {
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']
  const pad = (n: number) => String(n).padStart(2, '0')
  const clock = `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}`
  return `${months[date.getUTCMonth()]} ${String(date.getUTCDate()).padStart(2, ' ')} ${clock} ${date.getUTCFullYear()} GMT`
}

function flusso(size?: number): Buffer {
  const xml = '<?xml version="1.0" encoding="UTF-8"?>\n<Flusso><Ente Codice="C123" Denominazione="Comune di Forlì &amp; Cesena"/></Flusso>\n'
  if (size === undefined) return Buffer.from(xml)
  // large and incompressible: exercises asn1js' 16 MiB limit and the byte-exact copy
  return Buffer.concat([Buffer.from(xml), randomBytes(size)])
}

// ---------------------------------------------------------------------------------------------

describe('sign: PKCS#12 and CAdES-BES', function () {
  this.timeout(300_000)
  let pki: Pki
  let ente: Pkcs12Contents
  // certificates are issued "now" by the test: sign just after, with milliseconds that UTCTime drops
  let signingTime: Date
  const now = () => new Date()

  before(() => {
    pki = makePki()
    ente = loadPkcs12(pki.p12.modern, PASSPHRASE)
    signingTime = new Date(Math.floor(Date.now() / 1000) * 1000 + 456)
  })
  after(() => rmSync(pki.dir, {recursive: true, force: true}))

  describe('loadPkcs12', () => {
    it('returns the certificate byte for byte, its key and the chain', () => {
      const der = pemToDer(readFileSync(join(pki.dir, 'ente.pem'), 'utf8'))
      assert.ok(ente.certificate.der.equals(der), 'certificate DER differs from what openssl issued')
      assert.equal(ente.privateKey.asymmetricKeyType, 'rsa')
      assert.equal(ente.chain.length, 1)
      assert.ok(ente.chain[0].equals(pemToDer(readFileSync(join(pki.dir, 'ca.pem'), 'utf8'))))
      assert.deepEqual(ente.certificate.keyUsage, ['digitalSignature', 'nonRepudiation'])
      checkSigningCertificate(ente.certificate, now())
    })

    it('describes the certificate: subject, issuer, serial and dates', () => {
      const d = describeCertificate(ente.certificate)
      assert.equal(d.subject.commonName, 'Mario Rossi')
      assert.equal(d.subject.organization, 'Comune di Forlì')
      assert.equal(d.subject.serialNumber, 'TINIT-RSSMRA80A01D704X')
      assert.equal(d.subject.organizationIdentifier, 'VATIT-00606820401')
      assert.match(d.subject.text, /O=Comune di Forlì, .*CN=Mario Rossi/)
      assert.equal(d.issuer.commonName, 'CA di prova')
      assert.equal(d.issuer.organization, 'Certificatore di prova')
      assert.equal(d.serial, '1A2B3C4D')
      const x509 = new X509Certificate(ente.certificate.der)
      assert.equal(new Date(d.notBefore).getTime(), new Date(x509.validFrom).getTime())
      assert.equal(new Date(d.notAfter).getTime(), new Date(x509.validTo).getTime())
      assert.deepEqual(describeCertificate(ente.certificate.der), d)
    })

    it('reads a legacy (RC2/3DES) PKCS#12 too', function () {
      if (!pki.p12.legacy) this.skip()
      const info = openssl(pki.dir, ['pkcs12', '-in', pki.p12.legacy!, '-info', '-noout', '-legacy', '-passin', `pass:${PASSPHRASE}`])
      assert.match(info.stdout + info.stderr, /RC2/, 'openssl -legacy should have used RC2 for the certificates')
      const legacy = loadPkcs12(pki.p12.legacy!, PASSPHRASE)
      assert.ok(legacy.certificate.der.equals(ente.certificate.der))
      assert.equal(legacy.chain.length, 1)
    })

    it('accepts a passphrase with accents and symbols, in modern and legacy files', () => {
      for (const file of pki.p12.accented) {
        assert.ok(loadPkcs12(file, ACCENTED).certificate.der.equals(ente.certificate.der), file)
        const error = caught(() => loadPkcs12(file, 'Citta di Forli €2024'), 'P12_WRONG_PASSPHRASE')
        assert.ok(!error.message.includes('Forl'))
      }
    })

    it('loads RSA-PSS and EC keys, which node-forge cannot parse by itself', () => {
      for (const file of [pki.p12.rsaPss, pki.p12.ec]) {
        const p12 = loadPkcs12(file, PASSPHRASE)
        assert.ok(['rsa-pss', 'ec'].includes(p12.privateKey.asymmetricKeyType!))
        assert.equal(p12.chain.length, 1)
      }
    })

    it('wrong passphrase: P12_WRONG_PASSPHRASE, in Italian, without the passphrase', () => {
      for (const file of [pki.p12.modern, ...(pki.p12.legacy ? [pki.p12.legacy] : [])]) {
        const error = caught(() => loadPkcs12(file, WRONG), 'P12_WRONG_PASSPHRASE')
        assert.match(error.message, /La passphrase del certificato .* non è corretta/)
        const everything = JSON.stringify({message: error.message, suggestions: error.suggestions, stack: error.stack})
        assert.ok(!everything.includes(WRONG), 'the wrong passphrase leaked into the error')
        assert.ok(!everything.includes(PASSPHRASE), 'the passphrase leaked into the error')
        assert.ok(error.suggestions.some((s) => s.includes('CASELLARIO_P12_PASSPHRASE')))
      }
    })

    it('missing or non-PKCS#12 file: P12_UNREADABLE', () => {
      assert.match(caught(() => loadPkcs12(join(pki.dir, 'nope.p12'), PASSPHRASE), 'P12_UNREADABLE').message, /non esiste/)
      assert.match(caught(() => loadPkcs12(join(pki.dir, 'ente.pem'), PASSPHRASE), 'P12_UNREADABLE').message, /non è un certificato PKCS#12/)
    })
  })

  describe('checkSigningCertificate', () => {
    it('expired (openssl ca -enddate in the past): CERTIFICATE_EXPIRED with the date', async () => {
      const expired = loadPkcs12(pki.p12.expired, PASSPHRASE)
      const error = caught(() => checkSigningCertificate(expired.certificate, now()), 'CERTIFICATE_EXPIRED')
      // 2021-01-01T00:00:00Z is 01:00 in Rome
      assert.match(error.message, /è scaduto il 01\/01\/2021 alle 01:00/)
      assert.match(error.message, /01\/01\/2020/)
      assert.ok(!error.message.includes(PASSPHRASE))
      // and signing refuses it as well
      await caughtAsync(() => signCades(flusso(), expired.privateKey, expired.certificate, expired.chain, {detached: false, signingTime: now()}), 'CERTIFICATE_EXPIRED')
    })

    it('not yet valid: CERTIFICATE_NOT_YET_VALID with the date', () => {
      const later = loadPkcs12(pki.p12.notYetValid, PASSPHRASE)
      const error = caught(() => checkSigningCertificate(later.certificate, now()), 'CERTIFICATE_NOT_YET_VALID')
      assert.match(error.message, /non è ancora valido: lo sarà dal 01\/01\/2099/)
    })

    it('keyUsage keyEncipherment only: CERTIFICATE_KEY_USAGE', () => {
      const enc = loadPkcs12(pki.p12.encipherOnly, PASSPHRASE)
      assert.deepEqual(enc.certificate.keyUsage, ['keyEncipherment'])
      const error = caught(() => checkSigningCertificate(enc.certificate, now()), 'CERTIFICATE_KEY_USAGE')
      assert.match(error.message, /non è abilitato alla firma.*keyEncipherment.*digitalSignature o nonRepudiation/)
    })
  })

  describe('signCades + openssl cms', () => {
    const original = flusso()
    let p7m: Buffer
    let p7s: Buffer

    before(async () => {
      p7m = await signCades(original, ente.privateKey, ente.certificate, ente.chain, {detached: false, signingTime})
      p7s = await signCades(original, ente.privateKey, ente.certificate, ente.chain, {detached: true, signingTime})
      writeFileSync(join(pki.dir, 'f.xml'), original)
      writeFileSync(join(pki.dir, 'f.p7m'), p7m)
      writeFileSync(join(pki.dir, 'f.p7s'), p7s)
    })

    it('attached .p7m verifies with openssl cms -verify (and -cades), content recovered intact', () => {
      mustOpenssl(pki.dir, ['cms', '-verify', '-inform', 'DER', '-in', 'f.p7m', '-CAfile', 'ca.pem', '-out', 'recovered', '-attime', String(Math.floor(signingTime.getTime() / 1000))])
      assert.ok(readFileSync(join(pki.dir, 'recovered')).equals(original))
      // -cades also checks the signing-certificate-v2 hash against the signer's certificate
      mustOpenssl(pki.dir, ['cms', '-verify', '-cades', '-inform', 'DER', '-in', 'f.p7m', '-CAfile', 'ca.pem', '-out', 'recovered2'])
      assert.ok(readFileSync(join(pki.dir, 'recovered2')).equals(original))
    })

    it('detached .p7s verifies with openssl cms -verify -content', () => {
      mustOpenssl(pki.dir, ['cms', '-verify', '-cades', '-inform', 'DER', '-in', 'f.p7s', '-content', 'f.xml', '-CAfile', 'ca.pem', '-binary', '-out', 'recovered3'])
      assert.ok(readFileSync(join(pki.dir, 'recovered3')).equals(original))
    })

    it('carries the CAdES signed attributes, signingCertificateV2 included', () => {
      for (const file of ['f.p7m', 'f.p7s']) {
        const printed = mustOpenssl(pki.dir, ['cms', '-cmsout', '-print', '-inform', 'DER', '-in', file])
        assert.ok(printed.includes('object: id-smime-aa-signingCertificateV2 (1.2.840.113549.1.9.16.2.47)'), printed)
        // ESSCertIDv2.certHash is the SHA-256 of the signer's certificate
        const certHash = createHash('sha256').update(ente.certificate.der).digest('hex').toUpperCase()
        assert.ok(printed.includes(`OCTET STRING      [HEX DUMP]:${certHash}`), printed)
        assert.match(printed, /contentType/)
        assert.match(printed, /messageDigest/)
        assert.match(printed, /signingTime/)
        assert.ok(printed.includes(`UTCTIME:${opensslTime(signingTime)}`), printed)
        assert.match(printed, /digestAlgorithm:\s*\n\s*algorithm: sha256/)
      }
      const attached = mustOpenssl(pki.dir, ['cms', '-cmsout', '-print', '-inform', 'DER', '-in', 'f.p7m'])
      const detached = mustOpenssl(pki.dir, ['cms', '-cmsout', '-print', '-inform', 'DER', '-in', 'f.p7s'])
      assert.match(attached, /eContent:\s*\n\s*0000 - /)
      assert.match(detached, /eContent: <ABSENT>/)
    })

    it('a flipped byte in the content fails both openssl and verifyCades', async () => {
      const tampered = flipInside(p7m, original, 40)
      writeFileSync(join(pki.dir, 'tampered.p7m'), tampered)
      const r = openssl(pki.dir, ['cms', '-verify', '-inform', 'DER', '-in', 'tampered.p7m', '-CAfile', 'ca.pem', '-out', 'nothing'])
      assert.notEqual(r.status, 0)
      assert.match(r.stderr, /digest failure|verification failure/i)
      const ours = await verifyCades(tampered, {caFile: join(pki.dir, 'ca.pem')})
      assert.equal(ours.valid, false)
      assert.equal(ours.integrity, false)
      assert.match(ours.reason!, /modificato dopo la firma/)
      assert.equal(ours.signer?.subject.commonName, 'Mario Rossi')

      const changed = Buffer.from(original)
      changed[40] ^= 0x01
      writeFileSync(join(pki.dir, 'changed.xml'), changed)
      const d = openssl(pki.dir, ['cms', '-verify', '-inform', 'DER', '-in', 'f.p7s', '-content', 'changed.xml', '-CAfile', 'ca.pem', '-binary', '-out', 'nothing'])
      assert.notEqual(d.status, 0)
      const oursDetached = await verifyCades(p7s, {detachedContent: changed})
      assert.equal(oursDetached.valid, false)
      assert.equal(oursDetached.integrity, false)
      assert.match(oursDetached.reason!, /modificato dopo la firma/)
    })
  })

  describe('verifyCades', () => {
    const original = flusso()

    it('passes on good attached and detached signatures and reports the signer', async () => {
      const p7m = await signCades(original, ente.privateKey, ente.certificate, ente.chain, {detached: false, signingTime})
      const r = await verifyCades(p7m, {caFile: join(pki.dir, 'ca.pem')})
      assert.equal(r.reason, undefined)
      assert.equal(r.valid, true)
      assert.equal(r.integrity, true)
      assert.equal(r.chainTrusted, true)
      assert.equal(r.detached, false)
      assert.ok(r.content?.equals(original))
      assert.equal(r.signingTime, new Date(Math.floor(signingTime.getTime() / 1000) * 1000).toISOString())
      assert.deepEqual(r.signer, describeCertificate(ente.certificate))

      const p7s = await signCades(original, ente.privateKey, ente.certificate, ente.chain, {detached: true, signingTime})
      const d = await verifyCades(p7s, {detachedContent: original})
      assert.equal(d.valid, true)
      assert.equal(d.detached, true)
      assert.equal(d.chainTrusted, undefined, 'no caFile: trust not assessed')
      assert.equal(d.content, undefined)
      assert.equal(d.signer?.subject.serialNumber, 'TINIT-RSSMRA80A01D704X')
    })

    it('reads the signature from a file path, and base64/PEM .p7m as well as DER', async () => {
      const file = join(pki.dir, 'path-input.xml')
      writeFileSync(file, original)
      const p7m = await signCades(file, ente.privateKey, ente.certificate, ente.chain, {detached: false, signingTime})
      const pem = `-----BEGIN CMS-----\n${p7m.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END CMS-----\n`
      assert.equal((await verifyCades(Buffer.from(pem))).valid, true)
      assert.equal((await verifyCades(Buffer.from(p7m.toString('base64')))).valid, true)
    })

    it('verifies what openssl signs with -cades (interoperability the other way)', async () => {
      writeFileSync(join(pki.dir, 'f.xml'), original)
      mustOpenssl(pki.dir, ['cms', '-sign', '-cades', '-binary', '-nodetach', '-md', 'sha256', '-in', 'f.xml', '-signer', 'ente.pem', '-inkey', 'ente.key',
        '-certfile', 'ca.pem', '-outform', 'DER', '-out', 'openssl.p7m'])
      const r = await verifyCades(readFileSync(join(pki.dir, 'openssl.p7m')), {caFile: join(pki.dir, 'ca.pem')})
      assert.equal(r.reason, undefined)
      assert.equal(r.valid, true)
      assert.ok(r.content?.equals(readFileSync(join(pki.dir, 'f.xml'))))
      // and a streamed (BER, indefinite-length, chunked content) one
      mustOpenssl(pki.dir, ['cms', '-sign', '-cades', '-binary', '-nodetach', '-stream', '-md', 'sha256', '-in', 'f.xml', '-signer', 'ente.pem', '-inkey', 'ente.key',
        '-outform', 'DER', '-out', 'stream.p7m'])
      const s = await verifyCades(readFileSync(join(pki.dir, 'stream.p7m')))
      assert.equal(s.reason, undefined)
      assert.equal(s.valid, true)
    })

    it('a signer certificate swapped for another with the same key fails the signing-certificate-v2 check', async () => {
      const p7m = await signCades(original, ente.privateKey, ente.certificate, ente.chain, {detached: false, signingTime})
      assert.equal(pki.reissued.length, ente.certificate.der.length)
      const swapped = Buffer.from(p7m)
      const at = swapped.indexOf(ente.certificate.der)
      pki.reissued.copy(swapped, at)
      const r = await verifyCades(swapped, {caFile: join(pki.dir, 'ca.pem')})
      assert.equal(r.integrity, true, 'the signature itself still matches the key')
      assert.equal(r.valid, false)
      assert.match(r.reason!, /signing-certificate-v2 non corrisponde/)
      writeFileSync(join(pki.dir, 'swapped.p7m'), swapped)
      const o = openssl(pki.dir, ['cms', '-verify', '-cades', '-inform', 'DER', '-in', 'swapped.p7m', '-CAfile', 'ca.pem', '-out', 'nothing'])
      assert.notEqual(o.status, 0, 'openssl -cades should reject it too')
    })

    it('an untrusted CA, or a date past the certificate, gives chainTrusted:false', async () => {
      const p7m = await signCades(original, ente.privateKey, ente.certificate, ente.chain, {detached: false, signingTime})
      const other = await verifyCades(p7m, {caFile: join(pki.dir, 'other-ca.pem')})
      assert.equal(other.integrity, true)
      assert.equal(other.chainTrusted, false)
      assert.equal(other.valid, false)
      assert.match(other.reason!, /non fidata: il certificato del firmatario non discende/)
      const late = await verifyCades(p7m, {caFile: join(pki.dir, 'ca.pem'), now: new Date(Date.now() + 5 * 365 * 86_400_000)})
      assert.equal(late.chainTrusted, false)
      assert.match(late.reason!, /scaduto o non ancora valido/)
    })

    it('typed errors only for unreadable input or a missing detached content', async () => {
      await caughtAsync(() => verifyCades(original), 'SIGNATURE_UNREADABLE')
      await caughtAsync(() => verifyCades(Buffer.from([0x30, 0x03, 0x02, 0x01, 0x01])), 'SIGNATURE_UNREADABLE')
      const p7s = await signCades(original, ente.privateKey, ente.certificate, ente.chain, {detached: true, signingTime})
      await caughtAsync(() => verifyCades(p7s), 'SIGNATURE_CONTENT_MISSING')
      // truncated: unreadable, not "invalid"
      await caughtAsync(() => verifyCades(p7s.subarray(0, p7s.length - 10), {detachedContent: original}), 'SIGNATURE_UNREADABLE')
    })
  })

  describe('other keys and sizes', () => {
    it('RSA-PSS and EC keys sign CAdES that openssl verifies', async () => {
      const original = flusso()
      for (const [name, file] of [['pss', pki.p12.rsaPss], ['ec', pki.p12.ec]] as const) {
        const p12 = loadPkcs12(file, PASSPHRASE)
        const p7m = await signCades(original, p12.privateKey, p12.certificate, p12.chain, {detached: false, signingTime: now()})
        writeFileSync(join(pki.dir, `${name}.p7m`), p7m)
        mustOpenssl(pki.dir, ['cms', '-verify', '-cades', '-inform', 'DER', '-in', `${name}.p7m`, '-CAfile', 'ca.pem', '-out', `${name}.out`])
        assert.ok(readFileSync(join(pki.dir, `${name}.out`)).equals(original))
        const r = await verifyCades(p7m, {caFile: join(pki.dir, 'ca.pem')})
        assert.equal(r.reason, undefined, name)
        assert.equal(r.valid, true)
      }
      const printed = mustOpenssl(pki.dir, ['cms', '-cmsout', '-print', '-inform', 'DER', '-in', 'pss.p7m'])
      assert.match(printed, /rsassaPss/)
    })

    it('a flusso over 16 MiB signs attached and verifies (asn1js limit raised)', async () => {
      const big = flusso(17 * 1024 * 1024)
      const p7m = await signCades(big, ente.privateKey, ente.certificate, ente.chain, {detached: false, signingTime: now()})
      const r = await verifyCades(p7m)
      assert.equal(r.valid, true, r.reason)
      assert.ok(r.content?.equals(big))
      writeFileSync(join(pki.dir, 'big.p7m'), p7m)
      mustOpenssl(pki.dir, ['cms', '-verify', '-inform', 'DER', '-in', 'big.p7m', '-CAfile', 'ca.pem', '-out', 'big.out'])
      assert.ok(readFileSync(join(pki.dir, 'big.out')).equals(big))
    })
  })
})
