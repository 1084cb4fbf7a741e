/**
 * The ente's signing identity from a PKCS#12 file (DESIGN §7): certificate, private key and chain,
 * plus the checks we make before signing (validity dates, key usage).
 *
 * node-forge reads the PKCS#12 because it decrypts both modern (PBES2/AES) and legacy (RC2/3DES)
 * files, which is what certificatori and old smart-card tools still hand out. Everything after that
 * (certificate fields, key handling) uses node:crypto and pkijs on exact DER bytes.
 */
import {createPrivateKey, createPublicKey, X509Certificate, type KeyObject} from 'node:crypto'
import {readFileSync} from 'node:fs'

import * as asn1js from 'asn1js'
import forge from 'node-forge'
import * as pkijs from 'pkijs'

import {UsageError} from '../errors/index.js'

export interface DistinguishedName {
  /** one line, in the order the certificate lists the attributes: "C=IT, O=Comune di …, CN=…" */
  text: string
  commonName?: string
  organization?: string
  organizationalUnit?: string
  /** the serialNumber *attribute* of the name (e.g. "TINIT-<codice fiscale>"), not the certificate serial */
  serialNumber?: string
  /** e.g. "VATIT-<partita IVA>" for an ente */
  organizationIdentifier?: string
  country?: string
}

export type KeyUsageName =
  | 'digitalSignature'
  | 'nonRepudiation'
  | 'keyEncipherment'
  | 'dataEncipherment'
  | 'keyAgreement'
  | 'keyCertSign'
  | 'cRLSign'
  | 'encipherOnly'
  | 'decipherOnly'

const KEY_USAGE_BITS: KeyUsageName[] = [
  'digitalSignature',
  'nonRepudiation',
  'keyEncipherment',
  'dataEncipherment',
  'keyAgreement',
  'keyCertSign',
  'cRLSign',
  'encipherOnly',
  'decipherOnly',
]

export interface CertificateInfo {
  /** the certificate exactly as issued: what signing-certificate-v2 hashes */
  der: Buffer
  subject: DistinguishedName
  issuer: DistinguishedName
  /** certificate serial number, upper-case hex */
  serialNumber: string
  notBefore: Date
  notAfter: Date
  /** undefined when the certificate has no keyUsage extension (then any use is allowed) */
  keyUsage?: KeyUsageName[]
  /** SHA-256 of the DER, upper-case hex with colons (as openssl prints it) */
  fingerprint256: string
}

export interface Pkcs12Contents {
  certificate: CertificateInfo
  /**
   * A node:crypto KeyObject rather than a PEM string: it works with crypto.sign, with jose and with
   * WebCrypto (via export), and it cannot end up in a log by accident the way a string can.
   */
  privateKey: KeyObject
  /** the other certificates in the file (intermediate and root CAs), DER */
  chain: Buffer[]
}

export interface CertificateDescription {
  subject: {commonName?: string; organization?: string; serialNumber?: string; organizationIdentifier?: string; text: string}
  issuer: {commonName?: string; organization?: string; text: string}
  serial: string
  notBefore: string
  notAfter: string
}

const NAME_ATTRIBUTES: Record<string, {short: string; field?: Exclude<keyof DistinguishedName, 'text'>}> = {
  '2.5.4.3': {short: 'CN', field: 'commonName'},
  '2.5.4.10': {short: 'O', field: 'organization'},
  '2.5.4.11': {short: 'OU', field: 'organizationalUnit'},
  '2.5.4.5': {short: 'serialNumber', field: 'serialNumber'},
  '2.5.4.97': {short: 'organizationIdentifier', field: 'organizationIdentifier'},
  '2.5.4.6': {short: 'C', field: 'country'},
  '2.5.4.7': {short: 'L'},
  '2.5.4.8': {short: 'ST'},
  '2.5.4.4': {short: 'SN'},
  '2.5.4.42': {short: 'GN'},
  '2.5.4.12': {short: 'title'},
  '2.5.4.46': {short: 'dnQualifier'},
  '1.2.840.113549.1.9.1': {short: 'emailAddress'},
}

