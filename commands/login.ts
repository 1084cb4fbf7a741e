import {Flags} from '@oclif/core'

import {BaseCommand} from '../src/cli/base-command.js'
import {profileFlag} from '../src/cli/flags.js'
import {askSecret, isInteractive} from '../src/cli/prompts.js'
import {loadSettings} from '../src/config/index.js'
import {UsageError} from '../src/errors/index.js'
import {say} from '../src/i18n/messages.js'
import {defaultSecretsFile, setSecret, SECRETS, type SecretName} from '../src/secrets/index.js'
import {loadPkcs12} from '../src/sign/pkcs12.js'

export default class Login extends BaseCommand {
  static override summary = 'Salva nel portachiavi del sistema la passphrase del certificato (o della chiave PDND)'
  static override description =
    'La passphrase non va mai nella configurazione. Su un terminale viene chiesta senza mostrarla; negli script si passa con --stdin. Prima di salvarla controlla che apra davvero il certificato. Su un server senza portachiavi usa la variabile CASELLARIO_P12_PASSPHRASE, oppure, esplicitamente, un file 0600 con --secrets-file.'
  static override examples = [
    '<%= config.bin %> login',
    'printf %s "$PASSPHRASE" | <%= config.bin %> login --stdin',
    '<%= config.bin %> login --pdnd',
    '<%= config.bin %> login --stdin --secrets-file < passphrase.txt   # server senza portachiavi',
  ]
  static override english = {
    summary: "Save the certificate's (or the PDND key's) passphrase in the system keychain",
    description:
      'The passphrase never goes in the settings. On a terminal it is asked for without showing it; in scripts pass it with --stdin. Before saving it, it checks that it really opens the certificate. On a server without a keychain use the CASELLARIO_P12_PASSPHRASE variable or, explicitly, a 0600 file with --secrets-file.',
    flags: {
      pdnd: "The passphrase of the PDND private key (pdnd.key) instead of the certificate's",
      stdin: 'Read the passphrase from standard input (first line)',
      'secrets-file': 'If there is no keychain, save it in the secrets file of the settings folder (0600)',
    },
  }

  static override flags = {
    pdnd: Flags.boolean({description: 'La passphrase della chiave privata PDND (pdnd.key) invece di quella del certificato', default: false}),
    stdin: Flags.boolean({description: 'Legge la passphrase dallo standard input (prima riga)', default: false}),
    'secrets-file': Flags.boolean({description: 'Se il portachiavi non c’è, salva nel file dei segreti della configurazione (0600)', default: false}),
    profile: profileFlag,
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(Login)
    this.setup(flags)
    const name: SecretName = flags.pdnd ? 'pdnd-key-passphrase' : 'p12-passphrase'
    const value = flags.stdin ? await readFirstLine() : await this.ask(name)
    const secretsFile = flags['secrets-file'] ? defaultSecretsFile(this.config.configDir) : undefined
    if (value === '') throw new UsageError('SECRET_EMPTY', {it: 'La passphrase è vuota: niente da salvare.', en: 'The passphrase is empty: nothing to save.'})
    const settings = loadSettings({configDir: this.config.configDir, profile: flags.profile})
    const certificate = settings.get('sign.certificate')
    // a wrong passphrase saved now would only fail later, in the middle of a submission
    if (name === 'p12-passphrase' && certificate) loadPkcs12(certificate, value)
    const {source} = await setSecret(name, value, {profile: flags.profile, fileFallback: secretsFile})
    if (this.jsonOutput) return this.out(JSON.stringify({secret: name, profile: flags.profile, source, verified: name === 'p12-passphrase' && Boolean(certificate)}))
    const {label} = SECRETS[name]
    this.out(
      source === 'keychain'
        ? say({it: `Salvata ${label.it} nel portachiavi del sistema (profilo ${flags.profile}).`, en: `Saved ${label.en} in the system's keychain (profile ${flags.profile}).`})
        : say({it: `Salvata ${label.it} nel file ${secretsFile} (profilo ${flags.profile}).`, en: `Saved ${label.en} in the file ${secretsFile} (profile ${flags.profile}).`}),
    )
  }

  private async ask(name: SecretName): Promise<string> {
    // a prompt on stdout would break the one JSON document --json promises
    if (!isInteractive() || this.jsonOutput) {
      throw new UsageError('LOGIN_NEEDS_TERMINAL', {it: 'Serve un terminale per chiedere la passphrase.', en: 'A terminal is needed to ask for the passphrase.'}, {
        suggestions: [
          {it: 'Negli script: printf %s "$PASSPHRASE" | casellario login --stdin', en: 'In scripts: printf %s "$PASSPHRASE" | casellario login --stdin'},
          {it: `Oppure non salvarla: export ${SECRETS[name].env}=…`, en: `Or do not save it: export ${SECRETS[name].env}=…`},
        ],
      })
    }
    return askSecret(`Passphrase (${say(SECRETS[name].label)})`)
  }
}

async function readFirstLine(): Promise<string> {
  let text = ''
  for await (const chunk of process.stdin) {
    text += chunk
    if (text.includes('\n')) break
  }
  return text.split(/\r?\n/)[0]
}
