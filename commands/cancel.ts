import {Flags} from '@oclif/core'

import {BaseCommand} from '../src/cli/base-command.js'
import {endpointFlag, enteFilterFlag, enteFlags, flowFlag, profileFlag, storeFlag, waitFlag} from '../src/cli/flags.js'
import {progressLine} from '../src/cli/terminal.js'
import {ExitCode, UsageError} from '../src/errors/index.js'
import {say} from '../src/i18n/messages.js'
import {checkEnte} from '../src/validate/ente.js'
import type {Settings} from '../src/config/index.js'
import type {Store} from '../src/store/sqlite.js'
import type {EnteIdentity} from '../src/flows/ente.js'
import {flowById} from '../src/flows/index.js'
import {describeSubmission, storedSubmissionDocument} from '../src/report/submission.js'
import {cancelPrestazioni, criteriaFromFile, describe, type Criteria} from '../src/submit/cancel.js'
import type {Transport} from '../src/submit/index.js'
import {endpointName} from '../src/transport/http.js'

export default class Cancel extends BaseCommand {
  static override summary = 'Cancella (TipoOperazione=C) prestazioni che INPS ha accettato'
  static override description = `Trova le prestazioni accettate che corrispondono ai criteri e invia per ciascuna una cancellazione con esattamente i dati accettati da INPS. Una prestazione mai accettata non si può cancellare; una il cui esito non è ancora arrivato si cancella dopo (casellario sync).
Con --from-file, un foglio con una riga per prestazione e le colonne CodiceFiscale, CodicePrestazione, ProtocolloDomanda, DataInizioPrestazione, DataErogazionePrestazione (quelle che servono).`
  // oclif would draw --from-file's exclusions as "one of these four": the criteria combine, the file replaces them
  static override usage = [
    'cancel --protocollo-domanda VALORE [--codice-prestazione CODICE] [--codice-fiscale CF] [--data-inizio AAAA-MM-GG | --data-erogazione AAAA-MM-GG] [--dry-run] [--transport push|waas] [--wait DURATA] [--json]',
    'cancel --from-file FILE [--dry-run] [--transport push|waas] [--wait DURATA] [--json]',
  ]
  static override examples = [
    '<%= config.bin %> cancel --protocollo-domanda 12356Mari --codice-prestazione A1.16',
    '<%= config.bin %> cancel --from-file da-cancellare.csv --wait 5m',
    '<%= config.bin %> cancel --protocollo-domanda PD/2026/7 --dry-run --json',
    '<%= config.bin %> cancel --ente F205 --protocollo-domanda PD/2026/7   (uno store con più enti: le prestazioni di F205)',
  ]
  static override english = {
    summary: 'Cancel (TipoOperazione=C) prestazioni that INPS has accepted',
    description: `Finds the accepted prestazioni that match the criteria and sends, for each, a cancellation carrying exactly the data INPS accepted. A prestazione never accepted cannot be cancelled; one whose esito has not arrived yet is cancelled afterwards (casellario sync).
With --from-file, a sheet with one prestazione per row and the columns CodiceFiscale, CodicePrestazione, ProtocolloDomanda, DataInizioPrestazione, DataErogazionePrestazione (those needed).`,
    flags: {
      'protocollo-domanda': "The prestazione's ProtocolloDomanda",
      'codice-prestazione': 'CodicePrestazione (e.g. A1.16)',
      'codice-fiscale': "The beneficiary's CodiceFiscale",
      'data-inizio': 'DataInizioPrestazione (YYYY-MM-DD)',
      'data-erogazione': 'DataErogazionePrestazione (YYYY-MM-DD)',
      'from-file': 'A sheet with one prestazione to cancel per row',
      'dry-run': 'Show what would be cancelled, without sending or recording anything',
      transport: 'push (default) or waas (also CASELLARIO_TRANSPORT)',
      ente: "The prestazioni of this ente (ente code; by default the configured ente): never another ente's",
    },
  }

