/**
 * Typed errors. Every failure the user can see is one of these; `exitCodeOf` is the one place
 * that turns an error into a process exit code (DESIGN §10).
 */
export const ExitCode = {
  ok: 0,
  /** usage or configuration: the user fixes a flag, a file path, a setting */
  usage: 1,
  /** validation errors in the data (valid rows are still processed) */
  data: 2,
  /** endpoint or transport failure */
  transport: 3,
  /** some flussi rejected by the endpoint */
  rejected: 4,
} as const
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode]

export interface ErrorOptions {
  /** "Prova così": concrete next steps, e.g. the exact command to run */
  suggestions?: string[]
  cause?: unknown
}

/** An error the user can fix: bad flag, bad config, unreadable input file. */
export class CasellarioError extends Error {
  readonly exit: ExitCode = ExitCode.usage
  readonly suggestions: string[]
  constructor(
    /** stable identifier, documented in the README */
    readonly code: string,
    message: string,
    options: ErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : {cause: options.cause})
    this.name = 'CasellarioError'
    this.suggestions = options.suggestions ?? []
  }
}

export class UsageError extends CasellarioError {
  override readonly exit = ExitCode.usage
}

export class DataError extends CasellarioError {
  override readonly exit = ExitCode.data
}

export class TransportError extends CasellarioError {
  override readonly exit = ExitCode.transport
}

/** A program we run (xmllint, openssl) failed: carries the command, never the data. */
export class ExternalError extends CasellarioError {
  override readonly exit = ExitCode.usage
}

/** Our own fault: reported as a bug, with the code so it can be looked up. */
export class BugError extends CasellarioError {
  override readonly exit = ExitCode.usage
}

export function exitCodeOf(error: unknown): ExitCode {
  if (error instanceof CasellarioError) return error.exit
  // oclif's parse errors (unknown flag, missing argument, …) are usage errors
  return ExitCode.usage
}

/** The JSON document printed on stdout under --json when a command fails. */
export function errorDocument(error: unknown): {error: {code: string; message: string; suggestions: string[]}; exitCode: ExitCode} {
  if (error instanceof CasellarioError) {
    return {error: {code: error.code, message: error.message, suggestions: error.suggestions}, exitCode: error.exit}
  }
  const message = error instanceof Error ? error.message : String(error)
  return {error: {code: isOclifParseError(error) ? 'USAGE' : 'INTERNAL', message, suggestions: []}, exitCode: exitCodeOf(error)}
}

export function isOclifParseError(error: unknown): boolean {
  return error instanceof Error && typeof (error as {parse?: unknown}).parse === 'object'
}
