import {readFileSync} from 'node:fs'

import {parse as parseConnectionString} from 'pg-connection-string'

import {withoutPassword} from '../config/url.js'

/**
 * Where a PostgreSQL store is, written as libpq users write it (DESIGN §9): a URL
 * (`postgres://user@host:5432/db?sslmode=verify-full&sslrootcert=ca.pem`) or key/value pairs
 * (`host=db.example port=5432 dbname=casellario user=siuss sslmode=require`). What the location
 * leaves out comes from libpq's environment (PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD,
 * PGSSLMODE, PGSSLROOTCERT, …); a missing password is looked up in ~/.pgpass (or PGPASSFILE).
 */

export {isPostgresLocation} from '../config/url.js'

/** The location as it may be shown or logged: never a password (URL or `password=`). */
export function displayLocation(location: string): string {
  return withoutPassword(location).replace(/\bpassword\s*=\s*('(?:[^'\\]|\\.)*'|\S+)/g, 'password=***')
}

export interface PgConnectionConfig {
  host?: string
  port?: number
  database?: string
  user?: string
  password?: string
  ssl?: false | {rejectUnauthorized?: boolean; ca?: string; cert?: string; key?: string; checkServerIdentity?: () => undefined; servername?: string}
  application_name?: string
  connectionTimeoutMillis?: number
  /** where a missing password is looked up (PGPASSFILE, else ~/.pgpass) */
  passfile?: string
}

/** `key=value key='quoted value'` as libpq reads it. */
function keyValues(text: string): Record<string, string> {
  const out: Record<string, string> = {}
  const re = /\s*(\w+)\s*=\s*('((?:[^'\\]|\\.)*)'|(\S*))/g
  let m: RegExpExecArray | null
  while ((m = re.exec(text)) !== null) out[m[1]] = m[3] !== undefined ? m[3].replace(/\\(.)/g, '$1') : (m[4] ?? '')
  return out
}

/** The `pg` configuration for a location, with libpq's environment filling the gaps. */
export function pgConfig(location: string, env: NodeJS.ProcessEnv = process.env): PgConnectionConfig {
  const raw: Record<string, string | undefined> = {}
  const text = location.trim()
  if (/^postgres(ql)?:\/\//i.test(text)) {
    const parsed = parseConnectionString(text) as Record<string, unknown>
    for (const [k, v] of Object.entries(parsed)) if (typeof v === 'string' && v !== '') raw[k === 'database' ? 'dbname' : k] = v
    if (typeof parsed.port === 'string' || typeof parsed.port === 'number') raw.port = String(parsed.port)
  } else Object.assign(raw, keyValues(text))
  const pick = (key: string, envKey: string): string | undefined => raw[key] || env[envKey] || undefined
  const sslmode = pick('sslmode', 'PGSSLMODE') ?? 'prefer'
  const rootcert = pick('sslrootcert', 'PGSSLROOTCERT')
  const cert = pick('sslcert', 'PGSSLCERT')
  const key = pick('sslkey', 'PGSSLKEY')
  const host = pick('host', 'PGHOST') ?? pick('hostaddr', 'PGHOSTADDR')
  const config: PgConnectionConfig = {
    host,
    port: Number(pick('port', 'PGPORT') ?? 5432),
    database: pick('dbname', 'PGDATABASE'),
    user: pick('user', 'PGUSER'),
    password: pick('password', 'PGPASSWORD'),
    application_name: pick('application_name', 'PGAPPNAME') ?? 'casellario',
    connectionTimeoutMillis: 1000 * Number(pick('connect_timeout', 'PGCONNECT_TIMEOUT') ?? 10),
    passfile: pick('passfile', 'PGPASSFILE'),
  }
  // libpq's sslmode: disable / allow / prefer (no TLS here: pg cannot fall back), require (encrypted,
  // not verified unless a root CA is given), verify-ca (the CA, any name), verify-full (CA and name)
  const files = {...(rootcert ? {ca: readFileSync(rootcert, 'utf8')} : {}), ...(cert ? {cert: readFileSync(cert, 'utf8')} : {}), ...(key ? {key: readFileSync(key, 'utf8')} : {})}
  switch (sslmode) {
    case 'disable':
    case 'allow':
    case 'prefer':
      config.ssl = false
      break
    case 'require':
      config.ssl = rootcert ? {...files, checkServerIdentity: () => undefined} : {...files, rejectUnauthorized: false}
      break
    case 'verify-ca':
      config.ssl = {...files, checkServerIdentity: () => undefined}
      break
    default:
      // verify-full, and anything unknown is treated as the strictest
      config.ssl = {...files, rejectUnauthorized: true}
  }
  if (!config.user) config.user = env.USER || env.LOGNAME || undefined
  if (!config.database) config.database = config.user
  return config
}

/** A missing password from the password file (libpq's format, honoured only when 0600 like libpq). */
export async function passwordFromPassfile(config: PgConnectionConfig, env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  const {default: pgpass} = (await import('pgpass')) as unknown as {default: (conn: Record<string, unknown>, cb: (pw?: string) => void) => void}
  const previous = process.env.PGPASSFILE
  if (config.passfile ?? env.PGPASSFILE) process.env.PGPASSFILE = config.passfile ?? env.PGPASSFILE
  try {
    return await new Promise((resolve) => pgpass({host: config.host ?? 'localhost', port: config.port ?? 5432, database: config.database, user: config.user}, (pw) => resolve(pw || undefined)))
  } finally {
    if (previous === undefined) delete process.env.PGPASSFILE
    else process.env.PGPASSFILE = previous
  }
}