const PASSPHRASE_SUGGESTIONS = [
  {
    it: 'Reinserisci la passphrase con "casellario login" (la salva nel portachiavi del sistema).',
    en: "Enter the passphrase again with \"casellario login\" (it is saved in the system's keychain).",
  },
  {
    it: 'Su un server senza portachiavi, impostala nella variabile d\'ambiente CASELLARIO_P12_PASSPHRASE.',
    en: 'On a server without a keychain, set it in the CASELLARIO_P12_PASSPHRASE environment variable.',
  },
]

/** Reads a PKCS#12 file and returns the signing certificate, its private key and the chain. */
/**
 * Whether a file is a PKCS#12 container at all (a DER/BER PFX of version 3), without its
 * passphrase: `init` can refuse a text file named .p12 now rather than at the first signature.
 */
export function looksLikePkcs12(file: string): boolean {
  try {
    const asn1 = forge.asn1.fromDer(forge.util.createBuffer(readFileSync(file).toString('binary')), false)
    const version = Array.isArray(asn1.value) ? asn1.value[0] : undefined
    return version !== undefined && version.type === forge.asn1.Type.INTEGER && forge.util.createBuffer(version.value as string).getInt(8 * (version.value as string).length) === 3
  } catch {
    return false
  }
}

export function loadPkcs12(file: string, passphrase: string): Pkcs12Contents {
  let bytes: Buffer
  try {
    bytes = readFileSync(file)
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT'
    throw new UsageError('P12_UNREADABLE', {
      it: `Il certificato ${file} non è utilizzabile: ${missing ? 'il file non esiste' : 'il file non si può leggere'}.`,
      en: `The certificate ${file} cannot be used: ${missing ? 'the file does not exist' : 'the file cannot be read'}.`,
    }, {
      suggestions: [{
        it: 'Controlla il percorso in "casellario config get sign.certificate" o nella variabile CASELLARIO_P12.',
        en: 'Check the path in "casellario config get sign.certificate" or in the CASELLARIO_P12 variable.',
      }],
      cause: error,
    })
  }

  let p12: forge.pkcs12.Pkcs12Pfx
  try {
    // strict=false: PKCS#12 files exported by Windows and by smart-card tools are often BER, not DER
    const asn1 = forge.asn1.fromDer(forge.util.createBuffer(bytes.toString('binary')), false)
    p12 = decodePkcs12(asn1, passphrase)
  } catch (error) {
    // forge reports a wrong passphrase as a failed MAC check or a failed decryption; the messages
    // are forge's own and never contain the passphrase, but we keep them out of ours anyway
    const message = error instanceof Error ? error.message : ''
    if (/password|MAC could not be verified|decrypt/i.test(message)) {
      throw new UsageError('P12_WRONG_PASSPHRASE', {it: `La passphrase del certificato ${file} non è corretta.`, en: `The passphrase of the certificate ${file} is wrong.`}, {suggestions: PASSPHRASE_SUGGESTIONS})
    }
    throw new UsageError('P12_UNREADABLE', {it: `Il file ${file} non è un certificato PKCS#12 (.p12/.pfx) leggibile.`, en: `The file ${file} is not a readable PKCS#12 certificate (.p12/.pfx).`}, {
      suggestions: [{
        it: 'Esporta di nuovo il certificato di firma dell\'ente in formato PKCS#12 (.p12 o .pfx), con la chiave privata.',
        en: "Export the ente's signing certificate again as PKCS#12 (.p12 or .pfx), with its private key.",
      }],
    })
  }

  const keys = [
    ...(p12.getBags({bagType: forge.pki.oids.pkcs8ShroudedKeyBag})[forge.pki.oids.pkcs8ShroudedKeyBag] ?? []),
    ...(p12.getBags({bagType: forge.pki.oids.keyBag})[forge.pki.oids.keyBag] ?? []),
  ]
    .map(keyOf)
    .filter((key): key is BagKey => key !== undefined)
  const certificates = (p12.getBags({bagType: forge.pki.oids.certBag})[forge.pki.oids.certBag] ?? [])
    .map(certificateDer)
    .filter((der): der is Buffer => der !== undefined)

  if (keys.length === 0) {
    throw new UsageError('P12_NO_KEY', {
      it: `Il file ${file} contiene solo certificati, senza la chiave privata: non si può usare per firmare.`,
      en: `The file ${file} holds only certificates, without the private key: it cannot be used to sign.`,
    }, {
      suggestions: [{
        it: 'Esporta il certificato includendo la chiave privata (in Windows: "Sì, esporta la chiave privata").',
        en: 'Export the certificate including the private key (in Windows: "Yes, export the private key").',
      }],
    })
  }

  // The signing certificate is the one whose public key matches the private key: the order of the
  // bags and their friendlyName/localKeyId attributes vary between the tools that write PKCS#12.
  for (const key of keys) {
    for (const [index, der] of certificates.entries()) {
      const spki = spkiOfCertificate(der)
      const privateKey = spki && privateKeyFor(key, spki)
      if (!privateKey || !spkiOf(privateKey).equals(spki)) continue
      return {
        certificate: parseCertificate(der),
        privateKey,
        chain: certificates.filter((_, i) => i !== index),
      }
    }
  }
  throw new UsageError('P12_NO_CERTIFICATE', {
    it: `Nel file ${file} non c'è il certificato che corrisponde alla chiave privata, oppure la chiave è di un tipo non supportato.`,
    en: `The file ${file} does not hold the certificate that matches the private key, or the key is of an unsupported type.`,
  }, {
    suggestions: [{
      it: 'Esporta di nuovo il certificato di firma dell\'ente includendo il certificato e la catena.',
      en: "Export the ente's signing certificate again, including the certificate and its chain.",
    }],
  })
}

