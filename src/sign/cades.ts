/**
 * CAdES-BES signatures (DESIGN §7): CMS SignedData, SHA-256, with the signed attributes
 * contentType, messageDigest, signingTime and signing-certificate-v2 (RFC 5035), attached (.p7m)
 * or detached (.p7s). Must verify with `openssl cms -verify`.
 *
 * Signing writes the DER by hand (a dozen TLVs) instead of going through pkijs' SignedData: that
 * way the certificates and the issuer name are copied byte for byte from the certificate (the
 * signing-certificate-v2 hash and the IssuerAndSerialNumber must match it exactly), the content of
 * a large flusso is copied once, and the signed attributes come out in DER order, which matters
 * because openssl re-encodes them (sorted) before checking the signature.
 * Verification parses with asn1js/pkijs and checks each step itself, so that it can say in Italian
 * which one failed.
 */
import {
  constants,
  createHash,
  createPrivateKey,
  createPublicKey,
  KeyObject,
  sign as cryptoSign,
  verify as cryptoVerify,
  X509Certificate,
  type webcrypto,
} from 'node:crypto'
import {readFile} from 'node:fs/promises'

import * as asn1js from 'asn1js'
import * as pkijs from 'pkijs'

import {UsageError} from '../errors/index.js'
import {say} from '../i18n/messages.js'
import {checkSigningCertificate, describeCertificate, formatDate, parseCertificate, type CertificateDescription, type CertificateInfo} from './pkcs12.js'

export const OID = {
  data: '1.2.840.113549.1.7.1',
  signedData: '1.2.840.113549.1.7.2',
  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
  signingTime: '1.2.840.113549.1.9.5',
  signingCertificate: '1.2.840.113549.1.9.16.2.12',
  signingCertificateV2: '1.2.840.113549.1.9.16.2.47',
  sha256: '2.16.840.1.101.3.4.2.1',
  sha256WithRSAEncryption: '1.2.840.113549.1.1.11',
  rsassaPss: '1.2.840.113549.1.1.10',
  mgf1: '1.2.840.113549.1.1.8',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
} as const

const DIGESTS: Record<string, string> = {
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.4': 'sha224',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
}

/** Signature algorithms we accept when verifying; `hash: undefined` = take it from digestAlgorithm. */
const SIGNATURES: Record<string, {kind: 'rsa' | 'ecdsa'; hash?: string}> = {
  '1.2.840.113549.1.1.1': {kind: 'rsa'},
  '1.2.840.113549.1.1.5': {kind: 'rsa', hash: 'sha1'},
  '1.2.840.113549.1.1.14': {kind: 'rsa', hash: 'sha224'},
  '1.2.840.113549.1.1.11': {kind: 'rsa', hash: 'sha256'},
  '1.2.840.113549.1.1.12': {kind: 'rsa', hash: 'sha384'},
  '1.2.840.113549.1.1.13': {kind: 'rsa', hash: 'sha512'},
  '1.2.840.10045.2.1': {kind: 'ecdsa'},
  '1.2.840.10045.4.1': {kind: 'ecdsa', hash: 'sha1'},
  '1.2.840.10045.4.3.1': {kind: 'ecdsa', hash: 'sha224'},
  '1.2.840.10045.4.3.2': {kind: 'ecdsa', hash: 'sha256'},
  '1.2.840.10045.4.3.3': {kind: 'ecdsa', hash: 'sha384'},
  '1.2.840.10045.4.3.4': {kind: 'ecdsa', hash: 'sha512'},
}

export type SigningKey = KeyObject | webcrypto.CryptoKey | string

export interface SignOptions {
  /** true: .p7s without the content; false: .p7m with the content inside */
  detached: boolean
  signingTime: Date
}

// ---------------------------------------------------------------------------------------------
// DER building blocks

/**
 * DER under construction: a tree of pieces, joined once at the end, so that the content of a large
 * flusso is copied once instead of once per enclosing structure.
 */
type Der = Buffer | Der[]

const sizeOf = (der: Der): number => (Buffer.isBuffer(der) ? der.length : der.reduce((n, part) => n + sizeOf(part), 0))

function pieces(der: Der, out: Buffer[] = []): Buffer[] {
  if (Buffer.isBuffer(der)) out.push(der)
  else for (const part of der) pieces(part, out)
  return out
}

