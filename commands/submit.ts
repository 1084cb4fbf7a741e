import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../src/cli/base-command.js'
import {endpointFlag, enteFlags, maxFindingsFlag, maxSizeFlag, outputFolderFlag, profileFlag, spreadsheetFlags, storeFlag, waitFlag} from '../src/cli/flags.js'
import {ExitCode, UsageError} from '../src/errors/index.js'
import {say} from '../src/i18n/messages.js'
import {checkEnte} from '../src/validate/ente.js'
import {flowById} from '../src/flows/index.js'
import {loadTemplate} from '../src/mapping/index.js'
import {FindingsOutput, SplitNotices} from '../src/report/findings.js'
import {describePlan, describeSubmission, submissionDocument} from '../src/report/submission.js'
import {openSigner} from '../src/sign/index.js'
import {submitFile, type Transport} from '../src/submit/index.js'
import type {PlanRow} from '../src/submit/plan.js'
import {userNomenclatorePath} from '../src/tables/user-nomenclatore.js'

/** a dry run lists at most this many rows' decisions (the counts cover them all) */
const PLAN_ROWS_MAX = 100_000

export default class Submit extends BaseCommand {
  static override summary = 'Valida, genera, firma e invia un foglio di calcolo; registra ogni passo nello store'
  static override description = `Con il trasporto push (predefinito) ogni prestazione valida diventa un flusso in cooperazione, registrato nello store prima dell'invio e spedito a lotti di 100 con voucher PDND e firma ModI. Un invio interrotto (rete, endpoint, kill) si riprende rilanciando lo stesso comando: nessun flusso è inviato due volte né perso. Lo stesso file inviato di nuovo non genera nulla di nuovo.
Con --transport file i flussi sono generati in upload, compressi e firmati nella cartella --out per il portale INPS; con waas restano in coda per "casellario serve".
Esce con 2 se ci sono righe con errori, 3 se l'endpoint non risponde (rilancia per riprendere), 4 se l'endpoint respinge qualche flusso.`
  static override examples = [
    '<%= config.bin %> submit prestazioni.csv --endpoint sandbox --wait 30s',
    '<%= config.bin %> submit prestazioni.csv',
    '<%= config.bin %> submit export.xlsx --template comune-excel-it --wait 10m --json',
    '<%= config.bin %> submit prestazioni.csv --transport file --out da-caricare/',
    '<%= config.bin %> submit export-dicembre.csv --dry-run --json | jq .plan',
    '<%= config.bin %> submit export-annuale.csv --cancel-missing',
  ]
  static override english = {
    summary: 'Validate, build, sign and send a spreadsheet; every step recorded in the store',
    description: `With the push transport (default) each valid prestazione becomes a cooperazione flusso, recorded in the store before it is sent and delivered in batches of 100 with a PDND voucher and a ModI signature. An interrupted submission (network, endpoint, kill) resumes by running the same command again: no flusso is sent twice or lost. The same file sent again produces nothing new.
With --transport file the flussi are built as upload files, zipped and signed in the --out folder for the INPS portal; with waas they stay queued for "casellario serve".
Exits with 2 if some rows have errors, 3 if the endpoint does not answer (run again to resume), 4 if the endpoint rejects some flussi.`,
    args: {file: 'CSV, XLSX or ODS'},
    flags: {
      transport: 'push (default), waas or file (also CASELLARIO_TRANSPORT)',
      'dry-run': 'Show what would be sent (insertions, cancellations, unchanged rows) without touching endpoint or store',
      'cancel-missing': 'Also cancel the accepted prestazioni missing from this export (same ente, record layout and years)',
      out: 'Folder for the files to upload on the portal (file transport)',
    },
  }

