import {randomBytes} from 'node:crypto'
import {mkdirSync, rmSync} from 'node:fs'
import {basename, join, resolve} from 'node:path'

import {engineNow, romeDay} from '../clock/index.js'
import {UsageError} from '../errors/index.js'
import type {FlowSpec} from '../flows/model.js'
import type {Template} from '../mapping/index.js'
import {onInterrupt} from '../runtime/interrupt.js'
import {commitMoves, removeLeftovers} from '../runtime/private-temp.js'
import type {FlussoState, Store, SubmissionInit} from '../store/sqlite.js'
import type {EnteIdentity} from '../flows/ente.js'
import {compileFlussoWriter} from '../xml/writer.js'
import {FlussoFile, nome, PROGRESSIVE_MAX, tooManyFlussi, type FileTarget, type FlussoResult} from './files.js'
import {ofOtherEnte, type PlannedLine, type Planner, type SpoolLine} from './lines.js'
import {UploadWindows, type UploadResult, type UploadTarget} from './package.js'
import {validateFile, type Finding, type ValidateOptions, type ValidationSummary} from './read.js'
import {queueFlussi, recordBuilt, recordSubmission, type OtherEnti} from './record.js'
import {Spool} from './spool.js'

export type {FlussoResult} from './files.js'
export {nome} from './files.js'
export type {PlannedLine, Planner, SpoolLine} from './lines.js'
export {queueFlussi} from './record.js'

/**
 * `build` and the building half of `submit` (DESIGN §3, §6): spreadsheet → rows → records →
 * valid records → flussi, in one streaming pass whatever the order of the rows.
 *
 * Upload files are packaged while the file is read (package.ts: the open file's beneficiaries
 * wait in memory, bounded by the size cap). What must be recorded in one transaction — a
 * submission's flussi, and cooperazione packaging's one flusso per prestazione, whose number is
 * known only at the end — goes through a sequential spool of rendered records (never re-ordered);
 * delta detection reads that spool twice (cancellations first).
 *
 * Spools and flussi being written live in the process's private folder inside the data folder
 * (`workDir`); the output folder receives the flussi only once the store has recorded them, so a
 * kill at any moment leaves no personal data there.
 */

export type Packaging = 'upload' | 'cooperazione'

export interface BuildOptions {
  flow: FlowSpec
  template?: Template
  sheet?: string
  outDir: string
  /** the process's private folder (runtime/private-temp.ts): spools and flussi being written */
  workDir: string
  packaging: Packaging
  /** upload packaging: cap on each file's size in bytes */
  maxBytes: number
  /** the ente of rows that do not name their own */
  ente: EnteIdentity
  store: Store
  now?: Date
  /** the user's nomenclatore extension, see ValidateOptions */
  nomenclatore?: string
  /** see ValidateOptions */
  resolveHeader?: ValidateOptions['resolveHeader']
  onFinding: (finding: Finding) => void
  /** see ValidateOptions */
  onSplit?: ValidateOptions['onSplit']
  /** see ValidateOptions */
  onProgress?: ValidateOptions['onProgress']
  /**
   * Build for a submission: the flussi are recorded with it, in one transaction, with the
   * spreadsheet rows of their records; cooperazione flussi are kept in the store, not as files.
   */
  into?: {
    submission: Omit<SubmissionInit, 'rows' | 'valid' | 'errors'>
    state: FlussoState
    /** compares each record with what INPS has: only changes become flussi (cancellations first) */
    planner?: Planner
    /** plan only: nothing is written, to the store or to files */
    dryRun?: boolean
    /**
     * The submission of another ente the rows name (Ente_* columns), when this destination takes
     * several enti in one run (WaaS: each ente's flussi are pulled on its own path with its own
     * voucher). Absent: such a file is refused, nothing recorded.
     */
    forEnte?: (ente: EnteIdentity) => Omit<SubmissionInit, 'rows' | 'valid' | 'errors'>
  }
}

export interface BuildResult {
  summary: ValidationSummary
  flussi: FlussoResult[]
  /** a submission's build: the ids of the other enti's submissions it recorded too */
  otherSubmissions?: string[]
}

/** A submission's flussi are recorded by the pass that writes them, in one transaction. */
interface PassResult extends BuildResult {
  recorded?: boolean
}

const NOME_MAX = 50

interface Context extends BuildOptions, FileTarget {
  sourceFile?: string
}