const joined = (der: Der): Buffer => Buffer.concat(pieces(der))

function tlv(tag: number, ...parts: Der[]): Der {
  return [Buffer.from([tag]), derLength(sizeOf(parts)), ...parts]
}

function derLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length])
  const bytes: number[] = []
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n % 256)
  return Buffer.from([0x80 | bytes.length, ...bytes])
}

const seq = (...parts: Der[]): Der => tlv(0x30, ...parts)
/** DER SET OF: elements sorted by their encoding (X.690 §11.6) */
const setOf = (...parts: Der[]): Der => tlv(0x31, ...parts.map(joined).sort(Buffer.compare))
/** [n] constructed, context-specific: EXPLICIT tags, and the IMPLICIT SET/SEQUENCE fields of CMS */
const context = (n: number, ...parts: Der[]): Der => tlv(0xa0 + n, ...parts)
const octetString = (bytes: Buffer): Der => tlv(0x04, bytes)
const integer = (value: number): Buffer => Buffer.from(new asn1js.Integer({value}).toBER())
const NULL = Buffer.from([0x05, 0x00])
const oid = (value: string): Buffer => Buffer.from(new asn1js.ObjectIdentifier({value}).toBER())
const algorithm = (id: string, params?: Der): Der => (params ? seq(oid(id), params) : seq(oid(id)))

/** RFC 5652 §11.3: UTCTime for 1950–2049, GeneralizedTime otherwise */
function time(date: Date): Buffer {
  const whole = new Date(Math.floor(date.getTime() / 1000) * 1000)
  const year = whole.getUTCFullYear()
  const node = year >= 1950 && year < 2050 ? new asn1js.UTCTime({valueDate: whole}) : new asn1js.GeneralizedTime({valueDate: whole})
  return Buffer.from(node.toBER())
}

const attribute = (type: string, value: Der): Der => seq(oid(type), setOf(value))

/** The parts of a certificate that CMS copies: issuer Name and serial INTEGER, as encoded. */
function issuerAndSerial(certificateDer: Buffer): {issuer: Buffer; serial: Buffer} {
  const certificate = asn1js.fromBER(certificateDer).result as asn1js.Sequence
  const tbs = certificate.valueBlock.value[0] as asn1js.Sequence
  const fields = tbs.valueBlock.value
  // v2/v3 certificates start with an explicit [0] version
  const first = fields[0].idBlock.tagClass === 3 ? 1 : 0
  return {
    serial: Buffer.from(fields[first].valueBeforeDecodeView),
    issuer: Buffer.from(fields[first + 2].valueBeforeDecodeView),
  }
}

// ---------------------------------------------------------------------------------------------
// Signing

/**
 * Signs `content` (a Buffer, or the path of a file read into memory: flussi are at most a few
 * hundred MB) and returns a DER ContentInfo. Refuses a certificate that is expired, not yet valid
 * or not meant for signatures at `signingTime`, or a key that does not belong to it.
 */
