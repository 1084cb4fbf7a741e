/** Passwords inside URLs (a leaf module: the store and the transports use it too). */

/** `scheme://user:password@host…`: a password written into a URL (PostgreSQL stores, endpoints). */
export const URL_PASSWORD = /^([a-z][a-z0-9+.-]*:\/\/[^/@:\s]*):([^/@\s]*)@/i

/**
 * A URL as it may be shown or logged: a password inside it becomes `***` (DESIGN §7: secrets
 * never in config files, output or logs).
 */
export function withoutPassword(url: string): string {
  return url.replace(URL_PASSWORD, '$1:***@')
}

