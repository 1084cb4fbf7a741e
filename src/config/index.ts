import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'

import {UsageError} from '../errors/index.js'
import {ENTE_FIELDS} from '../flows/ente.js'
import type {EnteIdentity} from '../xml/writer.js'

/**
 * Settings from the config file of the profile (XDG config dir), overridden by CASELLARIO_*
 * variables, overridden by flags. Secrets never live here (DESIGN §7).
 */
export interface Settings {
  ente: Partial<EnteIdentity>
  store?: string
}

export function configFile(configDir: string, profile = 'default'): string {
  return join(configDir, `${profile}.json`)
}

export function loadSettings(opts: {configDir: string; profile?: string; env?: NodeJS.ProcessEnv; flags?: Record<string, unknown>}): Settings {
  const env = opts.env ?? process.env
  const file = configFile(opts.configDir, opts.profile)
  let fromFile: {ente?: Partial<EnteIdentity>; store?: string} = {}
  if (existsSync(file)) {
    try {
      fromFile = JSON.parse(readFileSync(file, 'utf8'))
    } catch (error) {
      throw new UsageError('CONFIG_INVALID', `Il file di configurazione ${file} non è JSON valido: ${(error as Error).message}`)
    }
  }
  const ente: Partial<EnteIdentity> = {...fromFile.ente}
  for (const [key, spec] of Object.entries(ENTE_FIELDS) as [keyof EnteIdentity, (typeof ENTE_FIELDS)[keyof typeof ENTE_FIELDS]][]) {
    const fromEnv = env[spec.env]
    const fromFlag = opts.flags?.[spec.flag]
    if (typeof fromFlag === 'string' && fromFlag !== '') ente[key] = fromFlag
    else if (fromEnv) ente[key] = fromEnv
  }
  const storeFlag = opts.flags?.store
  return {ente, store: (typeof storeFlag === 'string' && storeFlag) || env.CASELLARIO_STORE || fromFile.store}
}
