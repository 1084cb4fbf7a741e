/** Passwords inside URLs (a leaf module: the store and the transports use it too). */

/** `scheme://user:password@host…`: a password written into a URL (PostgreSQL stores, endpoints). */
// up to the authority's last `@`: an unencoded `@` inside the password is still the password's
export const URL_PASSWORD = /^([a-z][a-z0-9+.-]*:\/\/[^/?#@:\s]*):([^/?#]*)@/i

/**
 * A URL as it may be shown or logged: a password inside it becomes `***` (DESIGN §7: secrets
 * never in config files, output or logs).
 */
export function withoutPassword(url: string): string {
  return url.replace(URL_PASSWORD, '$1:***@')
}


/** The one test of "is this store PostgreSQL": every place that must tell the two apart asks here. */
export function isPostgresLocation(location: string): boolean {
  return /^postgres(ql)?:\/\//i.test(location.trim()) || KEY_VALUE.test(location.trim())
}

const KEY_VALUE_KEYWORDS = ['host', 'hostaddr', 'port', 'dbname', 'user', 'password', 'sslmode', 'sslrootcert', 'sslcert', 'sslkey', 'application_name', 'connect_timeout', 'passfile']
const KEY_VALUE = new RegExp(`^(${KEY_VALUE_KEYWORDS.join('|')})\\s*=`)
