import {lang, type Lang} from '../i18n/messages.js'

/** A sentence a person reads, in both languages; a bare string is for text without words (a command line, a path). */
export type Text = Record<Lang, string>

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
  /** "Prova così": concrete next steps, e.g. the exact command to run (a sentence in both languages) */
  suggestions?: Array<string | Text>
  cause?: unknown
}

/** An error the user can fix: bad flag, bad config, unreadable input file. */
export class CasellarioError extends Error {
  readonly exit: ExitCode = ExitCode.usage
  private readonly texts?: Text
  private readonly steps: Array<string | Text>
  constructor(
    /** stable identifier, documented in the README */
    readonly code: string,
    /** what went wrong and how to fix it, Italian and English (test/messages.test.ts checks every throw) */
    message: Text | string,
    options: ErrorOptions = {},
  ) {
    super(typeof message === 'string' ? message : message[lang()], options.cause === undefined ? undefined : {cause: options.cause})
    this.name = 'CasellarioError'
    if (typeof message !== 'string') this.texts = message
    this.steps = options.suggestions ?? []
  }

  /** The message in the language in effect now (an error may be made before --lang is read). */
  get localized(): string {
    return this.texts?.[lang()] ?? this.message
  }

  get suggestions(): string[] {
    return this.steps.map((s) => (typeof s === 'string' ? s : s[lang()]))
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
    // one of our errors thrown by a flag's parser: oclif prefixed it with "Parsing --NAME"
    const message = isFlagValueError(error) ? error.message.replace(/^Parsing --[\w-]+ \n\t/, '').replace(SEE_HELP, '') : error.localized
    return {error: {code: error.code, message, suggestions: error.suggestions}, exitCode: error.exit}
  }
  const message = error instanceof Error ? error.message : String(error)
  if (isOclifParseError(error) || isFlagValueError(error)) return {error: usageProblem(message), exitCode: ExitCode.usage}
  return {error: {code: 'INTERNAL', message, suggestions: []}, exitCode: exitCodeOf(error)}
}

export function isOclifParseError(error: unknown): boolean {
  return error instanceof Error && typeof (error as {parse?: unknown}).parse === 'object'
}

/** oclif rewrites the error of a flag's own parser as "Parsing --NAME \n\t<reason>": still the user's typo. */
function isFlagValueError(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('Parsing --')
}

const SEE_HELP = /\s*See more help with --help\s*$/

/**
 * oclif's parser speaks English only: its usual messages, said again in the user's language with
 * the same facts, so that an Italian operator never reads "Nonexistent flag".
 */
const OCLIF_MESSAGES: [RegExp, (m: RegExpMatchArray) => Record<'it' | 'en', string>][] = [
  [/^Parsing --([\w-]+) \n\t([\s\S]*)$/, (m) => {
    const reason = oclifReason(m[2].trim())
    return {it: `Valore non valido per --${m[1]}: ${reason.it}`, en: `Invalid value for --${m[1]}: ${reason.en}`}
  }],
  [/^Nonexistent flags?: (.*)$/s, (m) => ({it: `Opzione sconosciuta: ${m[1]}.`, en: `Unknown flag: ${m[1]}.`})],
  [/^Missing (\d+) required args?:\n([\s\S]*)$/, (m) => {
    const names = m[2].split('\n').map((l) => l.trim().split(/\s+/)[0]).filter(Boolean).join(', ')
    return {it: `Manca l'argomento obbligatorio: ${names}.`, en: `Missing required argument: ${names}.`}
  }],
  [/^Unexpected arguments?: (.*)$/s, (m) => ({it: `Argomento in più non previsto: ${m[1]}.`, en: `Unexpected argument: ${m[1]}.`})],
  [/^Expected --([\w-]+)=(.*) to be one of: (.*)$/s, (m) => ({it: `--${m[1]}=${m[2]} non è ammesso: valori possibili ${m[3]}.`, en: `--${m[1]}=${m[2]} is not allowed: possible values ${m[3]}.`})],
  [/^The following errors? occurred:\s*([\s\S]*)$/, (m) => ({it: `Opzioni incompatibili o mancanti: ${m[1].replace(/\s+/g, ' ').trim()}`, en: `Conflicting or missing flags: ${m[1].replace(/\s+/g, ' ').trim()}`})],
  [/^Missing required flag:?\s*([\s\S]*)$/, (m) => ({it: `Manca l'opzione obbligatoria ${m[1].trim()}.`, en: `Missing required flag ${m[1].trim()}.`})],
]

function oclifReason(reason: string): Record<'it' | 'en', string> {
  let m = reason.match(/^Expected an integer (greater|less) than or equal to (-?\d+) but received: (.*)$/)
  if (m) return {it: `serve un numero intero ${m[1] === 'greater' ? 'maggiore' : 'minore'} o uguale a ${m[2]} (indicato: ${m[3]}).`, en: `${reason}.`}
  m = reason.match(/^Expected an integer but received: (.*)$/)
  if (m) return {it: `serve un numero intero (indicato: ${m[1]}).`, en: `${reason}.`}
  // our own flag parsers already speak the user's language
  return {it: reason, en: reason}
}

function usageProblem(raw: string): {code: string; message: string; suggestions: string[]} {
  const text = raw.replace(SEE_HELP, '').trim()
  for (const [pattern, say] of OCLIF_MESSAGES) {
    const m = text.match(pattern)
    if (m) return {code: 'USAGE', message: say(m)[lang()], suggestions: [lang() === 'en' ? 'See the command and its flags with --help.' : 'Vedi il comando e le sue opzioni con --help.']}
  }
  return {code: 'USAGE', message: text, suggestions: [lang() === 'en' ? 'See the command and its flags with --help.' : 'Vedi il comando e le sue opzioni con --help.']}
}
