import {Args} from '@oclif/core'

import {BaseCommand} from '../../src/cli/base-command.js'
import {profileFlag} from '../../src/cli/flags.js'
import {configFile, readConfigFile, validateConfigValue, writeConfigFile} from '../../src/config/index.js'

export default class ConfigSet extends BaseCommand {
  static override summary = 'Imposta un valore di configurazione (controllato prima di salvarlo)'
  static override description = 'I segreti (passphrase) non vanno qui: si salvano nel portachiavi con casellario login.'
  static override examples = [
    '<%= config.bin %> config set ente.codice H501',
    '<%= config.bin %> config set ente.cfOperatore RSSMRA80A01H501U --profile comune-b',
    '<%= config.bin %> config set sign.certificate /etc/casellario/ente.p12',
  ]
  static override english = {
    summary: 'Set a setting (checked before it is saved)',
    description: 'Secrets (passphrases) do not go here: save them in the keychain with casellario login.',
    args: {key: 'Key (casellario config list lists them)', value: 'Value'},
  }

  static override args = {
    key: Args.string({description: 'Chiave (casellario config list le elenca)', required: true}),
    value: Args.string({description: 'Valore', required: true}),
  }
  static override flags = {profile: profileFlag}

  async run(): Promise<void> {
    const {args, flags} = await this.parse(ConfigSet)
    this.setup(flags)
    const value = validateConfigValue(args.key, args.value)
    const file = configFile(this.config.configDir, flags.profile)
    writeConfigFile(file, {...readConfigFile(file), [args.key]: value})
    if (this.jsonOutput) return this.out(JSON.stringify({key: args.key, value, file}))
    this.out(`${args.key} = ${value}  (${file})`)
  }
}
