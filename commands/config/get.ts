import {Args} from '@oclif/core'

import {BaseCommand} from '../../src/cli/base-command.js'
import {profileFlag} from '../../src/cli/flags.js'
import {loadSettings, withoutPassword} from '../../src/config/index.js'
import {ExitCode} from '../../src/errors/index.js'

export default class ConfigGet extends BaseCommand {
  static override summary = 'Mostra un valore di configurazione e da dove viene (flag, ambiente, file)'
  static override examples = ['<%= config.bin %> config get ente.codice', '<%= config.bin %> config get store --json']
  static override args = {key: Args.string({description: 'Chiave', required: true})}
  static override flags = {profile: profileFlag}

  async run(): Promise<void> {
    const {args, flags} = await this.parse(ConfigGet)
    this.setup(flags)
    const raw = loadSettings({configDir: this.config.configDir, profile: flags.profile}).resolve(args.key)
    const resolved = raw.value === undefined ? raw : {...raw, value: withoutPassword(raw.value)}
    if (this.jsonOutput) this.out(JSON.stringify(resolved))
    else this.out(resolved.value === undefined ? `${args.key} non impostato` : `${resolved.value}`)
    if (resolved.value === undefined) this.setExitCode(ExitCode.usage)
  }
}
