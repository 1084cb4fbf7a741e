import {Flags} from '@oclif/core'

import {BaseCommand} from '../../src/cli/base-command.js'
import {say} from '../../src/i18n/messages.js'
import {importComuni, userComuniPath} from '../../src/tables/user-comuni.js'
import {importNomenclatore, userNomenclatorePath} from '../../src/tables/user-nomenclatore.js'

export default class TablesUpdate extends BaseCommand {
  static override summary = 'Aggiunge al nomenclatore i codici prestazione che INPS ha introdotto, o aggiorna i comuni dai file di ISTAT o ANPR'
  static override description =
    "Legge un foglio (CSV, XLSX o ODS) con le colonne codice e denominazione — anche l'export della tabella delle prestazioni dal portale INPS, con intestazioni italiane come \"Codice prestazione\" e \"Descrizione\", e un titolo sopra l'intestazione — e salva i codici nel nomenclatore locale (cartella dati dell'utente). Da quel momento validate, build e submit li riconoscono. Il nomenclatore pubblico è parziale: un codice sconosciuto è solo un avviso. Con --comuni legge invece l'elenco dei comuni pubblicato da ISTAT o l'archivio di ANPR e completa la tabella inclusa (per esempio con i comuni nati dopo questa versione)."
  static override examples = ['<%= config.bin %> tables update --from nomenclatore-inps.csv', '<%= config.bin %> tables update --from export-portale-inps.xlsx --json', '<%= config.bin %> tables update --comuni Elenco-comuni-italiani.csv', '<%= config.bin %> tables status']
  static override english = {
    summary: 'Add to the nomenclatore the prestazione codes INPS has introduced, or update the comuni from ISTAT or ANPR files',
    description:
      'Reads a sheet (CSV, XLSX or ODS) with the columns code and name — also the export of the prestazioni table from the INPS portal, with Italian headers such as "Codice prestazione" and "Descrizione" and a title above the header — and saves the codes in the local nomenclatore (the user data folder). From then on validate, build and submit recognise them. The public nomenclatore is partial: an unknown code is only a warning. With --comuni it reads instead the list of comuni published by ISTAT or the ANPR archive and completes the bundled table (for instance with comuni created after this version).',
    flags: {
      from: 'A sheet with the columns code and name (nomenclatore of prestazioni)',
      comuni: 'The list of comuni published by ISTAT (Elenco-comuni-italiani.csv) or the ANPR archive (ANPR_archivio_comuni.csv)',
    },
  }

  static override flags = {
    from: Flags.string({description: 'Foglio con le colonne codice e denominazione (nomenclatore delle prestazioni)', helpValue: 'FILE', exactlyOne: ['from', 'comuni']}),
    comuni: Flags.string({description: "Elenco dei comuni pubblicato da ISTAT (Elenco-comuni-italiani.csv) o archivio ANPR (ANPR_archivio_comuni.csv)", helpValue: 'FILE', exactlyOne: ['from', 'comuni']}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(TablesUpdate)
    this.setup(flags)
    if (flags.comuni) {
      const comuni = await importComuni(flags.comuni, userComuniPath(this.config.dataDir))
      if (this.jsonOutput) return this.out(JSON.stringify(comuni))
      this.out(say({
        it: `Tabella dei comuni locale ${comuni.file}: ${comuni.rows} comuni letti da ${comuni.source}, ${comuni.added} non presenti nella tabella inclusa.`,
        en: `Local comuni table ${comuni.file}: ${comuni.rows} comuni read from ${comuni.source}, ${comuni.added} not in the included table.`,
      }))
      for (const r of comuni.rejected) this.out(say({it: `  riga ${r.row}: ${r.reason}: ignorata`, en: `  row ${r.row}: ${r.reason}: ignored`}))
      return
    }
    const path = userNomenclatorePath(this.config.dataDir)
    const result = await importNomenclatore(flags.from!, path)
    if (this.jsonOutput) return this.out(JSON.stringify({file: path, ...result}))
    this.out(say({
      it: `Nomenclatore locale ${path}: ${result.added.length} codici aggiunti, ${result.updated.length} aggiornati, ${result.total} in tutto.`,
      en: `Local nomenclatore ${path}: ${result.added.length} ${result.added.length === 1 ? 'code' : 'codes'} added, ${result.updated.length} updated, ${result.total} in all.`,
    }))
    for (const r of result.rejected) {
      this.out(say({
        it: `  riga ${r.row}: "${r.value}" non è un codice prestazione (formato A1.04 o A1.05.01): ignorato`,
        en: `  row ${r.row}: "${r.value}" is not a prestazione code (format A1.04 or A1.05.01): ignored`,
      }))
    }
  }
}
