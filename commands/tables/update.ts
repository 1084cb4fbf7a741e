import {Flags} from '@oclif/core'

import {BaseCommand} from '../../src/cli/base-command.js'
import {importNomenclatore, userNomenclatorePath} from '../../src/tables/user-nomenclatore.js'

export default class TablesUpdate extends BaseCommand {
  static override summary = 'Aggiunge al nomenclatore i codici prestazione che INPS ha introdotto'
  static override description =
    "Legge un foglio (CSV, XLSX o ODS) con le colonne codice e denominazione — anche l'export della tabella delle prestazioni dal portale INPS, con intestazioni italiane come \"Codice prestazione\" e \"Descrizione\", e un titolo sopra l'intestazione — e salva i codici nel nomenclatore locale (cartella dati dell'utente). Da quel momento validate, build e submit li riconoscono. Il nomenclatore pubblico è parziale: un codice sconosciuto è solo un avviso."
  static override examples = ['<%= config.bin %> tables update --from nomenclatore-inps.csv', '<%= config.bin %> tables update --from export-portale-inps.xlsx --json', '<%= config.bin %> tables status']
  static override flags = {
    from: Flags.string({description: 'Foglio con le colonne codice e denominazione', required: true, helpValue: 'FILE'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(TablesUpdate)
    this.setup(flags)
    const path = userNomenclatorePath(this.config.dataDir)
    const result = await importNomenclatore(flags.from, path)
    if (this.jsonOutput) return this.out(JSON.stringify({file: path, ...result}))
    this.out(`Nomenclatore locale ${path}: ${result.added.length} codici aggiunti, ${result.updated.length} aggiornati, ${result.total} in tutto.`)
    for (const r of result.rejected) this.out(`  riga ${r.row}: "${r.value}" non è un codice prestazione (formato A1.04 o A1.05.01): ignorato`)
  }
}
