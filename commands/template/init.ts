import {existsSync} from 'node:fs'

import {Flags} from '@oclif/core'

import {BaseCommand} from '../../src/cli/base-command.js'
import {flowFlag, outputFileFlag} from '../../src/cli/flags.js'
import {UsageError} from '../../src/errors/index.js'
import {say} from '../../src/i18n/messages.js'
import {flowById} from '../../src/flows/index.js'
import {writeCanonicalTemplate} from '../../src/mapping/canonical-template.js'

export default class TemplateInit extends BaseCommand {
  static override summary = 'Scrive un foglio vuoto con le intestazioni canoniche del tracciato'
  static override description =
    "XLSX (Excel), ODS (LibreOffice) o CSV (UTF-8, separatore virgola) secondo l'estensione. Nei fogli di lavoro l'intestazione resta visibile, le date si scrivono gg/mm/aaaa e gli importi 1.234,56, le colonne a codici hanno un menu a tendina, e un foglio Istruzioni spiega significato, formato, valori ammessi e quando ogni colonna è obbligatoria."
  static override examples = [
    '<%= config.bin %> template init --flow ps --out modello.xlsx',
    '<%= config.bin %> template init --flow sinba --out minori.ods',
    '<%= config.bin %> template init --flow ps --out modello.csv',
  ]
  static override english = {
    summary: "Write an empty sheet with the record layout's canonical headers",
    description:
      'XLSX (Excel), ODS (LibreOffice) or CSV (UTF-8, comma separated) by the extension. In workbooks the header stays visible, dates are typed dd/mm/yyyy and amounts 1.234,56, coded columns have a drop-down menu, and an Istruzioni sheet explains the meaning, format, allowed values of each column and when it is required.',
    flags: {out: 'File to write: .xlsx, .ods or .csv', force: 'Overwrite the file if it exists'},
  }

  static override flags = {
    flow: flowFlag,
    out: outputFileFlag({char: 'o', description: 'File da scrivere: .xlsx, .ods o .csv', required: true}),
    force: Flags.boolean({description: 'Sovrascrive il file se esiste', default: false}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(TemplateInit)
    this.setup(flags)
    if (existsSync(flags.out) && !flags.force) {
      throw new UsageError('OUTPUT_EXISTS', {it: `Il file ${flags.out} esiste già.`, en: `The file ${flags.out} already exists.`}, {
        suggestions: [{it: 'Aggiungi --force per sovrascriverlo.', en: 'Add --force to overwrite it.'}],
      })
    }
    const flow = flowById(flags.flow)
    const written = await writeCanonicalTemplate(flow, flags.out)
    if (this.jsonOutput) return this.out(JSON.stringify({file: flags.out, flow: flow.id, columns: written}))
    this.out(say({it: `Scritto ${flags.out}: ${written} colonne del tracciato ${flow.nameCode}.`, en: `Wrote ${flags.out}: ${written} columns of the ${flow.nameCode} record layout.`}))
  }
}
