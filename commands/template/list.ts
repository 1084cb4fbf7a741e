import {BaseCommand} from '../../src/cli/base-command.js'
import {FLOWS} from '../../src/flows/index.js'
import {say} from '../../src/i18n/messages.js'
import {listTemplates} from '../../src/mapping/index.js'

export default class TemplateList extends BaseCommand {
  static override summary = 'Elenca i tracciati canonici e i modelli di mappatura inclusi'
  static override examples = ['<%= config.bin %> template list', '<%= config.bin %> template list --json']

  static override english = {summary: 'List the canonical record layouts and the bundled mapping templates'}

  async run(): Promise<void> {
    const {flags} = await this.parse(TemplateList)
    this.setup(flags)
    const canonical = Object.values(FLOWS).map((f) => ({name: f.id, kind: 'canonical', flow: f.id, description: say({it: `Tracciato canonico ${f.nameCode} (${f.fields.length} colonne)`, en: `Canonical ${f.nameCode} record layout (${f.fields.length} columns)`})}))
    const mappings = listTemplates().map((t) => ({name: t.name, kind: 'mapping', flow: t.flow, description: t.description ?? ''}))
    const all = [...canonical, ...mappings]
    if (this.jsonOutput) return this.out(JSON.stringify({templates: all}))
    for (const t of all) this.out(`${t.name.padEnd(22)} ${t.kind === 'canonical' ? say({it: 'canonico ', en: 'canonical'}) : say({it: 'mappatura', en: 'mapping  '})}  ${t.flow.padEnd(6)} ${t.description}`)
  }
}
