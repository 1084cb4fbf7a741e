import {Command, Flags} from '@oclif/core'

import {loadSettings, type Settings} from '../config/index.js'
import {errorDocument, exitCodeOf, type ExitCode} from '../errors/index.js'
import {Store} from '../store/sqlite.js'
import type {PushConnection} from '../transport/connect.js'
import {setLang} from '../i18n/messages.js'
import {installInterruptHandlers} from '../runtime/interrupt.js'
import {sweepPrivateTemp} from '../runtime/private-temp.js'
import {askHeaderMapping} from '../mapping/interactive.js'
import type {ValidateOptions} from '../validate/run.js'
import {inquirerPrompter, isInteractive} from './prompts.js'

/**
 * What every command shares: `--json` (exactly one JSON document on stdout), `--lang`, and the
 * single place where an error becomes a message, a JSON document and an exit code (DESIGN §10).
 */
export abstract class BaseCommand extends Command {
  static override baseFlags = {
    json: Flags.boolean({description: 'Stampa un solo documento JSON su stdout (per gli script)', default: false}),
    lang: Flags.option({options: ['it', 'en'] as const, description: 'Lingua dei messaggi (predefinita: italiano; anche LANG=en)'})(),
  }

  protected jsonOutput = process.argv.includes('--json')

  override async init(): Promise<void> {
    await super.init()
    installInterruptHandlers()
    // what a killed run left in the data folder's private temp folder (a workbook read from stdin)
    sweepPrivateTemp(this.config.dataDir)
  }

  /** Call first in run(): applies the shared flags. */
  protected setup(flags: {json: boolean; lang?: 'it' | 'en'}): void {
    this.jsonOutput = flags.json
    setLang(flags.lang)
  }

  /** On a terminal (and not --json), missing headers are resolved by asking the person (DESIGN §4.3). */
  protected headerResolver(): ValidateOptions['resolveHeader'] {
    if (this.jsonOutput || !isInteractive()) return undefined
    return (context) => askHeaderMapping(inquirerPrompter(), context)
  }

  /** Configuration of the chosen profile: flags over CASELLARIO_* variables over the profile's file. */
  protected settings(flags: {profile: string} & Record<string, unknown>): Settings {
    return loadSettings({configDir: this.config.configDir, profile: flags.profile, flags})
  }

  /** The local store: --store / CASELLARIO_STORE / config, else the user data folder. */
  protected openStore(settings: Settings, opts: {readonly?: boolean} = {}): Store {
    return Store.open(settings.store ?? Store.defaultPath(this.config.dataDir), opts)
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

  /** Writes to stdout without oclif's formatting (stdout carries only the result). */
  protected out(text: string): void {
    process.stdout.write(text.endsWith('\n') ? text : `${text}\n`)
  }

  /** Human notes go to stderr so that stdout stays parseable. */
  protected note(text: string): void {
    if (!this.jsonOutput) process.stderr.write(`${text}\n`)
  }

  protected setExitCode(code: ExitCode): void {
    process.exitCode = code
  }

  protected override async catch(error: Error & {exitCode?: number}): Promise<void> {
    // oclif's own exit (from this.exit()) passes through untouched
    if (error.constructor?.name === 'ExitError') throw error
    // Ctrl-C at a prompt: the person changed their mind, not an error to report
    if (error.name === 'ExitPromptError') {
      process.stderr.write('Annullato.\n')
      process.exitCode = 130
      return
    }
    const doc = errorDocument(error)
    if (this.jsonOutput) {
      process.stdout.write(`${JSON.stringify(doc)}\n`)
    } else {
      process.stderr.write(`Errore [${doc.error.code}]: ${doc.error.message}\n`)
      for (const s of doc.error.suggestions) process.stderr.write(`  Prova così: ${s}\n`)
      if (doc.error.code === 'INTERNAL' && process.env.DEBUG) process.stderr.write(`${error.stack}\n`)
    }
    process.exitCode = exitCodeOf(error)
  }
}