const MAC_FAILED = /MAC could not be verified/

/**
 * forge derives the MAC key from the passphrase as Unicode (BMPString, like openssl), but feeds the
 * PBES2/PBKDF2 decryption of modern files the JavaScript string as if it were bytes, while openssl
 * uses its UTF-8 bytes: a passphrase with "è" or "€" passes the MAC check and then fails to decrypt.
 * In that one case the MAC has already proved the passphrase right, so decrypt again without the
 * MAC (already checked) and with the UTF-8 bytes.
 */
function decodePkcs12(asn1: forge.asn1.Asn1, passphrase: string): forge.pkcs12.Pkcs12Pfx {
  try {
    return forge.pkcs12.pkcs12FromAsn1(asn1, false, passphrase)
  } catch (error) {
    const message = error instanceof Error ? error.message : ''
    const hasMac = Array.isArray(asn1.value) && asn1.value.length > 2
    if (!hasMac || MAC_FAILED.test(message) || !/[^\x20-\x7e]/.test(passphrase)) throw error
    const withoutMac = {...asn1, value: (asn1.value as forge.asn1.Asn1[]).slice(0, 2)}
    return forge.pkcs12.pkcs12FromAsn1(withoutMac, false, forge.util.encodeUtf8(passphrase))
  }
}

/**
 * A key from the PKCS#12. forge parses any key whose body is an RSAPrivateKey and forgets the
 * algorithm it was declared with (so an RSA-PSS-only key would come back as plain RSA): for those we
 * keep the bare RSAPrivateKey and take the algorithm from the matching certificate. Keys forge does
 * not parse at all (EC, …) arrive as the decrypted PKCS#8.
 */
type BagKey = {rsaPrivateKey: Buffer} | {pkcs8: Buffer}

function keyOf(bag: forge.pkcs12.Bag): BagKey | undefined {
  if (bag.key) return {rsaPrivateKey: forgeDer(forge.pki.privateKeyToAsn1(bag.key as forge.pki.rsa.PrivateKey))}
  if (bag.asn1) return {pkcs8: forgeDer(bag.asn1)}
  return undefined
}

function privateKeyFor(key: BagKey, certificateSpki: Buffer): KeyObject | undefined {
  let pkcs8: Buffer
  if ('pkcs8' in key) {
    pkcs8 = key.pkcs8
  } else {
    // PrivateKeyInfo { version 0, the certificate's AlgorithmIdentifier, OCTET STRING RSAPrivateKey }
    const algorithm = (asn1js.fromBER(certificateSpki).result as asn1js.Sequence).valueBlock.value[0]
    pkcs8 = Buffer.from(
      new asn1js.Sequence({value: [new asn1js.Integer({value: 0}), algorithm, new asn1js.OctetString({valueHex: key.rsaPrivateKey})]}).toBER(),
    )
  }
  try {
    return createPrivateKey({key: pkcs8, format: 'der', type: 'pkcs8'})
  } catch {
    // not this certificate's key type, or a key type node cannot use
    return undefined
  }
}

