import {BaseCommand} from '../src/cli/base-command.js'
import {endpointFlag, enteFilterFlag, profileFlag, storeFlag} from '../src/cli/flags.js'
import {ExitCode} from '../src/errors/index.js'
import {syncEsiti} from '../src/transport/deliver.js'

export default class Sync extends BaseCommand {
  static override summary = 'Legge gli esiti dall’endpoint e aggiorna lo stato dei flussi'
  static override description =
    'Per ogni endpoint con flussi in attesa (o per quello indicato) legge gli esiti dopo l’ultimo già letto e li applica ai flussi: OK → accettato, RICHIESTA_INVALIDA / DATI_NON_TROVATI / ERRORE_GENERICO → respinto. Si può rilanciare quando si vuole: un esito già applicato non cambia nulla. Esce con 4 se questa lettura ha portato flussi respinti.'
  static override examples = ['<%= config.bin %> sync', '<%= config.bin %> sync --endpoint sandbox --json', '<%= config.bin %> sync --ente H501 --profile H501', '*/15 * * * * <%= config.bin %> sync --json >> esiti.log']
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
      else if (results.length === 0) this.out('Nessun flusso in attesa di esito.')
      else for (const r of results) this.out(`${r.endpoint}: ${r.read} esiti letti, ${r.applied} per flussi di questo store (${r.accepted.length} accettati, ${r.rejected.length} respinti).`)
      if (rejected > 0) this.setExitCode(ExitCode.rejected)
    } finally {
      store.close()
    }
  }
}
