import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../src/cli/base-command.js'
import {enteFilterFlag, outputFileFlag, profileFlag, sheetFlag, storeFlag} from '../src/cli/flags.js'
import {UsageError} from '../src/errors/index.js'
import {count, NOUNS, say} from '../src/i18n/messages.js'
import {writeRejectedRows} from '../src/report/rejected.js'

export default class Report extends BaseCommand {
  static override summary = 'Le righe respinte di un invio, come foglio di calcolo da correggere'
  static override description =
    'Rilegge il file inviato e scrive le righe dei flussi respinti (o in conflitto) con le colonne originali, più esito, motivo di INPS, id_flusso e riga originale. Il CSV usa ; e UTF-8 con BOM, come lo apre Excel in italiano; il file è creato con permessi 0600.'
  static override examples = [
    '<%= config.bin %> report 20261126-101500-a1b2 --rejected da-correggere.csv',
    '<%= config.bin %> report 20261126-101500-a1b2 --rejected da-correggere.csv --source copia-inviata.xlsx',
  ]
  static override english = {
    summary: "A submission's rejected rows, as a spreadsheet to correct",
    description:
      "Reads the submitted file again and writes the rows of rejected (or conflicting) flussi with their original columns, plus esito, INPS's reason, id_flusso and original row. The CSV uses ; and UTF-8 with BOM, as Excel opens it in Italian; the file is created with mode 0600.",
    args: {submission: 'The submission identifier (casellario status lists them)'},
    flags: {rejected: 'CSV to write the rejected rows into', source: 'The submitted file, if it is no longer where it was', ente: "Only a submission of this ente (ente code): another ente's submission is not found"},
  }

  static override args = {submission: Args.string({description: 'Identificativo dell’invio (casellario status li elenca)', required: true})}
  static override flags = {
    rejected: outputFileFlag({description: 'CSV in cui scrivere le righe respinte', helpValue: 'FILE.csv', required: true}),
    source: Flags.string({description: 'Il file inviato, se non è più dove era'}),
    sheet: sheetFlag,
    ente: enteFilterFlag({description: "Solo un invio di questo ente (codice ente): un invio di un altro ente non è trovato"}),
    store: storeFlag,
    profile: profileFlag,
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Report)
    this.setup(flags)
    const store = this.openStore(this.settings(flags))
    try {
      const submission = store.submission(args.submission)
      if (!submission || (flags.ente && submission.ente !== store.enteNamed(flags.ente))) {
        throw new UsageError('NOT_FOUND', {it: `Nessun invio ${args.submission} in questo store.`, en: `No submission ${args.submission} in this store.`}, {
          suggestions: [{it: 'casellario status   (elenca gli invii)', en: 'casellario status   (lists the submissions)'}],
        })
      }
      const {rows} = await writeRejectedRows(store, submission, flags.rejected, {source: flags.source, sheet: flags.sheet})
      if (this.jsonOutput) this.out(JSON.stringify({submission: submission.id, ente: submission.ente, file: flags.rejected, rows}))
      else this.out(say({it: `${count(rows, NOUNS.rejectedRow)} ${rows === 1 ? 'scritta' : 'scritte'} in ${flags.rejected}.`, en: `${count(rows, NOUNS.rejectedRow)} written to ${flags.rejected}.`}))
    } finally {
      store.close()
    }
  }
}
