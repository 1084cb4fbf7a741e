import {existsSync} from 'node:fs'

import {Flags} from '@oclif/core'

import {BaseCommand} from '../../src/cli/base-command.js'
import {flowFlag, outputFileFlag} from '../../src/cli/flags.js'
import {UsageError} from '../../src/errors/index.js'
import {flowById} from '../../src/flows/index.js'
import {writeCanonicalTemplate} from '../../src/mapping/canonical-template.js'

export default class TemplateInit extends BaseCommand {
  static override summary = 'Scrive un foglio vuoto con le intestazioni canoniche del tracciato'
  static override description =
    "CSV (UTF-8, separatore virgola) o XLSX secondo l'estensione. L'XLSX ha anche un foglio Istruzioni con il significato, il formato e i valori ammessi di ogni colonna."
  static override examples = ['<%= config.bin %> template init --flow ps --out modello.csv', '<%= config.bin %> template init --flow ps --out modello.xlsx']
  static override flags = {
    flow: flowFlag,
    out: outputFileFlag({char: 'o', description: 'File da scrivere (.csv o .xlsx)', required: true}),
    force: Flags.boolean({description: 'Sovrascrive il file se esiste', default: false}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(TemplateInit)
    this.setup(flags)
    if (existsSync(flags.out) && !flags.force) {
      throw new UsageError('OUTPUT_EXISTS', `Il file ${flags.out} esiste già.`, {suggestions: ['Aggiungi --force per sovrascriverlo.']})
    }
    const flow = flowById(flags.flow)
    const written = await writeCanonicalTemplate(flow, flags.out)
    if (this.jsonOutput) return this.out(JSON.stringify({file: flags.out, flow: flow.id, columns: written}))
    this.out(`Scritto ${flags.out}: ${written} colonne del tracciato ${flow.nameCode}.`)
  }
}