export async function signCades(
  content: Buffer | string,
  key: SigningKey,
  certificate: CertificateInfo | Buffer,
  chain: Buffer[],
  options: SignOptions,
): Promise<Buffer> {
  const data = typeof content === 'string' ? await readInput(content) : content
  const cert = Buffer.isBuffer(certificate) ? parseCertificate(certificate) : certificate
  checkSigningCertificate(cert, options.signingTime)
  const privateKey = toKeyObject(key)
  assertKeyMatches(privateKey, cert)

  const {issuer, serial} = issuerAndSerial(cert.der)
  const sha256 = (bytes: Uint8Array): Buffer => createHash('sha256').update(bytes).digest()

  // SigningCertificateV2 { certs SEQUENCE OF ESSCertIDv2 }; ESSCertIDv2 { hashAlgorithm DEFAULT
  // sha256 (so omitted in DER), certHash, issuerSerial { GeneralNames { directoryName [4] }, serial } }
  const essCertIdV2 = seq(octetString(sha256(cert.der)), seq(seq(context(4, issuer)), serial))
  const signedAttributes = [
    attribute(OID.contentType, oid(OID.data)),
    attribute(OID.signingTime, time(options.signingTime)),
    attribute(OID.messageDigest, octetString(sha256(data))),
    attribute(OID.signingCertificateV2, seq(seq(essCertIdV2))),
  ]
  // The signature covers the attributes encoded as a SET (tag 0x31); in SignerInfo they are [0].
  const attributesSet = joined(setOf(...signedAttributes))
  const {signatureAlgorithm, signature} = signWith(privateKey, attributesSet)
  const signedAttrs = Buffer.concat([Buffer.from([0xa0]), attributesSet.subarray(1)])

  const signerInfo = seq(
    integer(1), // version 1: sid is IssuerAndSerialNumber
    seq(issuer, serial),
    algorithm(OID.sha256),
    signedAttrs,
    signatureAlgorithm,
    octetString(signature),
  )
  // The signer's certificate first, then the chain: not DER's sorted order, but the set is not
  // signed and some verifiers still take the first certificate as the signer's.
  const certificates = [cert.der, ...chain.filter((der) => !der.equals(cert.der))]
  const signedData = seq(
    integer(1), // version 1: id-data content, v1 SignerInfo, only X.509 certificates
    setOf(algorithm(OID.sha256)),
    options.detached ? seq(oid(OID.data)) : seq(oid(OID.data), context(0, octetString(data))),
    context(0, ...certificates),
    setOf(signerInfo),
  )
  return joined(seq(oid(OID.signedData), context(0, signedData)))
}

async function readInput(file: string): Promise<Buffer> {
  try {
    return await readFile(file)
  } catch (error) {
    throw new UsageError('SIGN_INPUT_UNREADABLE', {it: `Il file da firmare ${file} non si può leggere.`, en: `The file to sign, ${file}, cannot be read.`}, {cause: error})
  }
}

function toKeyObject(key: SigningKey): KeyObject {
  try {
    if (typeof key === 'string') return createPrivateKey(key)
    if (key instanceof KeyObject) return key
    return KeyObject.from(key)
  } catch (error) {
    throw new UsageError('SIGNING_KEY_INVALID', {it: 'La chiave privata di firma non è leggibile.', en: 'The private signing key cannot be read.'}, {cause: error})
  }
}

function assertKeyMatches(privateKey: KeyObject, cert: CertificateInfo): void {
  const fromKey = createPublicKey(privateKey).export({format: 'der', type: 'spki'})
  const fromCert = new X509Certificate(cert.der).publicKey.export({format: 'der', type: 'spki'})
  if (!fromKey.equals(fromCert)) {
    throw new UsageError('KEY_CERTIFICATE_MISMATCH', {
      it: `La chiave privata non corrisponde al certificato "${cert.subject.commonName ?? cert.subject.text}".`,
      en: `The private key does not belong to the certificate "${cert.subject.commonName ?? cert.subject.text}".`,
    }, {
      suggestions: [{it: 'Usa il file PKCS#12 che contiene sia il certificato sia la sua chiave privata.', en: 'Use the PKCS#12 file that holds both the certificate and its private key.'}],
    })
  }
}

/** RSA PKCS#1 v1.5 by default; RSA-PSS only for keys restricted to it; ECDSA for EC keys. */
function signWith(key: KeyObject, data: Buffer): {signatureAlgorithm: Der; signature: Buffer} {
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return {signatureAlgorithm: algorithm(OID.sha256WithRSAEncryption, NULL), signature: cryptoSign('sha256', data, key)}
    case 'rsa-pss': {
      const details = key.asymmetricKeyDetails ?? {}
      if (details.hashAlgorithm && details.hashAlgorithm !== 'sha256') {
        throw new UsageError('SIGNING_KEY_UNSUPPORTED', {
          it: `La chiave RSA-PSS richiede l'impronta ${details.hashAlgorithm}: è supportata solo SHA-256.`,
          en: `The RSA-PSS key requires the ${details.hashAlgorithm} digest: only SHA-256 is supported.`,
        })
      }
      const saltLength = Math.max(details.saltLength ?? 32, 32)
      const sha256Id = algorithm(OID.sha256, NULL)
      const params = seq(context(0, sha256Id), context(1, algorithm(OID.mgf1, sha256Id)), context(2, integer(saltLength)))
      return {
        signatureAlgorithm: algorithm(OID.rsassaPss, params),
        signature: cryptoSign('sha256', data, {key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength}),
      }
    }
    case 'ec':
      return {signatureAlgorithm: algorithm(OID.ecdsaWithSha256), signature: cryptoSign('sha256', data, key)}
    default:
      throw new UsageError('SIGNING_KEY_UNSUPPORTED', {
        it: `Le chiavi di tipo ${key.asymmetricKeyType ?? 'sconosciuto'} non sono supportate per la firma CAdES (servono RSA o EC).`,
        en: `Keys of type ${key.asymmetricKeyType ?? 'unknown'} are not supported for CAdES signing (RSA or EC keys are needed).`,
      })
  }
}