export async function buildFlussi(source: string, opts: BuildOptions): Promise<BuildResult> {
  const day = romeDay(opts.now ?? engineNow())
  const sample = nome(opts.ente.codice, opts.flow, day, 1)
  if (sample.length > NOME_MAX) {
    throw new UsageError('NOME_TOO_LONG', {
      it: `Il codice ente "${opts.ente.codice}" rende il nome del flusso più lungo di ${NOME_MAX} caratteri (${sample}).`,
      en: `The ente code "${opts.ente.codice}" makes the flusso name longer than ${NOME_MAX} characters (${sample}).`,
    })
  }
  mkdirSync(opts.outDir, {recursive: true, mode: 0o700})
  removeLeftovers(opts.outDir)
  const ctx: Context = {...opts, writer: compileFlussoWriter(opts.flow), day, sourceFile: source === '-' ? undefined : resolve(source)}
  const result: PassResult = opts.packaging === 'upload' && !opts.into ? await buildStreaming(source, ctx) : await buildSpooled(source, ctx)
  if (!opts.into) {
    recordBuilt(ctx.store, {flow: ctx.flow, packaging: ctx.packaging, sourceFile: ctx.sourceFile, flussi: result.flussi as UploadResult[]})
    publish(ctx, result.flussi)
    // what a build reports of each flusso (its ente is in its name)
    return {summary: result.summary, flussi: result.flussi.map(({id_flusso, file, beneficiari, prestazioni, sha256}) => ({id_flusso, file, beneficiari, prestazioni, sha256}))}
  } else if (opts.into.dryRun) return result
  else if (!result.recorded) {
    // nothing valid: the submission is recorded all the same, with its counts
    const {submission, state} = opts.into
    const {rows, valid, errors} = result.summary
    recordSubmission(ctx.store, {flow: ctx.flow, packaging: ctx.packaging, now: ctx.now, submission: {...submission, rows, valid, errors}, state, flussi: []})
  }
  publish(ctx, result.flussi)
  return {summary: result.summary, flussi: result.flussi, otherSubmissions: result.otherSubmissions}
}

/**
 * The flussi the store now knows go from the private folder to the output folder (a kill before
 * the commit leaves them to the sweep; after it, the sweep completes the moves).
 */
function publish(ctx: Context, flussi: FlussoResult[]): void {
  commitMoves(ctx.workDir, flussi.filter((f) => f.file).map((f) => ({from: join(ctx.workDir, basename(f.file)), to: f.file})))
}

/** How the spreadsheet is read. */
function readingOptions(ctx: Context): Pick<ValidateOptions, 'flow' | 'template' | 'sheet' | 'nomenclatore' | 'onFinding' | 'onSplit' | 'onProgress' | 'resolveHeader' | 'render' | 'ente'> {
  // the run's ente: a row naming its own ente (Ente_* columns) takes the operator from it
  return {flow: ctx.flow, template: ctx.template, sheet: ctx.sheet, nomenclatore: ctx.nomenclatore, onFinding: ctx.onFinding, onSplit: ctx.onSplit, onProgress: ctx.onProgress, resolveHeader: ctx.resolveHeader, render: 'grouped', ente: ctx.ente}
}

function uploadTarget(ctx: Context): UploadTarget {
  return {flow: ctx.flow, writer: ctx.writer, day: ctx.day, outDir: ctx.outDir, workDir: ctx.workDir, store: ctx.store, maxBytes: ctx.maxBytes, keepRows: ctx.into !== undefined}
}

/** `build` with upload packaging: read, validate, render and package in one pass. */
async function buildStreaming(source: string, ctx: Context): Promise<BuildResult> {
  const windows = new UploadWindows(uploadTarget(ctx), ctx.ente)
  // a build that fails or is interrupted half-way leaves no flussi the store does not know
  const release = onInterrupt(() => windows.discard())
  try {
    const summary = await validateFile(source, {
      ...readingOptions(ctx),
      onRecord: (r) => windows.of(r.ente).add(r.group, r.row, r.xml, r.headerStart, r.headerEnd, r.xml, r.recordStart, r.recordEnd, r.otherVariant),
    })
    return {summary, flussi: windows.finish()}
  } catch (error) {
    windows.discard()
    throw error
  } finally {
    release()
  }
}