  static override args = {file: Args.string({description: 'CSV, XLSX o ODS', required: true})}
  static override flags = {
    transport: Flags.option({options: ['push', 'waas', 'file'] as const, description: 'push (predefinito), waas o file (anche CASELLARIO_TRANSPORT)'})(),
    endpoint: endpointFlag,
    wait: waitFlag,
    'dry-run': Flags.boolean({description: 'Mostra cosa verrebbe inviato (inserimenti, cancellazioni, righe invariate) senza toccare endpoint e store', default: false}),
    'cancel-missing': Flags.boolean({description: 'Cancella anche le prestazioni accettate che mancano da questo export (stesso ente, tracciato e anni)', default: false}),
    out: outputFolderFlag({char: 'o', description: 'Cartella dei file da caricare sul portale (trasporto file)'}),
    'max-size': maxSizeFlag,
    'max-findings': maxFindingsFlag,
    ...spreadsheetFlags,
    store: storeFlag,
    profile: profileFlag,
    ...enteFlags,
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Submit)
    this.setup(flags)
    const settings = this.settings(flags)
    const ente = checkEnte(settings.ente)
    const transport = (flags.transport ?? settings.get('transport') ?? 'push') as Transport
    if (transport === 'file' && !flags.out) {
      throw new UsageError('OUT_REQUIRED', {it: 'Con --transport file serve la cartella di uscita.', en: 'With --transport file, the output folder is needed.'}, {
        suggestions: [`casellario submit ${args.file} --transport file --out da-caricare/`],
      })
    }
    const resume = `casellario submit ${args.file}${flags.endpoint ? ` --endpoint ${flags.endpoint}` : ''}   ${say({it: '(riprende senza duplicati)', en: '(resumes without duplicates)'})}`
    const store = this.openStore(settings, {readonly: flags['dry-run'], create: true})
    const planRows: PlanRow[] = []
    const progress = this.readingProgress()
    const {line} = progress
    const findings = new FindingsOutput({max: flags['max-findings'], json: this.jsonOutput, line})
    const {json} = findings
    const splits = new SplitNotices(json ? undefined : line)
    try {
      const result = await submitFile(args.file, {
        flow: flowById(flags.flow),
        template: flags.template ? loadTemplate(flags.template) : undefined,
        sheet: flags.sheet,
        ente,
        store,
        transport,
        connect: this.pushConnector(settings, {profile: flags.profile, endpoint: flags.endpoint, resume}),
        endpoint: flags.endpoint ?? settings.get('endpoint.url'),
        dryRun: flags['dry-run'],
        cancelMissing: flags['cancel-missing'],
        onPlanRow: flags['dry-run'] ? (row) => planRows.length < PLAN_ROWS_MAX && planRows.push(row) : undefined,
        signer: () => openSigner({certificate: settings.get('sign.certificate'), profile: flags.profile, configDir: this.config.configDir}),
        outDir: flags.out,
        dataDir: this.config.dataDir,
        maxBytes: flags['max-size'] * 1024,
        waitMs: flags.wait ?? 0,
        nomenclatore: userNomenclatorePath(this.config.dataDir),
        resolveHeader: this.headerResolver(),
        onFinding: findings.add,
        onSplit: splits.add,
        onReadProgress: progress.onProgress,
        onProgress: (text) => progress.update(text),
        resume,
      })
      progress.done()
      if (flags['dry-run']) {
        if (json) json.end({plan: result.plan, rows: planRows, rows_listed_max: PLAN_ROWS_MAX, valid: result.summary?.valid, errors: result.summary?.errors, splits: splits.listed, ...findings.counts()})
        else this.out(describePlan(result.plan, planRows))
        if ((result.summary?.errors ?? 0) > 0 || result.plan.refused > 0) this.setExitCode(ExitCode.data)
        return
      }
      const doc = submissionDocument(store, result)
      if (json) json.end({...doc, splits: splits.listed, ...findings.counts()})
      else this.out(`${describeSubmission(doc)}${findings.omitted()}`)
      if (doc.rejected.length + doc.conflicts.length + doc.refused_not_listed + doc.resumed_refused > 0) this.setExitCode(ExitCode.rejected)
      else if (doc.errors > 0 || result.plan.refused > 0) this.setExitCode(ExitCode.data)
    } catch (error) {
      progress.done()
      if (!json?.fail(error)) throw error
    } finally {
      store.close()
    }
  }
}