// ---------------------------------------------------------------------------------------------
// Verification

export interface VerifyOptions {
  /** the signed file, for a detached signature (.p7s) */
  detachedContent?: Buffer
  /** PEM bundle of trusted CA certificates: without it the chain is not assessed */
  caFile?: string
  /** when to check the chain's validity dates (default: now) */
  now?: Date
}

export interface VerifyResult {
  /** integrity, CAdES attributes, key usage and (with caFile) a trusted chain, for every signer */
  valid: boolean
  /** the content is exactly what was signed and the signature matches the signer's key */
  integrity: boolean
  detached: boolean
  /** the first signer */
  signer?: CertificateDescription
  signingTime?: string
  /** only with caFile */
  chainTrusted?: boolean
  /** why the signature is not valid, in Italian */
  reason?: string
  /** the signed content of an attached signature */
  content?: Buffer
}

interface SignerCheck {
  valid: boolean
  integrity: boolean
  reason?: string
  signer?: {der: Buffer; certificate: pkijs.Certificate}
  signingTime?: Date
}

/**
 * Checks a CAdES signature. Never throws for a bad signature (valid:false and an Italian reason);
 * throws only when the input is not a signature at all, or a detached one comes without content.
 */
export async function verifyCades(input: Buffer, options: VerifyOptions = {}): Promise<VerifyResult> {
  const envelope = parseEnvelope(unarmor(input))
  const {signedData, certificates} = envelope
  const embedded = signedData.encapContentInfo.eContent ? octets(signedData.encapContentInfo.eContent) : undefined
  const detached = embedded === undefined
  const content = embedded ?? options.detachedContent
  if (content === undefined) {
    throw new UsageError('SIGNATURE_CONTENT_MISSING', {
      it: 'La firma è staccata (.p7s): per verificarla serve anche il file che è stato firmato.',
      en: 'The signature is detached (.p7s): checking it also needs the file that was signed.',
    }, {
      suggestions: [{
        it: 'Indica anche il file originale, ad esempio: casellario verify FLUSSO.xml.p7s --content FLUSSO.xml',
        en: 'Give the original file too, for example: casellario verify FLUSSO.xml.p7s --content FLUSSO.xml',
      }],
    })
  }
  const base = {detached, ...(embedded ? {content: embedded} : {})}
  if (embedded && options.detachedContent && !embedded.equals(options.detachedContent)) {
    return {...base, valid: false, integrity: false, reason: say({it: 'Il file indicato è diverso dal contenuto incorporato nella firma.', en: 'The file given differs from the content embedded in the signature.'})}
  }
  if (signedData.signerInfos.length === 0) {
    return {...base, valid: false, integrity: false, reason: say({it: 'La busta non contiene alcuna firma.', en: 'The envelope holds no signature.'})}
  }

  const checks: SignerCheck[] = []
  for (const signerInfo of signedData.signerInfos) {
    checks.push(checkSigner(signerInfo, certificates, content, signedData.encapContentInfo.eContentType))
  }
  const first = checks[0]
  const failed = checks.find((c) => !c.valid)
  const result: VerifyResult = {
    ...base,
    valid: failed === undefined,
    integrity: checks.every((c) => c.integrity),
    ...(first.signer ? {signer: describeCertificate(first.signer.der)} : {}),
    ...(first.signingTime ? {signingTime: first.signingTime.toISOString()} : {}),
    ...(failed?.reason ? {reason: failed.reason} : {}),
  }

  if (options.caFile !== undefined && first.signer) {
    const trust = await checkChain(first.signer.certificate, certificates, options.caFile, options.now ?? new Date())
    result.chainTrusted = trust.trusted
    if (!trust.trusted) {
      result.valid = false
      result.reason ??= trust.reason
    }
  }
  return result
}