/** Through the run's spool: a submission's flussi, cooperazione packaging, delta detection. */
async function buildSpooled(source: string, ctx: Context): Promise<PassResult> {
  const spool = new Spool(join(ctx.workDir, `build-${randomBytes(4).toString('hex')}.spool`))
  const written: string[] = []
  const cleanup = (): void => {
    spool.close()
    for (const path of [spool.path, ...written]) rmSync(path, {force: true})
  }
  const release = onInterrupt(cleanup)
  // the enti rows name other than the run's: a submission is one ente's (its delta identities, its
  // Belfiore towards INPS, its credentials), so submit does not send them under the run's ente
  const otherEnti = new Map<string, EnteRows>()
  try {
    const summary = await validateFile(source, {
      ...readingOptions(ctx),
      onRecord: (r) => {
        if (ctx.into && ofOtherEnte(r, ctx.ente.codice)) countRow(otherEnti, r.ente, r.row)
        spool.add(r.group, r.row, r.ente, r.xml, r.headerStart, r.headerEnd, r.recordStart, r.recordEnd)
      },
    })
    spool.close()
    if (otherEnti.size > 0 && !(ctx.into?.forEnte && ctx.packaging === 'cooperazione')) throw submitOneEnte(ctx.ente.codice, [...otherEnti.values()].map((e) => e.ente.codice))
    if (otherEnti.size > 0) {
      // a row writes its code in upper case; an ente the store knows keeps the store's spelling (its
      // delta identities, its progressives, its serve path). The spool's lines share these objects.
      const spelled = ctx.store.entiNamed([...otherEnti.values()].map((e) => e.ente.codice))
      for (const e of otherEnti.values()) for (const ente of e.identities) ente.codice = spelled.get(ente.codice) ?? ente.codice
    }
    if (summary.prestazioni === 0) return {summary, flussi: []}
    const planner = ctx.into?.planner
    const lines: Iterable<SpoolLine | PlannedLine> = planner ? planner.lines(() => spool.lines()) : spool.lines()
    if (ctx.into?.dryRun) {
      for (const _ of lines); // the planner reports each row as it decides
      return {summary, flussi: []}
    }
    if (ctx.packaging === 'cooperazione') {
      if (ctx.into) {
        const {submission, state} = ctx.into
        const {run, others} = submissionsByEnte(submission, summary, otherEnti, ctx.into.forEnte)
        const flussi = queueFlussi(ctx.store, {...ctx, submission: run, others, state, lines})
        return {summary, flussi, recorded: true, otherSubmissions: [...others.values()].map((o) => o.submission.id)}
      }
      return {summary, flussi: writeCooperazione(lines, summary.prestazioni, ctx, written)}
    }
    // a submission's upload files: the submission and each file recorded as it is completed, all
    // in one transaction (a kill before the commit leaves nothing recorded, after it everything)
    const {submission, state} = ctx.into!
    let tsFlusso = 0
    const windows = new UploadWindows(
      {
        ...uploadTarget(ctx),
        onFile: (f) => {
          ctx.store.insertFlusso({
            idFlusso: f.id_flusso, submissionId: submission.id, ente: f.ente, flow: ctx.flow.id, packaging: ctx.packaging, state, file: f.file,
            sha256: f.sha256, tsFlusso: tsFlusso++, beneficiari: f.beneficiari, prestazioni: f.prestazioni, sourceFile: submission.sourceFile,
            sourceSha256: submission.sourceSha256, rows: f.rows ?? [], operation: f.operation, details: f.details,
          })
        },
      },
      ctx.ente,
    )
    try {
      ctx.store.transaction(() => {
        ctx.store.insertSubmission({...submission, rows: summary.rows, valid: summary.valid, errors: summary.errors})
        tsFlusso = ctx.store.nextTsFlusso((ctx.now ?? engineNow()).getTime())
        let operation: 'I' | 'C' | undefined
        for (const line of lines) {
          const detail = 'detail' in line ? line.detail : undefined
          // cancellations and insertions never share a file: INPS reads the cancellations first
          if (detail && operation && detail.op !== operation) windows.breakFiles()
          operation = detail?.op
          windows.of(line.ente).add(line.group, line.row, line.header, 0, line.header.length, line.record, 0, line.record.length, true, detail)
        }
        windows.finish()
      })
      return {summary, flussi: windows.results, recorded: true}
    } catch (error) {
      windows.discard()
      throw error
    }
  } catch (error) {
    // a build that fails half-way leaves no flussi the store does not know
    cleanup()
    throw error
  } finally {
    release()
    spool.close()
    rmSync(spool.path, {force: true})
  }
}

