import {Flags} from '@oclif/core'

import {BaseCommand} from '../src/cli/base-command.js'
import {enteFilterFlag, profileFlag, storeFlag} from '../src/cli/flags.js'
import {count, NOUNS, say} from '../src/i18n/messages.js'
import {identityKey} from '../src/retention/key.js'
import {purge} from '../src/retention/purge.js'

export default class Purge extends BaseCommand {
  static override summary = 'Riduce i flussi con esito definitivo più vecchi del periodo di conservazione (DESIGN §13)'
  static override description = `Per i flussi accettati, respinti o annullati da più del periodo indicato toglie dallo store l'XML inviato, i dati personali dei record e la descrizione dell'esito ripulita dai codici fiscali. Restano stati, esiti, id_flusso, righe del foglio, il registro eventi (casellario audit) e, per ogni prestazione, identità e impronta come hash con chiave: un nuovo invio dello stesso export riconosce le prestazioni già accettate e non invia nulla.
Una prestazione ridotta non si può più cancellare o correggere da casellario (servono i dati esatti inviati): si cancella dal portale INPS.
La chiave delle identità è in identity.key nella cartella di configurazione (o in CASELLARIO_IDENTITY_KEY): va salvata con il backup.
Pensato per cron: --json stampa un solo documento; --dry-run conta senza cambiare nulla.`
  static override examples = [
    '<%= config.bin %> purge --older-than 13m --dry-run',
    '<%= config.bin %> purge --older-than 13m --ente H501 --json',
    '0 3 1 * *  casellario purge --older-than 13m --json >> /var/log/casellario-purge.log   (crontab: il primo del mese)',
  ]
  static override english = {
    summary: 'Reduce the flussi whose final esito is older than the retention period (DESIGN §13)',
    description: `For flussi accepted, rejected or cancelled more than the given period ago, it removes from the store the XML sent, the records' personal data and the esito description stripped of codici fiscali. What stays: states, esiti, id_flusso, spreadsheet rows, the event log (casellario audit) and, for each prestazione, its identity and fingerprint as keyed hashes: sending the same export again recognises the prestazioni already accepted and sends nothing.
A reduced prestazione can no longer be cancelled or corrected from casellario (that needs the exact data sent): cancel it on the INPS portal.
The identity key is identity.key in the settings folder (or CASELLARIO_IDENTITY_KEY): keep it with the backup.
Made for cron: --json prints one document; --dry-run counts without changing anything.`,
    flags: {
      'older-than': 'Minimum age of the esito: a number + d (days), w (weeks), m (months), y (years)',
      ente: 'Only the flussi of this ente (ente code)',
      'dry-run': 'Count the flussi and records that would be reduced, without changing anything',
    },
  }

  static override flags = {
    'older-than': Flags.string({description: 'Età minima dell’esito: numero + d (giorni), w (settimane), m (mesi), y (anni)', default: '13m', helpValue: 'ETÀ'}),
    ente: enteFilterFlag({description: 'Solo i flussi di questo ente (codice ente)'}),
    'dry-run': Flags.boolean({description: 'Conta i flussi e i record che verrebbero ridotti, senza cambiare nulla', default: false}),
    store: storeFlag,
    profile: profileFlag,
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(Purge)
    this.setup(flags)
    const store = this.openStore(this.settings(flags))
    try {
      // the first purge creates the key (outside the store) that keeps purged identities recognisable
      if (!flags['dry-run']) store.useIdentityKey(identityKey(this.config.configDir, {create: true})!)
      const result = purge({store, olderThan: flags['older-than'], ente: flags.ente && store.enteNamed(flags.ente), dryRun: flags['dry-run'], workDir: this.privateTemp()})
      if (this.jsonOutput) this.out(JSON.stringify(result))
      else {
        const before = result.before.slice(0, 10)
        const what = {
          it: `${count(result.flussi, NOUNS.flusso)} (${count(result.records, NOUNS.prestazione)}) con esito definitivo anteriore al ${before}${result.ente ? ` dell'ente ${result.ente}` : ''}`,
          en: `${count(result.flussi, NOUNS.flusso)} (${count(result.records, NOUNS.prestazione)}) with a final esito before ${before}${result.ente ? ` of ente ${result.ente}` : ''}`,
        }
        this.out(
          result.dry_run
            ? say({it: `Da ridurre: ${what.it}. Nulla è stato cambiato (--dry-run).`, en: `To reduce: ${what.en}. Nothing was changed (--dry-run).`})
            : say({it: `Ridotti ${what.it}.`, en: `Reduced ${what.en}.`}),
        )
        if (result.checkpointed === false) {
          this.note(say({
            it: 'Attenzione: un altro processo legge lo store; le pagine vecchie spariranno dal file al prossimo checkpoint.',
            en: 'Note: another process is reading the store; the old pages will leave the file at the next checkpoint.',
          }))
        }
      }
    } finally {
      store.close()
    }
  }
}
