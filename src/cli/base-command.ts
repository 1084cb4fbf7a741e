import {existsSync} from 'node:fs'

import {Command, Flags} from '@oclif/core'

import {loadSettings, type Settings} from '../config/index.js'
import {errorDocument, exitCodeOf, UsageError, type ExitCode} from '../errors/index.js'
import {identityKey} from '../retention/key.js'
import {Store} from '../store/sqlite.js'
import {isPostgresLocation} from '../store/postgres-config.js'
import type {PushConnection} from '../transport/connect.js'
import {say, setLang} from '../i18n/messages.js'
import {installInterruptHandlers} from '../runtime/interrupt.js'
import {privateTempDir, sweepPrivateTemp} from '../runtime/private-temp.js'
import {askHeaderMapping} from '../mapping/interactive.js'
import type {ReadProgress, ValidateOptions} from '../pipeline/read.js'
import {firstRows, trialValidation} from '../pipeline/trial.js'
import type {EnglishHelp} from './help.js'
import {inquirerPrompter, isInteractive} from './prompts.js'
import {progressLine, readingProgress} from './terminal.js'

/**
 * What every command shares: `--json` (exactly one JSON document on stdout), `--lang`, and the
 * single place where an error becomes a message, a JSON document and an exit code (DESIGN §10).
 */
export abstract class BaseCommand extends Command {
  static override baseFlags = {
    json: Flags.boolean({description: 'Stampa un solo documento JSON su stdout (per gli script)', default: false}),
    lang: Flags.option({options: ['it', 'en'] as const, description: 'Lingua dei messaggi (predefinita: italiano; anche LANG=en)'})(),
    quiet: Flags.boolean({char: 'q', description: 'Niente note né avanzamento su stderr: solo il risultato e gli errori (per cron)', default: false}),
  }

  /** The command's help in English (summary, description, args, its own flags): see src/cli/help.ts */
  static english?: EnglishHelp

  protected jsonOutput = process.argv.includes('--json')
  protected quiet = false

  override async init(): Promise<void> {
    await super.init()
    installInterruptHandlers()
    // --lang before parsing, so that a flag the parser refuses is already reported in that language
    const at = this.argv.findIndex((a) => a === '--lang' || a.startsWith('--lang='))
    const chosen = at < 0 ? undefined : this.argv[at].includes('=') ? this.argv[at].split('=')[1] : this.argv[at + 1]
    if (chosen === 'it' || chosen === 'en') setLang(chosen)
    // whatever a killed run left in the data folder goes now, whichever command comes next
    sweepPrivateTemp(this.config.dataDir)
  }

  /** This process's private folder for temporary files (inside the data folder, removed at exit). */
  protected privateTemp(): string {
    return privateTempDir(this.config.dataDir)
  }

  /** Call first in run(): applies the shared flags. */
  protected setup(flags: {json: boolean; lang?: 'it' | 'en'; quiet?: boolean}): void {
    this.jsonOutput = flags.json
    this.quiet = flags.quiet ?? false
    setLang(flags.lang)
  }

  /** On a terminal (and not --json), missing headers are resolved by asking the person (DESIGN §4.3). */
  protected headerResolver(): ValidateOptions['resolveHeader'] {
    if (this.jsonOutput || !isInteractive()) return undefined
    const WIZARD_ROWS = 100
    return async (context) =>
      askHeaderMapping(inquirerPrompter(), {
        ...context,
        sample: await firstRows(context.source, context.sheet, WIZARD_ROWS),
        tryTemplate: context.source === '-' ? undefined : (template) => trialValidation(context.source, {flow: context.flow, template, sheet: context.sheet}, WIZARD_ROWS),
      })
  }

  /** Configuration of the chosen profile: flags over CASELLARIO_* variables over the profile's file. */
  protected settings(flags: {profile: string} & Record<string, unknown>): Settings {
    return loadSettings({configDir: this.config.configDir, profile: flags.profile, flags})
  }

