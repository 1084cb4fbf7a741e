import {Args} from '@oclif/core'

import {BaseCommand} from '../../src/cli/base-command.js'
import {FLOWS} from '../../src/flows/index.js'
import {describeFields} from '../../src/flows/describe.js'
import {lang, say} from '../../src/i18n/messages.js'
import {describeColumnRule, loadTemplate} from '../../src/mapping/index.js'

export default class TemplateShow extends BaseCommand {
  static override summary = 'Mostra le colonne di un tracciato canonico o di un modello di mappatura'
  static override examples = ['<%= config.bin %> template show ps', '<%= config.bin %> template show comune-excel-it', '<%= config.bin %> template show mio-modello.yaml --json']
  static override english = {summary: 'Show the columns of a canonical record layout or of a mapping template', args: {name: 'ps, sinba, the name of a bundled template or a YAML file'}}

  static override args = {name: Args.string({description: 'ps, sinba, il nome di un modello incluso o un file YAML', required: true})}

  async run(): Promise<void> {
    const {args, flags} = await this.parse(TemplateShow)
    this.setup(flags)
    const flow = FLOWS[args.name]
    if (flow) {
      const fields = describeFields(flow, lang())
      if (this.jsonOutput) return this.out(JSON.stringify({name: flow.id, kind: 'canonical', fields}))
      for (const f of fields) this.out(`${f.column.padEnd(34)} ${f.required ? say({it: 'obbligatorio', en: 'required    '}) : say({it: 'facoltativo ', en: 'optional    '})}  ${f.format.padEnd(22)} ${f.description}`)
      return
    }
    const template = loadTemplate(args.name)
    if (this.jsonOutput) return this.out(JSON.stringify({...template, kind: 'mapping'}))
    this.out(`${template.name} (${say({it: 'tracciato', en: 'record layout'})} ${template.flow})${template.description ? `: ${template.description}` : ''}`)
    for (const [field, rule] of Object.entries(template.columns)) this.out(`  ${field.padEnd(34)} ← ${describeColumnRule(rule)}`)
  }
}
