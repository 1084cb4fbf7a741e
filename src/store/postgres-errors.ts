import {CasellarioError, TransportError, UsageError} from '../errors/index.js'
import {say} from '../i18n/messages.js'

/**
 * A PostgreSQL store that cannot be reached or entered, as the person running the command reads it
 * (DESIGN §10): unreachable is a transport failure (exit 3, try again later); refused credentials,
 * a missing database or a certificate that does not verify are configuration (exit 1). The
 * location is shown without its password; the driver's text never carries one.
 */

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET', 'EPIPE', '57P01', '57P02', '57P03', '08000', '08001', '08003', '08006'])
const AUTH = new Set(['28P01', '28000'])

export function isConnectionLost(code: string | undefined): boolean {
  return code !== undefined && UNREACHABLE.has(code)
}

export function postgresError(error: unknown, shown: string): CasellarioError {
  if (error instanceof CasellarioError) return error
  const e = error as Error & {code?: string}
  const text = (e.message ?? String(error)).replace(/postgres(ql)?:\/\/[^\s'"]*/gi, shown)
  if (isConnectionLost(e.code) || /timeout|Connection terminated/i.test(text)) {
    return new TransportError('STORE_UNREACHABLE', say({it: `Lo store PostgreSQL ${shown} non risponde: ${text}`, en: `The PostgreSQL store ${shown} does not answer: ${text}`}), {
      suggestions: [
        say({it: 'Controlla che il server sia avviato e raggiungibile (pg_isready -h HOST -p PORTA), poi rilancia lo stesso comando.', en: 'Check that the server is running and reachable (pg_isready -h HOST -p PORT), then run the same command again.'}),
      ],
    })
  }
  if (e.code !== undefined && AUTH.has(e.code)) {
    return new UsageError('STORE_AUTH_FAILED', say({it: `Lo store PostgreSQL ${shown} rifiuta le credenziali: ${text}`, en: `The PostgreSQL store ${shown} refuses the credentials: ${text}`}), {
      suggestions: [
        say({
          it: 'La password va in PGPASSWORD (per i servizi) o in ~/.pgpass (permessi 0600), come per psql; mai nell’URL salvato in configurazione.',
          en: 'Put the password in PGPASSWORD (for services) or ~/.pgpass (mode 0600), as for psql; never in the URL kept in the configuration.',
        }),
      ],
    })
  }
  if (e.code === '3D000') {
    return new UsageError('STORE_DATABASE_MISSING', say({it: `Il database dello store ${shown} non esiste: ${text}`, en: `The database of the store ${shown} does not exist: ${text}`}), {
      suggestions: [say({it: 'Crealo una volta (createdb NOME, o CREATE DATABASE): le tabelle le crea casellario.', en: 'Create it once (createdb NAME, or CREATE DATABASE): casellario creates the tables.'})],
    })
  }
  if (/SSL|TLS|certificate|self.signed|CERT_/i.test(`${text} ${e.code ?? ''}`)) {
    return new UsageError('STORE_TLS_FAILED', say({it: `Connessione TLS allo store ${shown} non riuscita: ${text}`, en: `TLS connection to the store ${shown} failed: ${text}`}), {
      suggestions: [
        say({
          it: 'Con sslmode=verify-full (o verify-ca) indica la CA del server con sslrootcert=FILE (o PGSSLROOTCERT); sslmode=require cifra senza verificare.',
          en: 'With sslmode=verify-full (or verify-ca) give the server’s CA with sslrootcert=FILE (or PGSSLROOTCERT); sslmode=require encrypts without verifying.',
        }),
      ],
    })
  }
  return new UsageError('STORE_UNAVAILABLE', say({it: `Impossibile aprire lo store ${shown}: ${text}`, en: `Cannot open the store ${shown}: ${text}`}))
}
