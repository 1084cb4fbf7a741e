import {Args} from '@oclif/core'

import {BaseCommand} from '../../src/cli/base-command.js'
import {profileFlag} from '../../src/cli/flags.js'
import {configFile, readConfigFile, STORE_PASSWORD_NOT_SAVED, validateConfigValue, withoutStorePassword, writeConfigFile} from '../../src/config/index.js'
import {say} from '../../src/i18n/messages.js'

export default class ConfigSet extends BaseCommand {
  static override summary = 'Imposta un valore di configurazione (controllato prima di salvarlo)'
  static override description = 'I segreti (passphrase) non vanno qui: si salvano nel portachiavi con casellario login. La password di uno store PostgreSQL non si salva: va in PGPASSWORD o in ~/.pgpass.'
  static override examples = [
    '<%= config.bin %> config set ente.codice H501',
    '<%= config.bin %> config set ente.cfOperatore RSSMRA80A01H501U --profile comune-b',
    '<%= config.bin %> config set sign.certificate /etc/casellario/ente.p12',
    '<%= config.bin %> config set store "postgres://casellario@db.ambito.it/siuss?sslmode=verify-full"',
  ]
  static override english = {
    summary: 'Set a setting (checked before it is saved)',
    description: "Secrets (passphrases) do not go here: save them in the keychain with casellario login. A PostgreSQL store's password is not saved: it goes in PGPASSWORD or ~/.pgpass.",
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
    // a store password is dropped with a warning, never saved (secrets: keychain or environment)
    const given = withoutStorePassword(args.key, args.value)
    const value = validateConfigValue(args.key, given.value)
    const file = configFile(this.config.configDir, flags.profile)
    writeConfigFile(file, {...readConfigFile(file), [args.key]: value})
    const warnings = given.passwordDropped ? [{code: 'STORE_PASSWORD_NOT_SAVED', message: say(STORE_PASSWORD_NOT_SAVED)}] : []
    if (this.jsonOutput) return this.out(JSON.stringify({key: args.key, value, file, warnings}))
    for (const w of warnings) process.stderr.write(`${say({it: 'Attenzione', en: 'Warning'})} [${w.code}]: ${w.message}\n`)
    this.out(`${args.key} = ${value}  (${file})`)
  }
}
