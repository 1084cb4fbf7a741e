import {Flags} from '@oclif/core'

import {BaseCommand} from '../src/cli/base-command.js'
import {enteFilterFlag, outputFileFlag, profileFlag, storeFlag} from '../src/cli/flags.js'
import {say} from '../src/i18n/messages.js'
import {exportAudit} from '../src/retention/audit.js'

export default class Audit extends BaseCommand {
  static override summary = 'Esporta il registro delle operazioni per il DPO dell’ente (DESIGN §13)'
  static override description = `Dal registro eventi dello store (solo aggiunte, mai modifiche): chi (codice fiscale dell'operatore), quando, con quale comando, da quale file (nome e SHA-256), quale id_flusso, quale passaggio di stato (costruito, in coda, inviato, prelevato, accettato, respinto, ridotto da purge…). Non contiene dati dei beneficiari.
Il formato segue l'estensione del file: .csv (per Excel, separatore ;) o .json. Il file è creato con permessi 0600.`
  static override examples = [
    '<%= config.bin %> audit --since 2026-01-01 --out audit.csv',
    '<%= config.bin %> audit --since 2026-06-01 --ente H501 --out audit-h501.json --json',
  ]
  static override english = {
    summary: "Export the log of operations for the ente's DPO (DESIGN §13)",
    description: `From the store's event log (append only, never changed): who (the operator's codice fiscale), when, with which command, from which file (name and SHA-256), which id_flusso, which change of state (built, queued, sent, pulled, accepted, rejected, reduced by purge…). It holds no data about beneficiaries.
The format follows the file's extension: .csv (for Excel, separator ;) or .json. The file is created with mode 0600.`,
    flags: {since: 'From this date (YYYY-MM-DD) or ISO instant', ente: 'Only the events of this ente’s flussi and submissions', out: 'File to write: .csv or .json'},
  }

  static override flags = {
    since: Flags.string({description: 'Dalla data (AAAA-MM-GG) o dall’istante ISO', required: true, helpValue: 'DATA'}),
    ente: enteFilterFlag({description: 'Solo gli eventi dei flussi e degli invii di questo ente'}),
    out: outputFileFlag({char: 'o', description: 'File da scrivere: .csv o .json', required: true, helpValue: 'FILE'}),
    store: storeFlag,
    profile: profileFlag,
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(Audit)
    this.setup(flags)
    const store = this.openStore(this.settings(flags))
    try {
      const result = exportAudit({store, since: flags.since, ente: flags.ente && store.enteNamed(flags.ente), out: flags.out})
      if (this.jsonOutput) this.out(JSON.stringify(result))
      else {
        const since = result.since.slice(0, 10)
        this.out(say({it: `${result.events} eventi dal ${since} scritti in ${result.out}.`, en: `${result.events} ${result.events === 1 ? 'event' : 'events'} since ${since} written to ${result.out}.`}))
      }
    } finally {
      store.close()
    }
  }
}
