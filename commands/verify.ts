import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../src/cli/base-command.js'
import {ExitCode} from '../src/errors/index.js'
import {say} from '../src/i18n/messages.js'
import {verifyFile} from '../src/sign/index.js'

export default class Verify extends BaseCommand {
  static override summary = 'Verifica una firma (.p7m o .p7s): integrità, firmatario, validità'
  static override description =
    'Controlla la firma e che il contenuto sia esattamente quello firmato, e mostra il firmatario (soggetto, numero di serie, validità). Con --ca controlla anche la catena di certificazione. Esce con 2 se la firma non è valida o il file è stato alterato.'
  static override examples = [
    '<%= config.bin %> verify flussi/H501.PS.20261126.0000001.xml.p7m',
    '<%= config.bin %> verify flussi/H501.PS.20261126.0000001.xml.p7s --ca ca-ente.pem',
    '<%= config.bin %> verify firma.p7s --content flusso.xml --json',
  ]
  static override english = {
    summary: 'Verify a signature (.p7m or .p7s): integrity, signer, validity',
    description:
      'Checks the signature and that the content is exactly what was signed, and shows the signer (subject, serial number, validity). With --ca it also checks the certification chain. Exits with 2 if the signature is not valid or the file was altered.',
    args: {file: '.p7m or .p7s signature'},
    flags: {content: 'The signed file, for a .p7s signature (default: the same name without .p7s)', ca: 'Trusted CA certificates (PEM) to check the chain'},
  }

  static override args = {file: Args.string({description: 'Firma .p7m o .p7s', required: true})}
  static override flags = {
    content: Flags.string({description: 'File firmato, per una firma .p7s (predefinito: lo stesso nome senza .p7s)', helpValue: 'FILE'}),
    ca: Flags.string({description: 'Certificati di CA fidati (PEM) per controllare la catena', helpValue: 'FILE'}),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Verify)
    this.setup(flags)
    const result = await verifyFile(args.file, {content: flags.content, caFile: flags.ca})
    const {content: _content, ...shown} = result
    if (this.jsonOutput) this.out(JSON.stringify(shown))
    else {
      this.out(`${result.valid ? say({it: 'Firma VALIDA', en: 'Signature VALID'}) : say({it: 'Firma NON VALIDA', en: 'Signature NOT VALID'})}: ${args.file}`)
      if (result.signer) {
        this.out(`  ${say({it: 'firmatario ', en: 'signer     '})} ${result.signer.subject.text}`)
        this.out(`  ${say({it: 'emittente  ', en: 'issuer     '})} ${result.signer.issuer.text}`)
        this.out(`  ${say({it: 'serie      ', en: 'serial     '})} ${result.signer.serial}`)
        this.out(`  ${say({it: `validità    dal ${result.signer.notBefore} al ${result.signer.notAfter}`, en: `validity    from ${result.signer.notBefore} to ${result.signer.notAfter}`})}`)
      }
      if (result.signingTime) this.out(`  ${say({it: 'firmato il ', en: 'signed on  '})} ${result.signingTime}`)
      if (result.chainTrusted !== undefined) this.out(`  ${say({it: 'catena     ', en: 'chain      '})} ${result.chainTrusted ? say({it: 'fidata', en: 'trusted'}) : say({it: 'NON fidata', en: 'NOT trusted'})}`)
      if (result.reason) this.out(`  ${say({it: 'motivo     ', en: 'reason     '})} ${result.reason}`)
    }
    if (!result.valid) this.setExitCode(ExitCode.data)
  }
}