/**
 * DER of a certificate bag, byte for byte as issued. forge's certificateToAsn1 rebuilds the outer
 * signature AlgorithmIdentifier from its parsed OID (adding or dropping a NULL parameter); RFC 5280
 * requires it to equal the `signature` field inside the TBSCertificate, so we copy that one instead.
 */
function certificateDer(bag: forge.pkcs12.Bag): Buffer | undefined {
  if (!bag.cert) return bag.asn1 ? forgeDer(bag.asn1) : undefined
  const cert = bag.cert as forge.pki.Certificate & {tbsCertificate: forge.asn1.Asn1}
  const tbs = cert.tbsCertificate
  const fields = tbs.value as forge.asn1.Asn1[]
  // an explicit version [0] comes first in v2/v3 certificates
  const signatureAlgorithm = fields[fields[0].tagClass === forge.asn1.Class.CONTEXT_SPECIFIC ? 2 : 1]
  const {asn1} = forge
  return forgeDer(
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
      tbs,
      signatureAlgorithm,
      asn1.create(asn1.Class.UNIVERSAL, asn1.Type.BITSTRING, false, String.fromCharCode(0) + cert.signature),
    ]),
  )
}

function forgeDer(node: forge.asn1.Asn1): Buffer {
  return Buffer.from(forge.asn1.toDer(node).getBytes(), 'binary')
}

function spkiOf(key: KeyObject): Buffer {
  return createPublicKey(key).export({format: 'der', type: 'spki'})
}

function spkiOfCertificate(der: Buffer): Buffer | undefined {
  try {
    return new X509Certificate(der).publicKey.export({format: 'der', type: 'spki'})
  } catch {
    return undefined
  }
}

/** Structured fields of a DER certificate. */
export function parseCertificate(der: Buffer): CertificateInfo {
  const cert = pkijsCertificate(der)
  const x509 = new X509Certificate(der)
  return {
    der,
    subject: parseName(cert.subject),
    issuer: parseName(cert.issuer),
    serialNumber: x509.serialNumber.toUpperCase(),
    notBefore: cert.notBefore.value,
    notAfter: cert.notAfter.value,
    keyUsage: keyUsageOf(cert),
    fingerprint256: x509.fingerprint256,
  }
}

/** The pkijs view of a certificate, for the ASN.1 structures (issuer, serial) that CMS reuses. */
export function pkijsCertificate(der: Uint8Array): pkijs.Certificate {
  return new pkijs.Certificate({schema: asn1js.fromBER(der).result})
}

function parseName(name: pkijs.RelativeDistinguishedNames): DistinguishedName {
  const result: DistinguishedName = {text: ''}
  const parts: string[] = []
  for (const tv of name.typesAndValues) {
    const attribute = NAME_ATTRIBUTES[tv.type]
    const value = stringValue(tv.value)
    parts.push(`${attribute?.short ?? tv.type}=${value}`)
    if (attribute?.field && result[attribute.field] === undefined) result[attribute.field] = value
  }
  result.text = parts.join(', ')
  return result
}

function stringValue(value: unknown): string {
  const block = (value as {valueBlock?: {value?: unknown; valueHexView?: Uint8Array}}).valueBlock
  if (typeof block?.value === 'string') return block.value
  // not a string type (rare): show it as openssl does, "#" and the hex
  return `#${Buffer.from(block?.valueHexView ?? []).toString('hex')}`
}

function keyUsageOf(cert: pkijs.Certificate): KeyUsageName[] | undefined {
  const extension = cert.extensions?.find((e) => e.extnID === '2.5.29.15')
  if (!extension) return undefined
  const bits = extension.parsedValue as asn1js.BitString | undefined
  const bytes = bits?.valueBlock.valueHexView ?? new Uint8Array()
  // KeyUsage is a named BIT STRING: bit 0 (digitalSignature) is the most significant bit of byte 0
  return KEY_USAGE_BITS.filter((_, bit) => ((bytes[bit >> 3] ?? 0) & (0x80 >> (bit & 7))) !== 0)
}