  /**
   * The local store: --store / CASELLARIO_STORE / config, else the user data folder. A store named
   * explicitly must exist unless the command creates one on purpose (`create`): a typo in
   * `status --store` must not answer "nothing sent" from a new empty file. Its events name this
   * command and the operator (the audit trail); purged identities need the identity key.
   */
  protected openStore(settings: Settings, opts: {readonly?: boolean; create?: boolean} = {}): Store {
    const path = settings.store ?? Store.defaultPath(this.config.dataDir)
    if (settings.store && !opts.create && !isPostgresLocation(path) && !existsSync(path)) {
      throw new UsageError(
        'STORE_NOT_FOUND',
        say({it: `Lo store ${path} non esiste: lì non è mai stato registrato nessun invio.`, en: `The store ${path} does not exist: nothing was ever recorded there.`}),
        {
          suggestions: [
            say({
              it: `Controlla il percorso (--store, CASELLARIO_STORE o casellario config get store); lo store predefinito è ${Store.defaultPath(this.config.dataDir)}.`,
              en: `Check the path (--store, CASELLARIO_STORE or casellario config get store); the default store is ${Store.defaultPath(this.config.dataDir)}.`,
            }),
          ],
        },
      )
    }
    const store = Store.open(path, {readonly: opts.readonly})
    store.setActor({command: this.id ?? 'casellario', operatore: settings.ente.cfOperatore})
    const keyed = identityKey(this.config.configDir)
    if (keyed) store.useIdentityKey(keyed)
    return store
  }

  /** Connects to the push endpoint (or starts the embedded sandbox); retries are noted on stderr. */
  protected pushConnector(settings: Settings, opts: {profile: string; endpoint?: string; resume: string}): () => Promise<PushConnection> {
    // loaded only when a command talks to an endpoint: HTTP, JWT and the sandbox stay out of the others
    return async () =>
      (await import('../transport/connect.js')).connectPush({
        settings,
        endpoint: opts.endpoint,
        dataDir: this.config.dataDir,
        configDir: this.config.configDir,
        profile: opts.profile,
        retry: {resume: opts.resume, onRetry: (reason, waitMs) => this.note(`Endpoint: ${reason}; riprovo tra ${(waitMs / 1000).toFixed(1)} s.`)},
      })
  }

  /**
   * Reading a spreadsheet on a terminal: a progress line on stderr (never with --json, --quiet or
   * off a TTY), cleared before each line of text the command prints.
   */
  protected readingProgress(): {line: (text: string) => void; onProgress: (p: ReadProgress) => void; update: (text: string) => void; done: () => void} {
    const progress = progressLine(!this.jsonOutput && !this.quiet)
    return {
      update: (text) => progress.update(text),
      line: (text) => {
        progress.done()
        this.out(text)
      },
      onProgress: readingProgress(progress),
      done: () => progress.done(),
    }
  }

  /** Writes to stdout without oclif's formatting (stdout carries only the result). */
  protected out(text: string): void {
    process.stdout.write(text.endsWith('\n') ? text : `${text}\n`)
  }

  /** Human notes go to stderr so that stdout stays parseable. */
  protected note(text: string): void {
    if (!this.jsonOutput && !this.quiet) process.stderr.write(`${text}\n`)
  }

  protected setExitCode(code: ExitCode): void {
    process.exitCode = code
  }

  protected override async catch(error: Error & {exitCode?: number}): Promise<void> {
    // oclif's own exit (from this.exit()) passes through untouched
    if (error.constructor?.name === 'ExitError') throw error
    // Ctrl-C at a prompt: the person changed their mind, not an error to report
    if (error.name === 'ExitPromptError') {
      process.stderr.write(`${say({it: 'Annullato.', en: 'Cancelled.'})}\n`)
      process.exitCode = 130
      return
    }
    const doc = errorDocument(error)
    if (this.jsonOutput) {
      process.stdout.write(`${JSON.stringify(doc)}\n`)
    } else {
      process.stderr.write(`${say({it: 'Errore', en: 'Error'})} [${doc.error.code}]: ${doc.error.message}\n`)
      for (const s of doc.error.suggestions) process.stderr.write(`  ${say({it: 'Prova così', en: 'Try this'})}: ${s}\n`)
      if (doc.error.code === 'INTERNAL' && process.env.DEBUG) process.stderr.write(`${error.stack}\n`)
    }
    process.exitCode = exitCodeOf(error)
  }
}