/** .p7m files circulate both as DER and base64 (with or without PEM armour): accept both. */
function unarmor(input: Buffer): Buffer {
  if (input[0] === 0x30) return input
  const text = input.toString('latin1').replace(/-----(BEGIN|END)[^-]*-----/g, '').replace(/\s+/g, '')
  if (/^[A-Za-z0-9+/]+={0,2}$/.test(text)) {
    const decoded = Buffer.from(text, 'base64')
    if (decoded[0] === 0x30) return decoded
  }
  throw unreadable()
}

function unreadable(cause?: unknown): UsageError {
  return new UsageError('SIGNATURE_UNREADABLE', {it: 'Il file non è una firma CAdES/PKCS#7 leggibile (.p7m o .p7s).', en: 'The file is not a readable CAdES/PKCS#7 signature (.p7m or .p7s).'}, {
    suggestions: [{
      it: 'Controlla di aver indicato il file firmato (.p7m) o la firma staccata (.p7s), non il documento originale.',
      en: 'Check that you gave the signed file (.p7m) or the detached signature (.p7s), not the original document.',
    }],
    ...(cause === undefined ? {} : {cause}),
  })
}

interface Envelope {
  signedData: pkijs.SignedData
  /** the certificates in the envelope, each with its exact DER */
  certificates: {der: Buffer; certificate: pkijs.Certificate}[]
}

function parseEnvelope(der: Buffer): Envelope {
  // asn1js refuses elements over 16 MiB by default (a flusso can be hundreds of MB) and more than
  // 10,000 nodes (BER content split in small chunks): scale both limits with the input instead.
  const parsed = asn1js.fromBER(der, {
    maxContentLength: der.length,
    maxNodes: Math.max(asn1js.DEFAULT_MAX_NODES, Math.ceil(der.length / 512)),
    copyInput: false,
  })
  if (parsed.offset === -1) throw unreadable()
  try {
    const contentInfo = new pkijs.ContentInfo({schema: parsed.result})
    if (contentInfo.contentType !== OID.signedData) throw new Error(`content type ${contentInfo.contentType}`)
    // the exact bytes of each certificate, before pkijs turns them into objects
    const certificatesNode = (contentInfo.content as asn1js.Sequence).valueBlock.value.find(
      (node) => node.idBlock.tagClass === 3 && node.idBlock.tagNumber === 0,
    ) as asn1js.Constructed | undefined
    const certificates = (certificatesNode?.valueBlock.value ?? [])
      .filter((node) => node.idBlock.tagClass === 1 && node.idBlock.tagNumber === 16)
      .map((node) => {
        const bytes = Buffer.from(node.valueBeforeDecodeView)
        return {der: bytes, certificate: new pkijs.Certificate({schema: asn1js.fromBER(bytes).result})}
      })
    return {signedData: new pkijs.SignedData({schema: contentInfo.content}), certificates}
  } catch (error) {
    throw unreadable(error)
  }
}

/** The bytes of an OCTET STRING, primitive (DER) or split in chunks (BER). */
function octets(node: asn1js.BaseBlock): Buffer {
  const block = node.valueBlock as {value?: asn1js.BaseBlock[]; valueHexView?: Uint8Array}
  if (node.idBlock.isConstructed) return Buffer.concat((block.value ?? []).map(octets))
  const view = block.valueHexView ?? new Uint8Array()
  return Buffer.from(view.buffer, view.byteOffset, view.byteLength)
}

