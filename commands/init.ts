import {Flags} from '@oclif/core'

import {BaseCommand} from '../src/cli/base-command.js'
import {enteFlags, profileFlag} from '../src/cli/flags.js'
import {configFile, readConfigFile} from '../src/config/index.js'
import {UsageError} from '../src/errors/index.js'
import {say} from '../src/i18n/messages.js'
import {isInteractive, inquirerPrompter} from '../src/cli/prompts.js'
import {storeSandboxPassphrase} from '../src/secrets/status.js'
import {runInit, sandboxCertificatePath} from '../src/setup/init.js'
import {createSandboxCertificate} from '../src/setup/test-certificate.js'

export default class Init extends BaseCommand {
  static override summary = "Prima configurazione: identità dell'ente, certificato di firma, trasporto"
  static override description =
    "Su un terminale chiede quello che manca, controllando ogni risposta. Senza terminale (script, cron) o con --no-interactive non chiede nulla: i dati vanno passati con i flag, e se ne manca uno obbligatorio lo dice ed esce con 1. Con --sandbox crea un certificato di prova autofirmato (mai valido per INPS) per provare tutto contro la sandbox. Le passphrase non vanno qui: casellario login le salva nel portachiavi."
  static override examples = [
    '<%= config.bin %> init',
    '<%= config.bin %> init --ente-codice H501 --ente-belfiore H501 --cf-operatore RSSMRA80A01H501U --certificate ente.p12 --no-interactive',
    '<%= config.bin %> init --sandbox --ente-codice H501 --ente-belfiore H501 --cf-operatore RSSMRA80A01H501U --no-interactive',
    '<%= config.bin %> init --profile comune-b',
  ]
  static override english = {
    summary: "First set-up: the ente's identity, signing certificate, transport",
    description:
      'On a terminal it asks for what is missing, checking every answer. Without a terminal (scripts, cron) or with --no-interactive it asks nothing: give the data with the flags; if a required one is missing it says so and exits with 1. With --sandbox it creates a self-signed test certificate (never valid for INPS) to try everything against the sandbox. Passphrases do not go here: casellario login saves them in the keychain.',
    flags: {
      certificate: "The ente's PKCS#12 (.p12/.pfx) for signing",
      transport: 'Transport to INPS',
      endpoint: 'Base URL of the push transport, or sandbox',
      sandbox: 'Create a test certificate and use the sandbox (never for INPS)',
      interactive: 'Ask for missing data (on a terminal only)',
    },
  }

  static override flags = {
    ...enteFlags,
    certificate: Flags.string({description: "PKCS#12 (.p12/.pfx) dell'ente per firmare", helpValue: 'FILE'}),
    transport: Flags.option({options: ['waas', 'push', 'file'] as const, description: 'Trasporto verso INPS'})(),
    endpoint: Flags.string({description: 'URL base del trasporto push, o sandbox'}),
    sandbox: Flags.boolean({description: 'Crea un certificato di prova e usa la sandbox (mai per INPS)', default: false}),
    interactive: Flags.boolean({description: 'Chiede i dati mancanti (solo su un terminale)', default: true, allowNo: true}),
    profile: profileFlag,
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(Init)
    this.setup(flags)
    const file = configFile(this.config.configDir, flags.profile)
    const interactive = flags.interactive && !this.jsonOutput && isInteractive()
    const sandboxPath = sandboxCertificatePath(this.config.configDir, flags.profile)
    if (flags.sandbox) {
      const current = readConfigFile(file)['sign.certificate']
      if (current && current !== sandboxPath) {
        throw new UsageError('SANDBOX_OVER_REAL_CERTIFICATE', {
          it: `Il profilo ${flags.profile} ha già un certificato (${current}): la sandbox non lo sostituisce.`,
          en: `The profile ${flags.profile} already has a certificate (${current}): the sandbox does not replace it.`,
        }, {
          suggestions: [{it: 'Usa un profilo a parte: casellario init --sandbox --profile sandbox …', en: 'Use a separate profile: casellario init --sandbox --profile sandbox …'}],
        })
      }
    }
    const result = await runInit({
      file,
      flags: {
        'ente-codice': flags['ente-codice'],
        'ente-belfiore': flags['ente-belfiore'],
        'ente-denominazione': flags['ente-denominazione'],
        'cf-operatore': flags['cf-operatore'],
        certificate: flags.certificate,
        transport: flags.transport,
        endpoint: flags.endpoint,
      },
      prompter: interactive ? inquirerPrompter() : undefined,
      overrides: flags.sandbox ? {'sign.certificate': sandboxPath, transport: 'push', 'endpoint.url': 'sandbox'} : undefined,
    })
    // the throwaway certificate and its passphrase only once every answer has been accepted
    let sandboxNote: string | undefined
    if (flags.sandbox) {
      const cert = createSandboxCertificate(sandboxPath, result.values['ente.denominazione'] ?? result.values['ente.codice'] ?? 'Ente')
      sandboxNote = storeSandboxPassphrase(cert.passphrase, sandboxPath)
    }
    if (this.jsonOutput) return this.out(JSON.stringify({profile: flags.profile, ...result, ...(sandboxNote ? {sandbox: sandboxNote} : {})}))
    this.out(say({it: `Configurazione salvata in ${result.file}:`, en: `Configuration saved in ${result.file}:`}))
    for (const [key, value] of Object.entries(result.values)) this.out(`  ${key.padEnd(20)} ${value}`)
    if (sandboxNote) this.out(sandboxNote)
    if (result.values['sign.certificate'] && !flags.sandbox) this.out(say({it: 'Ora salva la passphrase del certificato nel portachiavi: casellario login', en: "Now save the certificate's passphrase in the keychain: casellario login"}))
  }
}
