import {type Command, CommandHelp, Help, type Interfaces} from '@oclif/core'

import {detectLang, type Lang} from '../i18n/messages.js'
import {SHARED_FLAGS_EN} from './flags.js'

/**
 * `--help` in the user's language. Commands are written in Italian; each carries its English in
 * `static english` (kept in the manifest), shared flags in SHARED_FLAGS_EN. oclif's own headers
 * (USAGE, FLAGS …) are said in Italian under Italian. Help runs before a command's init, so the
 * language is read here from --lang and the environment, as the command would.
 */

/** What a command says in English: the same structure as its Italian statics. */
export interface EnglishHelp {
  summary: string
  description?: string
  args?: Record<string, string>
  flags?: Record<string, string>
}

const ROOT_EN = "From social services' spreadsheets to INPS SIUSS flussi (the former Casellario dell'assistenza): validation, XML, signature, delivery and status."
const TOPICS_EN: Record<string, string> = {
  template: 'Spreadsheet templates: canonical ones and mappings',
  tables: 'Reference tables: comuni, foreign countries, the nomenclatore of prestazioni',
  config: 'Settings per profile (a file in the user configuration folder, CASELLARIO_* variables)',
}

/** The placeholders flags show for their value (`--since DATA`), in English */
const PLACEHOLDERS_EN: Record<string, string> = {NOME: 'NAME', DATA: 'DATE', DURATA: 'DURATION', ETÀ: 'AGE', CARTELLA: 'DIR', VALORE: 'VALUE', CODICE: 'CODE', CHIAVE: 'KEY'}

const HEADERS_IT: Record<string, string> = {
  USAGE: 'USO',
  ARGUMENTS: 'ARGOMENTI',
  FLAGS: 'OPZIONI',
  'GLOBAL FLAGS': 'OPZIONI COMUNI',
  DESCRIPTION: 'DESCRIZIONE',
  ALIASES: 'ALIAS',
  EXAMPLES: 'ESEMPI',
  'FLAG DESCRIPTIONS': 'DESCRIZIONE DELLE OPZIONI',
  COMMANDS: 'COMANDI',
  TOPICS: 'ARGOMENTI',
  VERSION: 'VERSIONE',
}

export function helpLang(argv: string[], env: NodeJS.ProcessEnv = process.env): Lang {
  const at = argv.findIndex((a) => a === '--lang' || a.startsWith('--lang='))
  const value = at === -1 ? undefined : argv[at].includes('=') ? argv[at].split('=')[1] : argv[at + 1]
  return value === 'en' || value === 'it' ? value : detectLang(env)
}

/** The command as an English reader sees it: summary, description, args and flags swapped. */
export function inEnglish(command: Command.Loadable): Command.Loadable {
  const english = (command as {english?: EnglishHelp}).english
  if (!english) return command
  const flags = Object.fromEntries(
    Object.entries(command.flags).map(([name, flag]) => {
      const text = english.flags?.[name] ?? SHARED_FLAGS_EN[name]
      const helpValue = 'helpValue' in flag && typeof flag.helpValue === 'string' ? flag.helpValue.replace(/[A-ZÀ-Ù]+/g, (w) => PLACEHOLDERS_EN[w] ?? w) : undefined
      return [name, text ? {...flag, summary: undefined, description: text, ...(helpValue ? {helpValue} : {})} : flag]
    }),
  )
  const args = Object.fromEntries(Object.entries(command.args).map(([name, arg]) => [name, {...arg, description: english.args?.[name] ?? arg.description}]))
  return {...command, summary: english.summary, description: english.description, flags, args} as Command.Loadable
}

class LocalizedCommandHelp extends CommandHelp {
  public override section(header: string, body: Parameters<CommandHelp['section']>[1]): string {
    return super.section(localHeader(header), body)
  }
}

export default class LocalizedHelp extends Help {
  constructor(config: Interfaces.Config, opts?: Partial<Interfaces.HelpOptions>) {
    super(config, opts)
    this.CommandHelpClass = LocalizedCommandHelp
  }

  override async showCommandHelp(command: Command.Loadable): Promise<void> {
    return super.showCommandHelp(language() === 'en' ? inEnglish(command) : command)
  }

  protected override async showRootHelp(): Promise<void> {
    if (language() === 'en') this.config.pjson.description = ROOT_EN
    return super.showRootHelp()
  }

  protected override get sortedCommands(): Command.Loadable[] {
    return language() === 'en' ? super.sortedCommands.map(inEnglish) : super.sortedCommands
  }

  protected override get sortedTopics(): Interfaces.Topic[] {
    return language() === 'en' ? super.sortedTopics.map((t) => ({...t, description: TOPICS_EN[t.name] ?? t.description})) : super.sortedTopics
  }

  public override section(header: string, body: Parameters<Help['section']>[1]): string {
    return super.section(localHeader(header), body)
  }

  protected override log(...args: string[]): void {
    super.log(...(language() === 'en' ? args : args.map((text) => text.replaceAll('[default: ', '[predefinito: '))))
  }
}

function language(): Lang {
  return helpLang(process.argv.slice(2))
}

function localHeader(header: string): string {
  return language() === 'en' ? header : (HEADERS_IT[header] ?? header)
}