/** Fails with a typed error when the certificate cannot be used to sign at `now`. */
export function checkSigningCertificate(cert: CertificateInfo, now: Date = new Date()): void {
  const who = cert.subject.commonName ?? cert.subject.text
  if (now < cert.notBefore) {
    throw new UsageError(
      'CERTIFICATE_NOT_YET_VALID',
      {
        it: `Il certificato di firma "${who}" non è ancora valido: lo sarà dal ${formatDate(cert.notBefore)} (scade il ${formatDate(cert.notAfter)}).`,
        en: `The signing certificate "${who}" is not valid yet: it will be from ${formatDate(cert.notBefore)} (it expires on ${formatDate(cert.notAfter)}).`,
      },
      {suggestions: [{
        it: 'Controlla la data e l\'ora di questo computer, oppure attendi l\'inizio della validità del certificato.',
        en: "Check this computer's date and time, or wait until the certificate becomes valid.",
      }]},
    )
  }
  if (now > cert.notAfter) {
    throw new UsageError(
      'CERTIFICATE_EXPIRED',
      {
        it: `Il certificato di firma "${who}" è scaduto il ${formatDate(cert.notAfter)} (era valido dal ${formatDate(cert.notBefore)}).`,
        en: `The signing certificate "${who}" expired on ${formatDate(cert.notAfter)} (it was valid from ${formatDate(cert.notBefore)}).`,
      },
      {suggestions: [{
        it: 'Rinnova il certificato presso il certificatore e indica il nuovo file con "casellario config set sign.certificate FILE".',
        en: 'Renew the certificate with its certification authority and give the new file with "casellario config set sign.certificate FILE".',
      }]},
    )
  }
  if (cert.keyUsage && !cert.keyUsage.includes('digitalSignature') && !cert.keyUsage.includes('nonRepudiation')) {
    const usages = cert.keyUsage.length > 0 ? cert.keyUsage.join(', ') : undefined
    throw new UsageError(
      'CERTIFICATE_KEY_USAGE',
      {
        it: `Il certificato "${who}" non è abilitato alla firma: il suo uso della chiave (keyUsage) è ${usages ?? 'nessuno'}, mentre serve digitalSignature o nonRepudiation.`,
        en: `The certificate "${who}" is not enabled for signing: its key usage (keyUsage) is ${usages ?? 'none'}, while digitalSignature or nonRepudiation is needed.`,
      },
      {suggestions: [{
        it: 'Usa il certificato di firma dell\'ente, non quello di autenticazione o di cifratura.',
        en: "Use the ente's signing certificate, not its authentication or encryption one.",
      }]},
    )
  }
}

/** What `casellario sign` and `verify` print about a certificate. */
export function describeCertificate(cert: CertificateInfo | Buffer): CertificateDescription {
  const info = Buffer.isBuffer(cert) ? parseCertificate(cert) : cert
  const {commonName, organization, serialNumber, organizationIdentifier, text} = info.subject
  return {
    subject: dropUndefined({commonName, organization, serialNumber, organizationIdentifier, text}),
    issuer: dropUndefined({commonName: info.issuer.commonName, organization: info.issuer.organization, text: info.issuer.text}),
    serial: info.serialNumber,
    notBefore: info.notBefore.toISOString(),
    notAfter: info.notAfter.toISOString(),
  }
}

function dropUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T
}

const ROME = new Intl.DateTimeFormat('it-IT', {
  timeZone: 'Europe/Rome',
  day: '2-digit',
  month: '2-digit',
  year: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
})

/** "31/12/2024 alle 23:59 (ora italiana)": certificate dates are read by people in Italy. */
export function formatDate(date: Date): string {
  const parts = Object.fromEntries(ROME.formatToParts(date).map((p) => [p.type, p.value]))
  return `${parts.day}/${parts.month}/${parts.year} alle ${parts.hour}:${parts.minute} (ora italiana)`
}