function checkSigner(
  signerInfo: pkijs.SignerInfo,
  certificates: Envelope['certificates'],
  content: Buffer,
  eContentType: string,
): SignerCheck {
  const signer = findSignerCertificate(signerInfo, certificates)
  if (!signer) {
    return {valid: false, integrity: false, reason: say({it: 'Il certificato del firmatario non è incluso nella busta: la firma non si può verificare.', en: "The signer's certificate is not in the envelope: the signature cannot be checked."})}
  }
  const fail = (reason: string, integrity: boolean, extra: Partial<SignerCheck> = {}): SignerCheck => ({valid: false, integrity, reason, signer, ...extra})

  const digest = DIGESTS[signerInfo.digestAlgorithm.algorithmId]
  if (!digest) return fail(say({it: `Algoritmo di impronta non supportato (${signerInfo.digestAlgorithm.algorithmId}).`, en: `Unsupported digest algorithm (${signerInfo.digestAlgorithm.algorithmId}).`}), false)
  const attributes = signerInfo.signedAttrs?.attributes ?? []
  const attributeValue = (type: string): asn1js.BaseBlock | undefined => attributes.find((a) => a.type === type)?.values[0]

  const signingTimeNode = attributeValue(OID.signingTime) as asn1js.UTCTime | undefined
  const signingTime = typeof signingTimeNode?.toDate === 'function' ? signingTimeNode.toDate() : undefined
  const timed = signingTime ? {signingTime} : {}

  // Without signed attributes CMS signs the content itself: check it, but it is not CAdES.
  const signedBytes = signerInfo.signedAttrs ? Buffer.from(signerInfo.signedAttrs.encodedValue) : content
  if (signerInfo.signedAttrs) {
    const messageDigest = attributeValue(OID.messageDigest) as asn1js.OctetString | undefined
    if (!messageDigest) return fail(say({it: 'Manca l\'attributo firmato messageDigest: la firma non è valida.', en: 'The signed attribute messageDigest is missing: the signature is not valid.'}), false, timed)
    const expected = Buffer.from(messageDigest.valueBlock.valueHexView)
    if (!createHash(digest).update(content).digest().equals(expected)) {
      return fail(say({it: 'Il contenuto è stato modificato dopo la firma: la sua impronta non corrisponde a quella firmata.', en: 'The content was changed after signing: its digest does not match the signed one.'}), false, timed)
    }
  }
  const signatureOk = verifySignature(signerInfo, signer.der, signedBytes, digest)
  if (signatureOk !== true) return fail(signatureOk, false, timed)

  // From here on the bytes are intact: what remains are the CAdES-BES requirements.
  const ok = (reason?: string): SignerCheck => ({valid: reason === undefined, integrity: true, signer, ...timed, ...(reason ? {reason} : {})})
  if (!signerInfo.signedAttrs) return ok(say({it: 'La firma non ha attributi firmati: è una firma PKCS#7 semplice, non CAdES-BES.', en: 'The signature has no signed attributes: it is a plain PKCS#7 signature, not CAdES-BES.'}))
  const contentType = attributeValue(OID.contentType) as asn1js.ObjectIdentifier | undefined
  if (contentType?.valueBlock.toString() !== eContentType) return ok(say({it: 'L\'attributo firmato contentType manca o non corrisponde al contenuto.', en: 'The signed attribute contentType is missing or does not match the content.'}))
  const binding = checkSigningCertificateAttribute(attributeValue(OID.signingCertificateV2), attributeValue(OID.signingCertificate), signer)
  if (binding) return ok(binding)

  const info = parseCertificate(signer.der)
  if (info.keyUsage && !info.keyUsage.includes('digitalSignature') && !info.keyUsage.includes('nonRepudiation')) {
    return ok(say({
      it: `Il certificato del firmatario non è abilitato alla firma (keyUsage: ${info.keyUsage.join(', ') || 'nessuno'}).`,
      en: `The signer's certificate is not enabled for signing (keyUsage: ${info.keyUsage.join(', ') || 'none'}).`,
    }))
  }
  if (signingTime && (signingTime < info.notBefore || signingTime > info.notAfter)) {
    return ok(say({
      it: `La firma porta la data ${formatDate(signingTime)}, quando il certificato del firmatario non era valido (dal ${formatDate(info.notBefore)} al ${formatDate(info.notAfter)}).`,
      en: `The signature is dated ${formatDate(signingTime)}, when the signer's certificate was not valid (valid from ${formatDate(info.notBefore)} to ${formatDate(info.notAfter)}).`,
    }))
  }
  return ok()
}

