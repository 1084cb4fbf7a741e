import {BaseCommand} from '../src/cli/base-command.js'
import {endpointFlag, enteFilterFlag, profileFlag, storeFlag} from '../src/cli/flags.js'
import {ExitCode} from '../src/errors/index.js'
import {count, NOUNS, say} from '../src/i18n/messages.js'
import {syncEsiti} from '../src/transport/deliver.js'

export default class Sync extends BaseCommand {
  static override summary = 'Legge gli esiti dall’endpoint e aggiorna lo stato dei flussi'
  static override description =
    'Per ogni endpoint con flussi in attesa (o per quello indicato) legge gli esiti dopo l’ultimo già letto e li applica ai flussi: OK → accettato, RICHIESTA_INVALIDA / DATI_NON_TROVATI / ERRORE_GENERICO → respinto. Si può rilanciare quando si vuole: un esito già applicato non cambia nulla. Esce con 4 se questa lettura ha portato flussi respinti.'
  static override examples = ['<%= config.bin %> sync', '<%= config.bin %> sync --endpoint sandbox --json', '<%= config.bin %> sync --ente H501 --profile H501', '*/15 * * * * <%= config.bin %> sync --json >> esiti.log']
  static override english = {
    summary: 'Read the esiti from the endpoint and update the state of the flussi',
    description:
      'For each endpoint with flussi awaiting an esito (or the given one) it reads the esiti after the last one already read and applies them: OK → accepted, RICHIESTA_INVALIDA / DATI_NON_TROVATI / ERRORE_GENERICO → rejected. Run it again whenever you like: an esito already applied changes nothing. Exits with 4 if this reading brought rejected flussi.',
    flags: {ente: "Only this ente's flussi (ente code): other enti's esiti are not applied; one esiti cursor per ente"},
  }

  static override flags = {
    endpoint: endpointFlag,
    ente: enteFilterFlag({description: "Solo i flussi di questo ente (codice ente): gli esiti di altri enti non sono applicati; un cursore degli esiti per ente"}),
    store: storeFlag,
    profile: profileFlag,
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(Sync)
    this.setup(flags)
    const settings = this.settings(flags)
    const store = this.openStore(settings)
    const ente = flags.ente && store.enteNamed(flags.ente)
    try {
      const endpoints = flags.endpoint ? [flags.endpoint] : store.endpointsAwaitingEsito(ente)
      const results = []
      for (const endpoint of endpoints) {
        const connection = await this.pushConnector(settings, {profile: flags.profile, endpoint, resume: 'casellario sync'})()
        try {
          results.push({endpoint: connection.endpoint, ...(await syncEsiti(store, connection.client, connection.endpoint, ente))})
        } finally {
          await connection.close()
        }
      }
      const rejected = results.reduce((n, r) => n + r.rejected.length, 0)
      if (this.jsonOutput) this.out(JSON.stringify({...(ente ? {ente} : {}), endpoints: results}))
      else if (results.length === 0) this.out(say({it: 'Nessun flusso in attesa di esito.', en: 'No flusso is awaiting an esito.'}))
      else {
        for (const r of results) {
          this.out(say({
            it: `${r.endpoint}: ${count(r.read, NOUNS.esitoRead)}, ${r.applied} per flussi di questo store (${count(r.accepted.length, NOUNS.accepted)}, ${count(r.rejected.length, NOUNS.rejected)}).`,
            en: `${r.endpoint}: ${count(r.read, NOUNS.esitoRead)}, ${r.applied} for flussi of this store (${r.accepted.length} accepted, ${r.rejected.length} rejected).`,
          }))
        }
      }
      if (rejected > 0) this.setExitCode(ExitCode.rejected)
    } finally {
      store.close()
    }
  }
}
