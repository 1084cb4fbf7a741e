import {Args, Flags} from '@oclif/core'

import {count, NOUNS, say} from '../src/i18n/messages.js'
import {BaseCommand} from '../src/cli/base-command.js'
import {enteFlags, maxFindingsFlag, maxSizeFlag, outputFolderFlag, profileFlag, spreadsheetFlags, storeFlag} from '../src/cli/flags.js'
import {ExitCode} from '../src/errors/index.js'
import {checkEnte} from '../src/validate/ente.js'
import {flowById} from '../src/flows/index.js'
import {loadTemplate} from '../src/mapping/index.js'
import {FindingsOutput, SplitNotices} from '../src/report/findings.js'
import {userNomenclatorePath} from '../src/tables/user-nomenclatore.js'
import {buildFlussi} from '../src/pipeline/build.js'

export default class Build extends BaseCommand {
  static override summary = 'Trasforma un foglio di calcolo in flussi XML conformi allo schema INPS'
  static override description =
    'Valida ogni riga e scrive i flussi nella cartella indicata. Le righe con errori sono segnalate e restano fuori; le altre vanno nei flussi. Il nome di ogni flusso è {CodiceEnte}.PS.{AAAAMMGG}.{progressivo}, con un progressivo che lo store locale non riusa mai. Esce con 2 se ci sono righe con errori.'
  static override examples = [
    '<%= config.bin %> build prestazioni.csv --out flussi/',
    '<%= config.bin %> build export.xlsx --template comune-excel-it --out flussi/ --packaging cooperazione',
    'CASELLARIO_ENTE_CODICE=H501 CASELLARIO_ENTE_BELFIORE=H501 CASELLARIO_CF_OPERATORE=… <%= config.bin %> build prestazioni.csv --out flussi/ --json',
  ]
  static override english = {
    summary: "Turn a spreadsheet into XML flussi that conform to INPS's schema",
    description:
      'Validates every row and writes the flussi into the given folder. Rows with errors are reported and left out; the others go into the flussi. Each flusso is named {CodiceEnte}.PS.{YYYYMMDD}.{progressive}, with a progressive the local store never reuses. Exits with 2 if some rows have errors.',
    args: {file: 'CSV, XLSX or ODS; - for standard input'},
    flags: {out: 'Folder for the XML flussi', packaging: 'upload: several beneficiaries per file (INPS portal); cooperazione: one beneficiary and one prestazione per flusso (WaaS)'},
  }

  static override args = {file: Args.string({description: 'CSV, XLSX o ODS; - per lo standard input', required: true})}
  static override flags = {
    out: outputFolderFlag({char: 'o', description: 'Cartella dei flussi XML', required: true}),
    packaging: Flags.option({
      options: ['upload', 'cooperazione'] as const,
      default: 'upload' as const,
      description: 'upload: più beneficiari per file (portale INPS); cooperazione: un beneficiario e una prestazione per flusso (WaaS)',
    })(),
    'max-size': maxSizeFlag,
    'max-findings': maxFindingsFlag,
    ...spreadsheetFlags,
    store: storeFlag,
    profile: profileFlag,
    ...enteFlags,
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Build)
    this.setup(flags)
    const settings = this.settings(flags)
    const ente = checkEnte(settings.ente)
    const flow = flowById(flags.flow)
    const template = flags.template ? loadTemplate(flags.template) : undefined
    const store = this.openStore(settings, {create: true})
    const reading = this.readingProgress()
    const findings = new FindingsOutput({max: flags['max-findings'], json: this.jsonOutput, line: reading.line})
    const {json} = findings
    const splits = new SplitNotices(json ? undefined : reading.line)
    try {
      const {summary, flussi} = await buildFlussi(args.file, {
        flow,
        template,
        sheet: flags.sheet,
        outDir: flags.out,
        workDir: this.privateTemp(),
        packaging: flags.packaging,
        maxBytes: flags['max-size'] * 1024,
        ente,
        store,
        nomenclatore: userNomenclatorePath(this.config.dataDir),
        resolveHeader: this.headerResolver(),
        onFinding: findings.add,
        onSplit: splits.add,
        onProgress: reading.onProgress,
      })
      reading.done()
      const {rows, records, valid, errors, warnings, prestazioni} = summary
      if (json) json.end({flussi, rows, records, valid, errors, warnings, prestazioni, splits: splits.listed, split_rows: summary.splitRows, ...findings.counts()})
      else {
        for (const f of flussi) this.out(`${f.file}  ${count(f.beneficiari, NOUNS.beneficiario)}, ${count(f.prestazioni, NOUNS.prestazione)}`)
        const stopped = valid < records ? `${count(records - valid, NOUNS.invalidRecord)} (${count(errors, NOUNS.error)})` : count(errors, NOUNS.error)
        this.out(
          say({
            it: `\n${count(flussi.length, NOUNS.flusso)} da ${count(valid, NOUNS.validRecord)} su ${records}; ${stopped}, ${count(warnings, NOUNS.warning)}.${findings.omitted()}`,
            en: `\n${count(flussi.length, NOUNS.flusso)} from ${count(valid, NOUNS.validRecord)} of ${records}; ${stopped}, ${count(warnings, NOUNS.warning)}.${findings.omitted()}`,
          }),
        )
      }
      if (errors > 0) this.setExitCode(ExitCode.data)
    } catch (error) {
      if (!json?.fail(error)) throw error
    } finally {
      reading.done()
      store.close()
    }
  }
}
