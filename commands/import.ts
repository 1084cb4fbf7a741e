import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../src/cli/base-command.js'
import {endpointFlag, profileFlag, storeFlag} from '../src/cli/flags.js'
import {ExitCode, UsageError} from '../src/errors/index.js'
import {count, NOUNS, say} from '../src/i18n/messages.js'
import {importFlussi, readEsitiFile} from '../src/submit/import.js'
import type {Transport} from '../src/submit/index.js'
import {endpointName} from '../src/transport/http.js'
import {ESITI} from '../src/transport/push.js'

export default class Import extends BaseCommand {
  static override summary = 'Registra nello store i flussi inviati prima di casellario (portale, SISO, altri programmi)'
  static override description = `Legge flussi XML già inviati a INPS (in chiaro, firmati .p7m o negli zip del trasporto file; upload o cooperazione; PS e SINBA) e li registra come accettati, o con l'esito indicato, sotto l'ente che nominano. Da quel momento submit calcola correzioni e cancellazioni anche rispetto a quelle prestazioni: un export cambiato produce la cancellazione dei dati che INPS ha e il nuovo inserimento.
I flussi sono considerati consegnati a INPS tramite il portale (la destinazione del trasporto file) salvo --transport o --endpoint. Un flusso non conforme allo schema è rifiutato; importare due volte lo stesso flusso non cambia nulla. Esce con 2 se qualche file è stato rifiutato.`
  static override examples = [
    '<%= config.bin %> import flussi-2025/*.xml',
    '<%= config.bin %> import H501.PS.20250310.0000001.xml.p7m --esiti esiti-portale.csv',
    '<%= config.bin %> import vecchi/*.xml --dry-run --json',
    '<%= config.bin %> import inviati-hub/*.xml --endpoint https://hub.regione.example/casellario/v1',
  ]
  static override strict = false
  static override english = {
    summary: 'Record in the store the flussi sent before casellario (portal, SISO, other programs)',
    description: `Reads XML flussi already sent to INPS (plain, signed .p7m or inside the file transport's zips; upload or cooperazione; PS and SINBA) and records them as accepted, or with the given esito, under the ente they name. From then on submit computes corrections and cancellations against those prestazioni too: a changed export produces the cancellation of the data INPS holds and the new insertion.
The flussi count as delivered to INPS through the portal (the file transport's destination) unless --transport or --endpoint says otherwise. A flusso that does not conform to the schema is refused; importing the same flusso twice changes nothing. Exits with 2 if some file was refused.`,
    args: {file: 'XML flussi, .p7m or .zip (more than one allowed)'},
    flags: {
      esito: "INPS's esito for the imported flussi (default OK: accepted)",
      esiti: 'A sheet with the esiti per flusso: columns id_flusso, codice_esito, id_acquisizione_siuss, descrizione_esito',
      transport: 'The channel they were sent through (default file: the INPS portal)',
      'dry-run': 'Show what would be imported without touching the store',
    },
  }

  static override args = {file: Args.string({description: 'Flussi XML, .p7m o .zip (anche più di uno)', required: true})}
  static override flags = {
    esito: Flags.option({options: ESITI, description: 'Esito di INPS per i flussi importati (predefinito OK: accettati)'})(),
    esiti: Flags.string({description: 'Foglio con gli esiti per flusso: colonne id_flusso, codice_esito, id_acquisizione_siuss, descrizione_esito', helpValue: 'FILE'}),
    transport: Flags.option({options: ['file', 'waas', 'push'] as const, description: 'Canale con cui erano stati inviati (predefinito file: il portale INPS)'})(),
    endpoint: endpointFlag,
    'dry-run': Flags.boolean({description: 'Mostra cosa verrebbe importato senza toccare lo store', default: false}),
    store: storeFlag,
    profile: profileFlag,
  }

  async run(): Promise<void> {
    const {argv, flags} = await this.parse(Import)
    this.setup(flags)
    const settings = this.settings(flags)
    const transport: Transport = flags.endpoint ? 'push' : (flags.transport ?? 'file')
    if (transport === 'push' && !flags.endpoint) {
      throw new UsageError('ENDPOINT_REQUIRED', {
        it: 'Con --transport push serve --endpoint: le prestazioni sono di quella destinazione.',
        en: 'With --transport push, --endpoint is needed: the prestazioni belong to that destination.',
      }, {suggestions: ['casellario import FLUSSI… --endpoint URL']})
    }
    const esiti = flags.esiti ? await readEsitiFile(flags.esiti) : undefined
    const store = this.openStore(settings, {readonly: flags['dry-run'], create: true})
    try {
      const result = await importFlussi(argv as string[], {
        store,
        transport,
        endpoint: flags.endpoint ? endpointName(flags.endpoint) : undefined,
        esito: flags.esito,
        esiti,
        dryRun: flags['dry-run'],
      })
      if (this.jsonOutput) this.out(JSON.stringify({...result, dry_run: flags['dry-run']}))
      else {
        const dry = flags['dry-run']
        for (const f of result.flussi) {
          const what =
            f.status === 'imported'
              ? say({it: `${dry ? 'da importare' : 'importato'} (${f.state}, ${f.prestazioni} prestazioni)`, en: `${dry ? 'to import' : 'imported'} (${f.state}, ${f.prestazioni} prestazioni)`})
              : f.status === 'unchanged'
                ? say({it: 'già nello store: invariato', en: 'already in the store: unchanged'})
                : `${say({it: 'RIFIUTATO', en: 'REFUSED'})} ${f.code} — ${f.reason}`
          this.out(`${f.id_flusso ?? f.file}: ${what}`)
        }
        this.out(`\n${say({
          it: `${count(result.imported, NOUNS.flusso)} ${dry ? 'da importare' : result.imported === 1 ? 'importato' : 'importati'} (${count(result.prestazioni, NOUNS.prestazione)}), ${result.unchanged} già presenti, ${result.refused} rifiutati.`,
          en: `${count(result.imported, NOUNS.flusso)} ${dry ? 'to import' : 'imported'} (${count(result.prestazioni, NOUNS.prestazione)}), ${result.unchanged} already present, ${result.refused} refused.`,
        })}`)
      }
      if (result.refused > 0) this.setExitCode(ExitCode.data)
    } finally {
      store.close()
    }
  }
}
