import {writeFileSync} from 'node:fs'

import {exportJWK, generateKeyPair, SignJWT, type KeyLike} from 'jose'

/** A PDND-like issuer for tests of `serve`: one RS256 key published in a JWKS file, and the vouchers INPS would present. */

export const AUDIENCE = 'https://comune.example.it/waas/v1'
export const ISSUER = 'interop.pagopa.it'
export const PURPOSE = 'finalita-inps-siuss'

/** A voucher as PDND issues it to INPS; `claims` override iss/aud/sub/nbf or add claims. */
export function signVoucher(key: KeyLike, claims: Record<string, unknown> = {}, opts: {kid?: string; expiresIn?: number} = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000)
  const {iss, aud, sub, nbf, ...rest} = claims
  return new SignJWT({client_id: 'inps-client', purposeId: PURPOSE, ...rest})
    .setProtectedHeader({alg: 'RS256', kid: opts.kid ?? 'pdnd-1', typ: 'at+jwt'})
    .setIssuer((iss as string) ?? ISSUER)
    .setAudience((aud as string) ?? AUDIENCE)
    .setSubject((sub as string) ?? 'inps-client')
    .setIssuedAt(now - 10)
    .setNotBefore((nbf as number) ?? now - 10)
    .setExpirationTime(now + (opts.expiresIn ?? 600))
    .setJti(String(Math.random()))
    .sign(key)
}

/** A new signing key, its public half written as a JWKS file (kid pdnd-1). */
export async function pdndKey(jwksPath: string): Promise<KeyLike> {
  const pair = await generateKeyPair('RS256')
  writeFileSync(jwksPath, JSON.stringify({keys: [{...(await exportJWK(pair.publicKey)), kid: 'pdnd-1', alg: 'RS256', use: 'sig'}]}))
  return pair.privateKey
}