function findSignerCertificate(signerInfo: pkijs.SignerInfo, certificates: Envelope['certificates']): Envelope['certificates'][number] | undefined {
  const sid = signerInfo.sid as pkijs.IssuerAndSerialNumber | asn1js.Constructed | asn1js.Primitive
  if (sid instanceof pkijs.IssuerAndSerialNumber) {
    return certificates.find(({certificate}) => certificate.issuer.isEqual(sid.issuer) && certificate.serialNumber.isEqual(sid.serialNumber))
  }
  // [0] SubjectKeyIdentifier: by RFC 5280 §4.2.1.2 usually the SHA-1 of the public key bits, but
  // compare with the certificate's own extension first, which is what the signer put there
  const keyId = Buffer.from(
    sid.idBlock.isConstructed
      ? ((sid as asn1js.Constructed).valueBlock.value[0] as asn1js.OctetString).valueBlock.valueHexView
      : (sid as asn1js.Primitive).valueBlock.valueHexView,
  )
  return certificates.find(({certificate}) => {
    const ski = certificate.extensions?.find((e) => e.extnID === '2.5.29.14')?.parsedValue as asn1js.OctetString | undefined
    if (ski && Buffer.from(ski.valueBlock.valueHexView).equals(keyId)) return true
    const publicKey = certificate.subjectPublicKeyInfo.subjectPublicKey.valueBlock.valueHexView
    return createHash('sha1').update(publicKey).digest().equals(keyId)
  })
}

/** true, or the Italian reason why the signature value does not match. */
function verifySignature(signerInfo: pkijs.SignerInfo, certificateDer: Buffer, data: Buffer, digest: string): true | string {
  const algorithmId = signerInfo.signatureAlgorithm.algorithmId
  const publicKey = new X509Certificate(certificateDer).publicKey
  const signature = Buffer.from(signerInfo.signature.valueBlock.valueHexView)
  try {
    let ok: boolean
    if (algorithmId === OID.rsassaPss) {
      const params = new pkijs.RSASSAPSSParams({schema: signerInfo.signatureAlgorithm.algorithmParams})
      const hash = DIGESTS[params.hashAlgorithm.algorithmId]
      if (!hash) return say({it: `Algoritmo RSA-PSS con impronta non supportata (${params.hashAlgorithm.algorithmId}).`, en: `RSA-PSS algorithm with an unsupported digest (${params.hashAlgorithm.algorithmId}).`})
      ok = cryptoVerify(hash, data, {key: publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: params.saltLength}, signature)
    } else {
      const known = SIGNATURES[algorithmId]
      if (!known) return say({it: `Algoritmo di firma non supportato (${algorithmId}).`, en: `Unsupported signature algorithm (${algorithmId}).`})
      ok = cryptoVerify(known.hash ?? digest, data, publicKey, signature)
    }
    return ok
      ? true
      : say({
          it: 'La firma non corrisponde: la busta è stata alterata, oppure non è stata prodotta con la chiave di questo certificato.',
          en: "The signature does not match: the envelope was altered, or it was not made with this certificate's key.",
        })
  } catch {
    return say({it: 'La firma non corrisponde al certificato del firmatario (algoritmo o chiave incompatibili).', en: "The signature does not match the signer's certificate (incompatible algorithm or key)."})
  }
}

/**
 * RFC 5035 / RFC 2634: the signed attribute that binds the signature to one certificate, so that it
 * cannot be swapped for another one with the same key. v2 (any hash, default SHA-256) is what
 * CAdES-BES asks for; v1 (SHA-1) is still accepted from older signing tools.
 * Returns undefined when it matches, otherwise the Italian reason.
 */
