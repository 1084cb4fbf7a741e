import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../src/cli/base-command.js'
import {profileFlag} from '../src/cli/flags.js'
import {say} from '../src/i18n/messages.js'
import {openSigner, signFiles} from '../src/sign/index.js'

export default class Sign extends BaseCommand {
  static override strict = false
  static override summary = "Firma i flussi con il certificato dell'ente (CAdES-BES)"
  static override description =
    'Scrive accanto a ogni file la firma: .p7m (il file è dentro la busta) o, con --detached, .p7s (firma separata). SHA-256, con signing-certificate-v2, verificabile con openssl cms -verify. Prima di firmare controlla validità e uso della chiave del certificato. La passphrase viene dalla variabile CASELLARIO_P12_PASSPHRASE o dal portachiavi (casellario login).'
  static override examples = [
    '<%= config.bin %> sign flussi/*.xml',
    '<%= config.bin %> sign flussi/H501.PS.20261126.0000001.xml --detached',
    'CASELLARIO_P12=ente.p12 CASELLARIO_P12_PASSPHRASE=… <%= config.bin %> sign flussi/*.xml --json',
  ]
  static override english = {
    summary: "Sign the flussi with the ente's certificate (CAdES-BES)",
    description:
      "Writes the signature next to each file: .p7m (the file inside the envelope) or, with --detached, .p7s (separate signature). SHA-256, with signing-certificate-v2, verifiable with openssl cms -verify. Before signing it checks the certificate's validity and key usage. The passphrase comes from the CASELLARIO_P12_PASSPHRASE variable or from the keychain (casellario login).",
    args: {files: 'Files to sign'},
    flags: {detached: 'Separate .p7s signature instead of the .p7m envelope', certificate: 'PKCS#12 to use (otherwise sign.certificate or CASELLARIO_P12)'},
  }

  static override args = {files: Args.string({description: 'File da firmare', required: true})}
  static override flags = {
    detached: Flags.boolean({description: 'Firma separata .p7s invece della busta .p7m', default: false}),
    certificate: Flags.string({description: 'PKCS#12 da usare (altrimenti sign.certificate o CASELLARIO_P12)', helpValue: 'FILE'}),
    profile: profileFlag,
  }

  async run(): Promise<void> {
    const {argv, flags} = await this.parse(Sign)
    this.setup(flags)
    const settings = this.settings(flags)
    const signer = await openSigner({certificate: settings.get('sign.certificate'), profile: flags.profile, configDir: this.config.configDir})
    const signed = await signFiles(argv as string[], signer, {detached: flags.detached})
    if (this.jsonOutput) return this.out(JSON.stringify({signer: signer.signer, passphraseSource: signer.passphraseSource, signed}))
    this.note(say({it: `Firmatario: ${signer.signer.subject.text} (passphrase da: ${signer.passphraseSource})`, en: `Signer: ${signer.signer.subject.text} (passphrase from: ${signer.passphraseSource})`}))
    for (const s of signed) this.out(s.signature)
  }
}