  static override flags = {
    'protocollo-domanda': Flags.string({description: 'ProtocolloDomanda della prestazione'}),
    'codice-prestazione': Flags.string({description: 'CodicePrestazione (es. A1.16)'}),
    'codice-fiscale': Flags.string({description: 'CodiceFiscale del beneficiario'}),
    'data-inizio': Flags.string({description: 'DataInizioPrestazione (AAAA-MM-GG)'}),
    'data-erogazione': Flags.string({description: 'DataErogazionePrestazione (AAAA-MM-GG)'}),
    'from-file': Flags.string({description: 'Foglio con una prestazione da cancellare per riga', exclusive: ['protocollo-domanda', 'codice-prestazione', 'codice-fiscale']}),
    'dry-run': Flags.boolean({description: 'Mostra cosa verrebbe cancellato, senza inviare né registrare', default: false}),
    transport: Flags.option({options: ['push', 'waas', 'file'] as const, description: 'push (predefinito) o waas (anche CASELLARIO_TRANSPORT)'})(),
    endpoint: endpointFlag,
    wait: waitFlag,
    flow: flowFlag,
    ente: enteFilterFlag({description: "Le prestazioni di questo ente (codice ente; predefinito l'ente configurato): mai quelle di un altro ente", exclusive: ['ente-codice']}),
    store: storeFlag,
    profile: profileFlag,
    ...enteFlags,
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(Cancel)
    this.setup(flags)
    const settings = this.settings(flags)
    const flow = flowById(flags.flow)
    const criteria: Criteria[] = flags['from-file'] ? await criteriaFromFile(flags['from-file'], flow) : [criteriaFromFlags(flags)]
    if (criteria.length === 0 || Object.keys(criteria[0]).length === 0) {
      throw new UsageError('CANCEL_CRITERIA_REQUIRED', {it: 'Indica quale prestazione cancellare.', en: 'Say which prestazione to cancel.'}, {
        suggestions: ['casellario cancel --protocollo-domanda … --codice-prestazione …', 'casellario cancel --from-file da-cancellare.csv'],
      })
    }
    const transport = (flags.transport ?? settings.get('transport') ?? 'push') as Transport
    const url = flags.endpoint ?? settings.get('endpoint.url')
    const endpoint = transport === 'push' && url ? endpointName(url) : undefined
    const store = this.openStore(settings, {readonly: flags['dry-run']})
    const progress = progressLine(!this.jsonOutput)
    try {
      const result = await cancelPrestazioni(criteria, {
        flow,
        ente: this.enteOf(flags.ente, settings, store),
        store,
        transport,
        endpoint,
        connect: this.pushConnector(settings, {profile: flags.profile, endpoint: flags.endpoint, resume: say({
            it: 'casellario submit … (riprende le cancellazioni non consegnate) o casellario sync',
            en: 'casellario submit … (resumes the undelivered cancellations) or casellario sync',
          }),
        }),
        waitMs: flags.wait ?? 0,
        dryRun: flags['dry-run'],
        onProgress: (text) => progress.update(text),
      })
      progress.done()
      const doc = result.submission ? storedSubmissionDocument(store, result.submission) : undefined
      const matched = result.matched.map((m) => ({criteria: describe(m.criteria), cancels: m.cancels, ...(m.alreadyCancelledBy ? {already_cancelled_by: m.alreadyCancelledBy} : {})}))
      if (this.jsonOutput) this.out(JSON.stringify({matched, ...(doc ? {submission: doc} : {})}))
      else {
        for (const m of matched) {
          if (m.already_cancelled_by) this.out(say({it: `${m.criteria} → già cancellata: INPS ha accettato la cancellazione (flusso ${m.already_cancelled_by.join(', ')})`, en: `${m.criteria} → already cancelled: INPS accepted the cancellation (flusso ${m.already_cancelled_by.join(', ')})`}))
          else this.out(`${m.criteria} → ${say({it: 'cancella', en: 'cancels'})} ${m.cancels.join(', ')}`)
        }
        if (doc) this.out(describeSubmission(doc))
        else if (flags['dry-run']) this.out(say({it: 'Prova a vuoto: nulla è stato inviato né registrato.', en: 'Dry run: nothing was sent or recorded.'}))
        else this.out(say({it: 'Nulla da inviare.', en: 'Nothing to send.'}))
      }
      if (doc && doc.rejected.length + doc.conflicts.length > 0) this.setExitCode(ExitCode.rejected)
    } finally {
      progress.done()
      store.close()
    }
  }

  /**
   * The ente whose prestazioni are cancelled: the configured one, or `--ente` (its Belfiore and
   * denominazione as its last submission in this store recorded them, the operator the configured one).
   */
  private enteOf(code: string | undefined, settings: Settings, store: Store): EnteIdentity {
    const configured = settings.ente
    if (!code || code.toUpperCase() === configured.codice?.trim().toUpperCase()) return checkEnte(configured)
    const known = store.enteIdentity(store.enteNamed(code))
    if (!known) {
      throw new UsageError('ENTE_NOT_IN_STORE', say({it: `Lo store non ha invii dell'ente ${code}: nulla da cancellare.`, en: `The store holds no submission of the ente ${code}: nothing to cancel.`}), {
        suggestions: ['casellario status   (gli invii, con la colonna ENTE quando lo store ne tiene più di uno)'],
      })
    }
    return checkEnte({...known, cfOperatore: configured.cfOperatore})
  }
}

function criteriaFromFlags(flags: Record<string, unknown>): Criteria {
  const byFlag: Record<string, string> = {
    'protocollo-domanda': 'ProtocolloDomanda',
    'codice-prestazione': 'CodicePrestazione',
    'codice-fiscale': 'CodiceFiscale',
    'data-inizio': 'DataInizioPrestazione',
    'data-erogazione': 'DataErogazionePrestazione',
  }
  const c: Criteria = {}
  for (const [flag, column] of Object.entries(byFlag)) if (typeof flags[flag] === 'string') c[column] = column === 'ProtocolloDomanda' ? (flags[flag] as string) : (flags[flag] as string).toUpperCase()
  return c
}