function checkSigningCertificateAttribute(
  v2: asn1js.BaseBlock | undefined,
  v1: asn1js.BaseBlock | undefined,
  signer: Envelope['certificates'][number],
): string | undefined {
  const value = v2 ?? v1
  if (!value) return say({it: 'Manca l\'attributo firmato signing-certificate-v2: non è una firma CAdES-BES.', en: 'The signed attribute signing-certificate-v2 is missing: this is not a CAdES-BES signature.'})
  const name = v2 ? 'signing-certificate-v2' : 'signing-certificate'
  try {
    const certs = (value as asn1js.Sequence).valueBlock.value[0] as asn1js.Sequence
    const essCertId = (certs.valueBlock.value[0] as asn1js.Sequence).valueBlock.value
    let index = 0
    let hash = v2 ? 'sha256' : 'sha1'
    if (v2 && essCertId[0] instanceof asn1js.Sequence) {
      const id = new pkijs.AlgorithmIdentifier({schema: essCertId[index++]}).algorithmId
      const known = DIGESTS[id]
      if (!known) return say({it: `L'attributo ${name} usa un'impronta non supportata (${id}).`, en: `The ${name} attribute uses an unsupported digest (${id}).`})
      hash = known
    }
    const certHash = Buffer.from((essCertId[index++] as asn1js.OctetString).valueBlock.valueHexView)
    if (!createHash(hash).update(signer.der).digest().equals(certHash)) {
      return say({
        it: `L'attributo ${name} non corrisponde al certificato incluso nella busta: il certificato del firmatario è stato sostituito.`,
        en: `The ${name} attribute does not match the certificate in the envelope: the signer's certificate was swapped.`,
      })
    }
    const issuerSerial = essCertId[index] as asn1js.Sequence | undefined
    if (issuerSerial) {
      const serial = issuerSerial.valueBlock.value[1] as asn1js.Integer
      if (!serial.isEqual(signer.certificate.serialNumber)) return say({it: `Il numero di serie nell'attributo ${name} non è quello del certificato del firmatario.`, en: `The serial number in the ${name} attribute is not the signer's certificate's.`})
    }
    return undefined
  } catch {
    return say({it: `L'attributo ${name} non è leggibile.`, en: `The ${name} attribute cannot be read.`})
  }
}

async function checkChain(
  signer: pkijs.Certificate,
  certificates: Envelope['certificates'],
  caFile: string,
  now: Date,
): Promise<{trusted: true} | {trusted: false; reason: string}> {
  const trustedCerts = await readCaBundle(caFile)
  const signerTbs = Buffer.from(signer.tbsView)
  const engine = new pkijs.CertificateChainValidationEngine({
    trustedCerts,
    // pkijs takes the last certificate of `certs` as the one to validate
    certs: [...certificates.map((c) => c.certificate).filter((c) => !Buffer.from(c.tbsView).equals(signerTbs)), signer],
    checkDate: now,
  })
  // no CRLs or OCSP responses here: revocation is not checked (a CAdES-BES carries none)
  const result = await engine.verify()
  if (result.result) return {trusted: true}
  const code = result.resultCode as number
  const why =
    code === 8
      ? {it: `un certificato della catena è scaduto o non ancora valido al ${formatDate(now)}`, en: `a certificate in the chain is expired or not yet valid on ${formatDate(now)}`}
      : code === 60 || code === 97
        ? {it: `il certificato del firmatario non discende da nessuna autorità di ${caFile}`, en: `the signer's certificate does not descend from any authority in ${caFile}`}
        : {it: `la catena di certificazione non è valida (${result.resultMessage})`, en: `the certification chain is not valid (${result.resultMessage})`}
  return {trusted: false, reason: say({it: `Firma integra, ma non fidata: ${why.it}.`, en: `The signature is intact but not trusted: ${why.en}.`})}
}

async function readCaBundle(caFile: string): Promise<pkijs.Certificate[]> {
  let text: string
  try {
    text = await readFile(caFile, 'latin1')
  } catch (error) {
    throw new UsageError('CA_FILE_UNREADABLE', {
      it: `Il file delle autorità di certificazione ${caFile} non si può leggere.`,
      en: `The certification authorities file ${caFile} cannot be read.`,
    }, {cause: error})
  }
  const blocks = [...text.matchAll(/-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g)]
  try {
    if (blocks.length === 0) throw new Error('no PEM certificate')
    return blocks.map((m) => new pkijs.Certificate({schema: asn1js.fromBER(Buffer.from(m[1].replace(/\s+/g, ''), 'base64')).result}))
  } catch (error) {
    throw new UsageError('CA_FILE_UNREADABLE', {it: `Il file ${caFile} non contiene certificati PEM leggibili.`, en: `The file ${caFile} holds no readable PEM certificates.`}, {
      suggestions: [{it: 'Indica un file PEM con uno o più blocchi "-----BEGIN CERTIFICATE-----".', en: 'Give a PEM file with one or more "-----BEGIN CERTIFICATE-----" blocks.'}],
      cause: error,
    })
  }
}
