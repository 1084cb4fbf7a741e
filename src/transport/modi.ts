import {createHash, randomUUID, type KeyObject} from 'node:crypto'

import {SignJWT} from 'jose'

/**
 * ModI INTEGRITY_REST_01 (AgID, Linee guida di interoperabilità): `Digest: SHA-256=<base64>`
 * of the body (RFC 3230) and `Agid-JWT-Signature`, a JWS signed with the ente certificate's key
 * that carries the certificate in `x5c` and lists the digest and content type among its
 * `signed_headers`, so the body cannot be changed without breaking the signature.
 */

export interface IntegrityKey {
  key: KeyObject
  /** DER of the certificate (first) and its chain */
  certificates: Buffer[]
}

const SIGNATURE_LIFETIME_S = 300

export function bodyDigest(body: Buffer): string {
  return `SHA-256=${createHash('sha256').update(body).digest('base64')}`
}

export async function integrityHeaders(body: Buffer, opts: {signer: IntegrityKey; audience: string; contentType: string; issuer?: string}): Promise<Record<string, string>> {
  const digest = bodyDigest(body)
  const now = Math.floor(Date.now() / 1000)
  const claims: Record<string, unknown> = {signed_headers: [{digest}, {'content-type': opts.contentType}]}
  const jws = new SignJWT(claims)
    .setProtectedHeader({alg: 'RS256', typ: 'JWT', x5c: opts.signer.certificates.map((c) => c.toString('base64'))})
    .setAudience(opts.audience)
    .setIssuedAt(now)
    .setNotBefore(now)
    .setExpirationTime(now + SIGNATURE_LIFETIME_S)
    .setJti(randomUUID())
  if (opts.issuer) jws.setIssuer(opts.issuer).setSubject(opts.issuer)
  return {'Digest': digest, 'Agid-JWT-Signature': await jws.sign(opts.signer.key), 'Content-Type': opts.contentType}
}
