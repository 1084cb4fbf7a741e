import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../src/cli/base-command.js'
import {enteFilterFlag, profileFlag, storeFlag} from '../src/cli/flags.js'
import {ExitCode, UsageError} from '../src/errors/index.js'
import {say} from '../src/i18n/messages.js'
import {describeFlusso, flussoDocument, recordManualEsito} from '../src/report/flusso.js'
import {describeSubmission, storedSubmissionDocument, submissionsTable} from '../src/report/submission.js'
import {FLUSSO_STATES, type FlussoState} from '../src/store/sqlite.js'

export default class Status extends BaseCommand {
  static override summary = 'Lo stato degli invii e dei flussi, come lo registra lo store locale'
  static override description = `Senza argomenti: una riga per invio (flussi accettati, respinti, in attesa, da inviare). Con l'identificativo di un invio: i suoi flussi respinti con il motivo e le righe del foglio. Con un id_flusso: il flusso, le sue righe, il suo esito e la sua storia.
Per il trasporto file, --set-esito registra l'esito letto sul portale INPS.
Esce con 4 se l'invio o il flusso indicato ha flussi respinti.`
  static override examples = [
    '<%= config.bin %> status',
    '<%= config.bin %> status --state rejected --since 2026-11-01',
    '<%= config.bin %> status --ente H501 --json',
    '<%= config.bin %> status 20261126-101500-a1b2',
    '<%= config.bin %> status H501.PS.20261126.0000003 --json',
    '<%= config.bin %> status H501.PS.20261126.0000003 --set-esito RICHIESTA_INVALIDA --reason "CF non presente in anagrafe"',
  ]
  static override english = {
    summary: 'The state of submissions and flussi, as the local store records it',
    description: `Without arguments: one line per submission (flussi accepted, rejected, awaiting an esito, still to send). With a submission identifier: its rejected flussi with the reason and the spreadsheet rows. With an id_flusso: the flusso, its rows, its esito and its history.
For the file transport, --set-esito records the esito read on the INPS portal.
Exits with 4 if the given submission or flusso has rejected flussi.`,
    args: {id: 'A submission identifier or an id_flusso'},
    flags: {
      state: 'Only the submissions with flussi in this state',
      since: 'Only the submissions created from this date (YYYY-MM-DD)',
      'set-esito': "Record the portal's esito for a flusso of the file transport",
      reason: 'Reason for the esito (with --set-esito)',
    },
  }

  static override args = {id: Args.string({description: 'Identificativo di un invio o id_flusso'})}
  static override flags = {
    state: Flags.option({options: FLUSSO_STATES, description: 'Solo gli invii con flussi in questo stato'})(),
    since: Flags.string({description: 'Solo gli invii creati da questa data (AAAA-MM-GG)', helpValue: 'DATA'}),
    ente: enteFilterFlag(),
    'set-esito': Flags.option({options: ['OK', 'RICHIESTA_INVALIDA', 'DATI_NON_TROVATI', 'ERRORE_GENERICO'] as const, description: 'Registra l’esito del portale per un flusso del trasporto file'})(),
    reason: Flags.string({description: 'Motivo dell’esito (con --set-esito)', dependsOn: ['set-esito']}),
    store: storeFlag,
    profile: profileFlag,
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Status)
    this.setup(flags)
    const store = this.openStore(this.settings(flags))
    const ente = flags.ente && store.enteNamed(flags.ente)
    try {
      if (flags['set-esito']) {
        if (!args.id) throw new UsageError('ID_REQUIRED', {it: 'Con --set-esito indica il flusso.', en: 'With --set-esito, name the flusso.'}, {suggestions: ['casellario status H501.PS.20261126.0000001 --set-esito OK']})
        recordManualEsito(store, args.id, flags['set-esito'], flags.reason)
      }
      // with --ente, another ente's flusso or submission is not there for this reading
      if (args.id && ente && store.enteOf(args.id) !== undefined && store.enteOf(args.id) !== ente) {
        throw new UsageError('NOT_FOUND', {it: `Nessun invio né flusso con identificativo ${args.id} per l'ente ${ente}.`, en: `No submission or flusso with id ${args.id} for the ente ${ente}.`}, {
          suggestions: [{it: `casellario status --ente ${ente}   (elenca gli invii dell'ente)`, en: `casellario status --ente ${ente}   (lists the ente's submissions)`}],
        })
      }
      if (args.id && store.flusso(args.id)) {
        const doc = flussoDocument(store, args.id)
        this.out(this.jsonOutput ? JSON.stringify(doc) : describeFlusso(doc))
        if (doc.state === 'rejected' || doc.state === 'conflict') this.setExitCode(ExitCode.rejected)
        return
      }
      if (args.id) {
        const submission = store.submission(args.id)
        if (!submission) {
          throw new UsageError('NOT_FOUND', {it: `Nessun invio né flusso con identificativo ${args.id} in questo store.`, en: `No submission or flusso with id ${args.id} in this store.`}, {
            suggestions: [{it: 'casellario status   (elenca gli invii)', en: 'casellario status   (lists the submissions)'}],
          })
        }
        const doc = storedSubmissionDocument(store, submission)
        this.out(this.jsonOutput ? JSON.stringify(doc) : describeSubmission(doc))
        if (doc.rejected.length + doc.conflicts.length + doc.refused_not_listed > 0) this.setExitCode(ExitCode.rejected)
        return
      }
      if (flags.since && Number.isNaN(Date.parse(flags.since))) throw new UsageError('DATE_INVALID', {it: `Data non valida: ${flags.since} (usa AAAA-MM-GG).`, en: `Invalid date: ${flags.since} (use YYYY-MM-DD).`})
      const submissions = store.submissions({since: flags.since ? new Date(flags.since).toISOString() : undefined, state: flags.state as FlussoState | undefined, ente})
      if (this.jsonOutput) this.out(JSON.stringify({...(ente ? {ente} : {}), submissions: submissions.map((s) => storedSubmissionDocument(store, s))}))
      else if (submissions.length === 0) this.out(say(ente ? {it: `Nessun invio registrato per l'ente ${ente}.`, en: `No submission recorded for the ente ${ente}.`} : {it: 'Nessun invio registrato.', en: 'No submission recorded.'}))
      // the ente column when the store holds more than one ente (and the reading is not for one of them)
      else this.out(submissionsTable(submissions, {ente: !ente && store.enti().length > 1}))
    } finally {
      store.close()
    }
  }
}
