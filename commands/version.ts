import {BaseCommand} from '../src/cli/base-command.js'
import {say} from '../src/i18n/messages.js'

export default class Version extends BaseCommand {
  static override summary = 'Mostra la versione di casellario, di Node.js e del sistema (anche --version, -v)'
  static override examples = ['<%= config.bin %> version', '<%= config.bin %> version --json']

  static override english = {summary: 'Show the version of casellario, Node.js and the system (also --version, -v)'}

  async run(): Promise<void> {
    const {flags} = await this.parse(Version)
    this.setup(flags)
    const doc = {version: this.config.version, node: process.version, platform: `${process.platform}-${process.arch}`}
    if (this.jsonOutput) return this.out(JSON.stringify(doc))
    this.out(say({it: `casellario ${doc.version} (Node.js ${doc.node}, ${doc.platform})`, en: `casellario ${doc.version} (Node.js ${doc.node}, ${doc.platform})`}))
  }
}
