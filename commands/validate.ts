import {Args, Flags} from '@oclif/core'

import {count, NOUNS, say} from '../src/i18n/messages.js'
import {BaseCommand} from '../src/cli/base-command.js'
import {maxFindingsFlag, outputFileFlag, spreadsheetFlags} from '../src/cli/flags.js'
import {ExitCode} from '../src/errors/index.js'
import {flowById} from '../src/flows/index.js'
import {loadTemplate} from '../src/mapping/index.js'
import {FindingsOutput, SplitNotices} from '../src/report/findings.js'
import {userNomenclatorePath} from '../src/tables/user-nomenclatore.js'
import {validateFile} from '../src/pipeline/read.js'

export default class Validate extends BaseCommand {
  static override summary = 'Controlla un foglio di calcolo riga per riga, senza inviare nulla'
  static override description =
    'Applica le regole dello schema INPS e le regole semantiche della specifica a ogni riga. Ogni problema è riportato con riga, colonna, codice stabile e messaggio. Esce con 2 se ci sono errori.'
  static override examples = [
    '<%= config.bin %> validate prestazioni.xlsx',
    '<%= config.bin %> validate export.csv --template comune-excel-it --report errori.csv',
    '<%= config.bin %> validate prestazioni.csv --json | jq .errors',
    'cat prestazioni.csv | <%= config.bin %> validate -',
  ]
  static override english = {
    summary: 'Check a spreadsheet row by row, without sending anything',
    description:
      "Applies the INPS schema's rules and the specification's semantic rules to every row. Each problem is reported with its row, column, stable code and message. Exits with 2 if there are errors.",
    args: {file: 'CSV, XLSX or ODS; - for standard input'},
    flags: {report: 'Write the problems to a CSV to open with Excel'},
  }

  static override args = {file: Args.string({description: 'CSV, XLSX o ODS; - per lo standard input', required: true})}
  static override flags = {
    ...spreadsheetFlags,
    report: outputFileFlag({description: 'Scrive i problemi in un CSV da aprire con Excel', helpValue: 'FILE.csv'}),
    'max-findings': maxFindingsFlag,
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Validate)
    this.setup(flags)
    const flow = flowById(flags.flow)
    const template = flags.template ? loadTemplate(flags.template) : undefined
    const reading = this.readingProgress()
    const findings = new FindingsOutput({max: flags['max-findings'], json: this.jsonOutput, report: flags.report, line: reading.line})
    const {json} = findings
    const splits = new SplitNotices(json ? undefined : reading.line)
    try {
      const summary = await validateFile(args.file, {flow, template, sheet: flags.sheet, onFinding: findings.add, onSplit: splits.add, onProgress: reading.onProgress, nomenclatore: userNomenclatorePath(this.config.dataDir), resolveHeader: this.headerResolver()})
      reading.done()
      const {rows, records, valid, errors, warnings, splitRows, prestazioni} = summary
      if (json) json.end({rows, records, valid, errors, warnings, prestazioni, splits: splits.listed, split_rows: splitRows, ...findings.counts(), flow: flow.id, format: summary.format, encoding: summary.encoding, delimiter: summary.delimiter})
      else {
        const divided = splitRows > 0 ? say({it: ` ${count(splitRows, NOUNS.row)} divise per anno: ${prestazioni} prestazioni da inviare.`, en: ` ${count(splitRows, NOUNS.row)} split by year: ${prestazioni} prestazioni to send.`}) : ''
        const detail = flags.report ? say({it: ` Dettaglio in ${flags.report}.`, en: ` Details in ${flags.report}.`}) : ''
        // "errori" alone reads as records: say how many records stop, and how many errors they carry
        const stopped = valid < records ? `${count(records - valid, NOUNS.invalidRecord)} (${count(errors, NOUNS.error)})` : count(errors, NOUNS.error)
        this.out(`\n${count(rows, NOUNS.row)}, ${count(records, NOUNS.record)}: ${count(valid, NOUNS.valid)}, ${stopped}, ${count(warnings, NOUNS.warning)}.${divided}${findings.omitted()}${detail}`)
      }
      if (errors > 0) this.setExitCode(ExitCode.data)
    } catch (error) {
      if (!json?.fail(error)) throw error
    } finally {
      reading.done()
      findings.close()
    }
  }
}
