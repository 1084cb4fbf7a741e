import {BaseCommand} from '../../src/cli/base-command.js'
import {profileFlag} from '../../src/cli/flags.js'
import {say} from '../../src/i18n/messages.js'
import {CONFIG_KEYS, loadSettings, withoutPassword} from '../../src/config/index.js'
import {describeSecrets} from '../../src/secrets/status.js'

export default class ConfigList extends BaseCommand {
  static override summary = 'Elenca la configurazione del profilo, con la provenienza di ogni valore e lo stato dei segreti'
  static override description = 'Dei segreti (passphrase) mostra solo se sono impostati e dove (ambiente, portachiavi, file), mai il valore.'
  static override examples = ['<%= config.bin %> config list', '<%= config.bin %> config list --profile comune-b --json']
  static override english = {
    summary: "List the profile's settings, with where each value comes from and the state of the secrets",
    description: 'Of secrets (passphrases) it shows only whether they are set and where (environment, keychain, file), never the value.',
  }

  static override flags = {profile: profileFlag}

  async run(): Promise<void> {
    const {flags} = await this.parse(ConfigList)
    this.setup(flags)
    const settings = loadSettings({configDir: this.config.configDir, profile: flags.profile})
    // a password that reached a URL through the environment is never printed
    const values = CONFIG_KEYS.map((k) => {
      const resolved = settings.resolve(k.key)
      return {...resolved, value: resolved.value === undefined ? undefined : withoutPassword(resolved.value), env: k.env, description: say(k.description)}
    })
    const secrets = await describeSecrets(flags.profile, this.config.configDir)
    if (this.jsonOutput) return this.out(JSON.stringify({profile: flags.profile, file: settings.file, values, secrets}))
    this.out(say({it: `Profilo ${flags.profile} (${settings.file})`, en: `Profile ${flags.profile} (${settings.file})`}))
    for (const v of values) this.out(`  ${v.key.padEnd(20)} ${v.value === undefined ? '—' : v.value}${v.source === 'unset' || v.source === 'file' ? '' : `  [${v.source === 'env' ? v.env : 'flag'}]`}`)
    for (const s of secrets) this.out(`  ${s.name.padEnd(20)} ${s.set ? say({it: `impostato (${s.source})`, en: `set (${s.source})`}) : say({it: 'non impostato', en: 'not set'})}`)
  }
}
