import {Args} from '@oclif/core'

import {BaseCommand} from '../../src/cli/base-command.js'
import {profileFlag} from '../../src/cli/flags.js'
import {configKey, loadSettings, withoutPassword} from '../../src/config/index.js'
import {ExitCode} from '../../src/errors/index.js'
import {say} from '../../src/i18n/messages.js'

const SOURCE = {
  it: {flag: 'opzione sulla riga di comando', env: 'variabile d\'ambiente {env}', file: 'file del profilo {file}', unset: 'non impostato'},
  en: {flag: 'command-line flag', env: 'environment variable {env}', file: 'profile file {file}', unset: 'not set'},
} as const

export default class ConfigGet extends BaseCommand {
  static override summary = 'Mostra un valore di configurazione e da dove viene (flag, ambiente, file)'
  static override examples = ['<%= config.bin %> config get ente.codice', '<%= config.bin %> config get store --json']
  static override english = {summary: 'Show a setting and where it comes from (flag, environment, file)', args: {key: 'Key'}}

  static override args = {key: Args.string({description: 'Chiave', required: true})}
  static override flags = {profile: profileFlag}

  async run(): Promise<void> {
    const {args, flags} = await this.parse(ConfigGet)
    this.setup(flags)
    const settings = loadSettings({configDir: this.config.configDir, profile: flags.profile})
    const raw = settings.resolve(args.key)
    const resolved = raw.value === undefined ? raw : {...raw, value: withoutPassword(raw.value)}
    if (this.jsonOutput) this.out(JSON.stringify(resolved))
    else if (resolved.value === undefined) this.out(say({it: `${args.key} non è impostato (né flag, né variabile d'ambiente, né file del profilo).`, en: `${args.key} is not set (no flag, environment variable or profile file).`}))
    else {
      // the value alone on stdout (scripts read it); where it comes from, for the person, on stderr
      this.out(resolved.value)
      this.note(say({it: `fonte: ${SOURCE.it[resolved.source]}`, en: `source: ${SOURCE.en[resolved.source]}`}).replace('{env}', configKey(args.key).env).replace('{file}', settings.file))
    }
    if (resolved.value === undefined) this.setExitCode(ExitCode.usage)
  }
}
