import {createHmac, randomBytes} from 'node:crypto'
import {existsSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {UsageError} from '../errors/index.js'

/**
 * The identity key (DESIGN §13). A purged record keeps its identity and fingerprint only as
 * HMAC-SHA256 under this key, so that a re-export of the same prestazione is still recognised
 * while a copy of the database alone cannot be searched for a known codice fiscale (a plain hash
 * of a codice fiscale and a few codes can be found by trying candidates). The key therefore lives
 * outside the store: `CASELLARIO_IDENTITY_KEY`, or `identity.key` (0600) in the configuration
 * folder, created by the first purge. Losing it only means purged prestazioni look new again.
 */

export const IDENTITY_KEY_ENV = 'CASELLARIO_IDENTITY_KEY'
const FILE = 'identity.key'

export type KeyedHash = (hex: string) => string

/** The key as a keyed hash, or undefined when there is none yet (and `create` is false). */
export function identityKey(configDir: string, opts: {create?: boolean} = {}): KeyedHash | undefined {
  const fromEnv = process.env[IDENTITY_KEY_ENV]
  if (fromEnv !== undefined) {
    if (fromEnv.length < 32) {
      throw new UsageError('IDENTITY_KEY_WEAK', {it: `${IDENTITY_KEY_ENV} deve avere almeno 32 caratteri casuali.`, en: `${IDENTITY_KEY_ENV} needs at least 32 random characters.`}, {
        suggestions: [`${IDENTITY_KEY_ENV}=$(openssl rand -hex 32)`],
      })
    }
    return hmac(Buffer.from(fromEnv))
  }
  const path = join(configDir, FILE)
  if (existsSync(path)) return hmac(Buffer.from(readFileSync(path, 'utf8').trim(), 'hex'))
  if (!opts.create) return undefined
  mkdirSync(configDir, {recursive: true, mode: 0o700})
  const key = randomBytes(32)
  writeFileSync(path, `${key.toString('hex')}\n`, {mode: 0o600, flag: 'wx'})
  return hmac(key)
}

function hmac(key: Buffer): KeyedHash {
  return (hex) => createHmac('sha256', key).update(hex).digest('hex')
}