/** The valid rows of one of the other enti a file names. */
interface EnteRows {
  ente: EnteIdentity
  rows: number
  lastRow: number
  /** every identity object its rows gave it (one per Belfiore and denominazione written with the code) */
  identities: Set<EnteIdentity>
}

/** Counts a valid row of another ente (a row split per year gives several records: counted once). */
function countRow(enti: Map<string, EnteRows>, ente: EnteIdentity, row: number): void {
  const key = ente.codice.toUpperCase()
  let e = enti.get(key)
  if (!e) enti.set(key, (e = {ente, rows: 0, lastRow: -1, identities: new Set()}))
  e.identities.add(ente)
  if (e.lastRow !== row) e.rows++
  e.lastRow = row
}

/**
 * One submission per ente: each other ente's holds its valid rows; the run's holds the rest of the
 * file — its own rows and every rejected one (a rejected row's ente is not known for certain) — so
 * the submissions' counts add up to the file's.
 */
function submissionsByEnte(
  submission: Omit<SubmissionInit, 'rows' | 'valid' | 'errors'>,
  summary: ValidationSummary,
  enti: Map<string, EnteRows>,
  forEnte: NonNullable<NonNullable<BuildOptions['into']>['forEnte']> | undefined,
): {run: SubmissionInit; others: OtherEnti} {
  const others: OtherEnti = new Map()
  let otherRows = 0
  for (const [key, e] of enti) {
    others.set(key, {ente: e.ente, submission: {...forEnte!(e.ente), rows: e.rows, valid: e.rows, errors: 0}})
    otherRows += e.rows
  }
  return {run: {...submission, rows: summary.rows - otherRows, valid: summary.valid - otherRows, errors: summary.errors}, others}
}

/** Cooperazione packaging: exactly one beneficiario and one prestazione per flusso. */
function writeCooperazione(lines: Iterable<SpoolLine>, count: number, ctx: Context, written: string[]): Array<FlussoResult & {ente: string}> {
  if (count > PROGRESSIVE_MAX) throw tooManyFlussi()
  // progressives per ente, reserved at once for the run's ente (rows of other enti: one at a time)
  let progressive = ctx.store.reserveProgressives(ctx.ente.codice, ctx.flow.nameCode, ctx.day, count)
  const results: Array<FlussoResult & {ente: string}> = []
  const groupClose = Buffer.from(ctx.writer.groupClose)
  for (const line of lines) {
    const ente = line.ente ?? ctx.ente
    const file = new FlussoFile(ctx, ente, line.ente && line.ente.codice !== ctx.ente.codice ? ctx.store.reserveProgressives(ente.codice, ctx.flow.nameCode, ctx.day, 1) : progressive++)
    written.push(file.workPath)
    file.write(line.header)
    file.write(line.record)
    file.write(groupClose)
    file.beneficiari = 1
    file.prestazioni = 1
    results.push({...file.finish(ctx.writer.close), ente: ente.codice})
  }
  return results
}

/** A file naming enti other than the run's (Ente_Codice), given to submit with push or file: nothing is sent or recorded. */
function submitOneEnte(run: string, others: string[]): UsageError {
  const list = others.sort().join(', ')
  return new UsageError(
    'SUBMIT_OTHER_ENTE',
    {
      it: `Il file ha righe di altri enti (${list}) oltre a ${run}: con questo trasporto submit invia per un ente alla volta (le sue credenziali, la sua firma), e non ha inviato né registrato nulla.`,
      en: `The file has rows of other enti (${list}) besides ${run}: with this transport submit sends for one ente at a time (its credentials, its signature), and sent or recorded nothing.`,
    },
    {
      suggestions: [
        {
          it: 'Con --transport waas ogni ente riceve i suoi flussi, prelevati da INPS sul percorso del suo e-service: casellario submit FILE --transport waas, poi casellario serve --enti enti.yaml',
          en: "With --transport waas each ente gets its own flussi, pulled by INPS on its e-service's path: casellario submit FILE --transport waas, then casellario serve --enti enti.yaml",
        },
        {
          it: `Oppure dividi il file per ente e invia ciascuno con il suo ente: casellario submit righe-${others[0]}.csv --ente-codice ${others[0]} --ente-belfiore …`,
          en: `Or split the file by ente and send each with its own ente: casellario submit rows-${others[0]}.csv --ente-codice ${others[0]} --ente-belfiore …`,
        },
      ],
    },
  )
}
