import {createHash} from 'node:crypto'
import {readFileSync, writeFileSync} from 'node:fs'
import {basename, join, resolve} from 'node:path'


import {engineNow, romeCalendar} from '../clock/index.js'
import {UsageError} from '../errors/index.js'
import {say} from '../i18n/messages.js'
import {FLOWS} from '../flows/index.js'
import type {FlowSpec} from '../flows/model.js'
import {openSheet} from '../input/index.js'
import {DEFAULT_MAX_RATIO, ZipArchive, ZipError} from '../input/zip.js'
import {normalizeHeader} from '../input/header.js'
import {verifyCades} from '../sign/cades.js'
import type {EsitoUpdate, FlussoState, RecordDetail, Store} from '../store/sqlite.js'
import {ESITI} from '../transport/push.js'
import {privateWorkFolder} from '../runtime/private-temp.js'
import {compileRecordValidator} from '../validate/record.js'
import {readFlusso} from '../xml/read.js'
import {compileFlussoWriter, XmlBytes} from '../xml/writer.js'
import {describeRecord} from './plan.js'
import {newSubmission, type Transport} from './index.js'

/**
 * `casellario import` (DESIGN §10, issue 16): flussi sent before casellario (through the INPS
 * portal, SISO or another tool) recorded in the store as INPS holds them, so that the next
 * `submit` computes corrections and cancellations against them. Each flusso keeps its exact bytes;
 * each record is described as the planner describes a spreadsheet row (rendered by our writer from
 * the values read), so an unchanged row of a later export is recognised as unchanged, and a
 * changed one is cancelled with exactly the data INPS holds.
 */

export interface ImportOptions {
  store: Store
  /** where the flussi went: the portal (file transport) unless told otherwise */
  transport: Transport
  endpoint?: string
  /** the esito of every flusso not in `esiti` (default OK) */
  esito?: string
  /** per id_flusso, from a CSV of esiti */
  esiti?: Map<string, EsitoFromFile>
  dryRun?: boolean
  now?: Date
}

export interface EsitoFromFile {
  codice: string
  idAcquisizione?: string
  descrizione?: string
}

export type ImportStatus = 'imported' | 'unchanged' | 'refused'

export interface ImportedFlusso {
  file: string
  id_flusso?: string
  flow?: string
  ente?: string
  status: ImportStatus
  state?: FlussoState
  prestazioni?: number
  /** why it was refused (code and Italian reason) */
  code?: string
  reason?: string
}

export interface ImportResult {
  flussi: ImportedFlusso[]
  imported: number
  unchanged: number
  refused: number
  prestazioni: number
  submissions: string[]
}

/** Problems a flusso INPS accepted cannot have: what the XSD itself refuses (not the spec's semantic rules). */
const XSD_LEVEL = new Set([
  'REQUIRED', 'TOO_SHORT', 'TOO_LONG', 'CONTROL_CHARACTER', 'NOT_DIGITS', 'NOT_IN_LIST', 'INVALID_DATE', 'INVALID_YEAR',
  'INVALID_MONTH_YEAR', 'INVALID_DECIMAL', 'INVALID_INTEGER', 'CF_MALFORMED', 'BELFIORE_MALFORMED',
])
/** `{ente}.{PS|SINBA}.{YYYYMMDD}.{progressive}` */
const NOME = /^(.+)\.(PS|SINBA)\.(\d{8})\.(\d{1,8})$/

interface ReadyFlusso {
  file: string
  sourceSha256: string
  xml: Buffer
  sha256: string
  flow: FlowSpec
  nome: string
  ente: string
  belfiore: string
  denominazione?: string
  groups: number
  records: Array<{header: Buffer; record: Buffer}>
}

export async function importFlussi(paths: string[], opts: ImportOptions): Promise<ImportResult> {
  const result: ImportResult = {flussi: [], imported: 0, unchanged: 0, refused: 0, prestazioni: 0, submissions: []}
  const ready: ReadyFlusso[] = []
  const seen = new Map<string, string>()
  for (const path of paths) {
    for (const item of await readFlussoFiles(path)) {
      if ('reason' in item) {
        result.flussi.push({file: item.file, status: 'refused', code: item.code, reason: item.reason})
        continue
      }
      const checked = checkFlusso(item.file, item.xml, item.sourceSha256)
      if ('reason' in checked) {
        result.flussi.push({file: item.file, id_flusso: checked.nome, status: 'refused', code: checked.code, reason: checked.reason})
        continue
      }
      // the same flusso twice on the command line (the .xml and its .p7m) is one flusso
      const twin = seen.get(checked.nome)
      if (twin === checked.sha256) continue
      if (twin !== undefined) {
        result.flussi.push({file: item.file, id_flusso: checked.nome, status: 'refused', code: 'IMPORT_CONFLICT', reason: say({it: 'Due file diversi con lo stesso nome di flusso.', en: 'Two different files with the same flusso name.'})})
        continue
      }
      seen.set(checked.nome, checked.sha256)
      ready.push(checked)
    }
  }
  record(ready, opts, result)
  for (const f of result.flussi) {
    if (f.status === 'imported') result.imported++
    else if (f.status === 'unchanged') result.unchanged++
    else result.refused++
    if (f.status === 'imported') result.prestazioni += f.prestazioni ?? 0
  }
  return result
}

type FileItem = {file: string; xml: Buffer; sourceSha256: string} | {file: string; code: string; reason: string}

/** The flussi in a file: plain XML, a signed .p7m (of an XML or of the file transport's zip), or a zip. */
async function readFlussoFiles(path: string): Promise<FileItem[]> {
  const file = resolve(path)
  let bytes: Buffer
  try {
    bytes = readFileSync(file)
  } catch {
    throw new UsageError('FILE_NOT_FOUND', {it: `Il file ${path} non esiste o non è leggibile.`, en: `The file ${path} does not exist or cannot be read.`})
  }
  const sourceSha256 = createHash('sha256').update(bytes).digest('hex')
  let content = bytes
  if (!looksLikeXml(bytes) && !isZip(bytes)) {
    let verified
    try {
      verified = await verifyCades(bytes)
    } catch {
      return [{file, code: 'IMPORT_NOT_A_FLUSSO', reason: say({it: 'Non è un XML, uno zip né una busta firmata .p7m.', en: 'Not an XML, a zip nor a signed .p7m envelope.'})}]
    }
    if (!verified.integrity || !verified.content) {
      return [{file, code: 'IMPORT_SIGNATURE_INVALID', reason: say({it: `La firma non corrisponde al contenuto${verified.reason ? `: ${verified.reason}` : ''}.`, en: `The signature does not match the content${verified.reason ? `: ${verified.reason}` : ''}.`})}]
    }
    content = verified.content
  }
  if (isZip(content)) {
    // the zip reader works on a file (it reads the directory at the end first): a private copy
    const work = await privateWorkFolder()
    try {
      const path = join(work.path, 'flussi.zip')
      writeFileSync(path, content, {mode: 0o600})
      const zip = await ZipArchive.open(path)
      const entries = zip.entries.filter((e) => !e.name.endsWith('/') && e.name.toLowerCase().endsWith('.xml'))
      if (entries.length === 0) return [{file, code: 'IMPORT_NOT_A_FLUSSO', reason: say({it: 'Lo zip non contiene file XML.', en: 'The zip holds no XML files.'})}]
      const items: FileItem[] = []
      for (const e of entries) items.push({file: `${file}#${basename(e.name)}`, xml: await zip.read(e, {maxBytes: MAX_FLUSSO_BYTES, maxRatio: DEFAULT_MAX_RATIO}), sourceSha256})
      return items
    } catch (error) {
      if (error instanceof ZipError) return [{file, code: 'IMPORT_NOT_A_FLUSSO', reason: say({it: `Lo zip non si può leggere (${error.reason}).`, en: `The zip cannot be read (${error.reason}).`})}]
      throw error
    } finally {
      await work.remove()
    }
  }
  if (!looksLikeXml(content)) return [{file, code: 'IMPORT_NOT_A_FLUSSO', reason: say({it: 'Il contenuto non è un XML.', en: 'The content is not XML.'})}]
  return [{file, xml: content, sourceSha256}]
}

/** A flusso inside a zip: the upload packaging caps files at a few MB, so this is generous. */
const MAX_FLUSSO_BYTES = 256 << 20

function looksLikeXml(b: Buffer): boolean {
  const head = b.subarray(0, 64).toString('utf8').replace(/^\uFEFF/, '').trimStart()
  return head.startsWith('<')
}

function isZip(b: Buffer): boolean {
  return b.length > 4 && b[0] === 0x50 && b[1] === 0x4b && b[2] === 3 && b[3] === 4
}

const validators = new Map<string, ReturnType<typeof compileRecordValidator>>()

/**
 * The XSD-level checks (structure, names, value syntax) and the records as our writer renders
 * them; anything wrong refuses the whole flusso, as INPS would have.
 */
function checkFlusso(file: string, xml: Buffer, sourceSha256: string): ReadyFlusso | {nome?: string; code: string; reason: string} {
  const text = xml.toString('utf8')
  const flow = /<(?:\w+:)?SINBA[\s>]/.test(text) ? FLOWS.sinba : FLOWS.ps
  const read = readFlusso(xml, flow)
  const nome = read.nome
  if (read.problems.length > 0) return {nome, code: 'IMPORT_NOT_CONFORMING', reason: say({it: `Flusso non conforme allo schema: ${read.problems[0]}.`, en: `The flusso does not conform to the schema: ${read.problems[0]}.`})}
  const parts = nome ? NOME.exec(nome) : null
  if (!nome || !parts || parts[2] !== flow.nameCode) {
    return {
      nome,
      code: 'IMPORT_NOT_CONFORMING',
      reason: say({
        it: `IdentificazioneFlusso/@Nome assente o non nella forma {CodiceEnte}.${flow.nameCode}.{AAAAMMGG}.{progressivo}.`,
        en: `IdentificazioneFlusso/@Nome is missing or not of the form {CodiceEnte}.${flow.nameCode}.{YYYYMMDD}.{progressivo}.`,
      }),
    }
  }
  const ente = read.ente.Codice ?? ''
  if (ente === '' || ente !== parts[1] || !read.ente.Indirizzo || !read.ente.CFOperatore) {
    return {nome, code: 'IMPORT_NOT_CONFORMING', reason: say({
        it: 'Ente/@Codice, @Indirizzo e @CFOperatore sono obbligatori e il codice deve essere quello del nome del flusso.',
        en: "Ente/@Codice, @Indirizzo and @CFOperatore are required, and the code must be the one in the flusso's name.",
      }),
    }
  }
  if (read.records.length === 0) return {nome, code: 'IMPORT_NOT_CONFORMING', reason: say({it: 'Il flusso non contiene prestazioni.', en: 'The flusso holds no prestazioni.'})}
  let validate = validators.get(flow.id)
  const today = romeCalendar()
  if (!validate) validators.set(flow.id, (validate = compileRecordValidator(flow, {currentYear: today.year, currentMonth: today.month})))
  const writer = compileFlussoWriter(flow)
  const records: ReadyFlusso['records'] = []
  for (const [i, values] of read.records.entries()) {
    normalise(flow, values)
    const problem = validate(values).find((p) => p.severity === 'error' && XSD_LEVEL.has(p.code))
    if (problem) return {nome, code: 'IMPORT_NOT_CONFORMING', reason: say({it: `Prestazione ${i + 1}: valore non valido in ${problem.field.xml} (${problem.code}).`, en: `Prestazione ${i + 1}: invalid value in ${problem.field.xml} (${problem.code}).`})}
    const out = new XmlBytes(4096)
    writer.groupOpen(values, out)
    const headerEnd = out.length
    writer.record(values, out)
    const rendered = Buffer.from(out.bytes())
    records.push({header: rendered.subarray(0, headerEnd), record: rendered.subarray(headerEnd)})
  }
  return {
    file, sourceSha256, xml, sha256: createHash('sha256').update(xml).digest('hex'), flow, nome, ente, belfiore: read.ente.Indirizzo,
    denominazione: read.ente.Denominazione, groups: read.groups, records,
  }
}

/** As the spreadsheet path has them: codes in upper case, list items trimmed. */
function normalise(flow: FlowSpec, values: string[]): void {
  for (const f of flow.fields) {
    const v = values[f.index]
    if (v === '') continue
    if (f.upper || f.type.kind === 'codiceFiscale' || f.type.kind === 'belfiore' || (f.type.kind === 'enum' && /[a-z]/.test(v))) values[f.index] = v.toUpperCase()
    if (f.list) values[f.index] = values[f.index].split('|').map((x) => x.trim()).filter((x) => x !== '').join('|')
  }
}

/**
 * Records the flussi, one submission per ente and flow, in one transaction: an import is all or
 * nothing. A flusso the store already has with the same bytes is left alone (importing twice
 * changes nothing); with other bytes it is refused.
 */
function record(ready: ReadyFlusso[], opts: ImportOptions, result: ImportResult): void {
  const {store} = opts
  const destination = {transport: opts.transport, endpoint: opts.endpoint}
  const fresh: ReadyFlusso[] = []
  for (const f of ready) {
    const known = store.flusso(f.nome)
    if (!known) fresh.push(f)
    else if (known.sha256 === f.sha256) result.flussi.push({file: f.file, id_flusso: f.nome, flow: f.flow.id, ente: f.ente, status: 'unchanged', state: known.state, prestazioni: f.records.length})
    else result.flussi.push({file: f.file, id_flusso: f.nome, status: 'refused', code: 'IMPORT_CONFLICT', reason: say({it: 'Lo store ha già un flusso con questo nome e un contenuto diverso.', en: 'The store already has a flusso with this name and different content.'})})
  }
  // in the order they were sent (day, then progressive), whatever the order of the files given: a
  // cancellation finds the insertion it takes back, imported before it
  const sentOrder = (nome: string): string => {
    const m = NOME.exec(nome)
    return m ? `${m[3]}.${m[4].padStart(8, '0')}` : nome
  }
  fresh.sort((a, b) => (sentOrder(a.nome) < sentOrder(b.nome) ? -1 : sentOrder(a.nome) > sentOrder(b.nome) ? 1 : 0))
  // the esito's acquisition time is data (the store's history): the engine clock
  const now = opts.now ?? engineNow()
  const esitoOf = (nome: string): EsitoFromFile => opts.esiti?.get(nome) ?? {codice: opts.esito ?? 'OK'}
  for (const f of fresh) {
    const state: FlussoState = esitoOf(f.nome).codice === 'OK' ? 'accepted' : 'rejected'
    result.flussi.push({file: f.file, id_flusso: f.nome, flow: f.flow.id, ente: f.ente, status: 'imported', state, prestazioni: f.records.length})
  }
  // a dry run stops at the decisions: the store is not touched
  if (opts.dryRun || fresh.length === 0) return
  store.transaction(() => {
    const submissions = new Map<string, string>()
    const esiti: EsitoUpdate[] = []
    let tsFlusso = store.nextTsFlusso(now.getTime())
    for (const f of fresh) {
      const key = `${f.ente}\u0000${f.flow.id}`
      let submission = submissions.get(key)
      if (!submission) {
        const init = newSubmission({flow: f.flow, ente: {codice: f.ente, belfiore: f.belfiore, denominazione: f.denominazione, cfOperatore: ''}, transport: opts.transport, endpoint: opts.endpoint})
        store.insertSubmission({...init, rows: 0, valid: 0, errors: 0})
        submission = init.id
        submissions.set(key, submission)
        result.submissions.push(submission)
      }
      const details: RecordDetail[] = f.records.map(({header, record}) => {
        const d = describeRecord(f.flow, f.ente, destination, header, record)
        const cancels = d.op === 'C' ? store.liveInsertion(d.identity) : undefined
        return {...d, header, record, ...(cancels ? {cancels} : {})}
      })
      const [, , , day, progressive] = NOME.exec(f.nome)!
      store.progressiveUsed(f.ente, f.flow.nameCode, day, Number(progressive))
      // handed to INPS before casellario: the esito (given, or OK) follows in the same transaction
      store.insertFlusso({
        idFlusso: f.nome, submissionId: submission, ente: f.ente, flow: f.flow.id, packaging: f.groups === 1 && f.records.length === 1 ? 'cooperazione' : 'upload',
        state: 'sent', xml: f.xml, sha256: f.sha256, tsFlusso: tsFlusso++, beneficiari: f.groups, prestazioni: f.records.length, sourceFile: f.file,
        sourceSha256: f.sourceSha256, rows: f.records.map((_, i) => i + 1), operation: details.every((d) => d.op === 'C') ? 'C' : 'I', details,
      })
      const esito = esitoOf(f.nome)
      esiti.push({idFlusso: f.nome, codiceEsito: esito.codice, idAcquisizione: esito.idAcquisizione, descrizione: esito.descrizione, tsAcquisizione: now.getTime()})
    }
    store.applyEsiti(esiti)
  })
}

/** `--esiti FILE`: a spreadsheet with id_flusso and codice_esito (and optionally id_acquisizione_siuss, descrizione_esito). */
export async function readEsitiFile(path: string): Promise<Map<string, EsitoFromFile>> {
  const sheet = await openSheet(path, {onIssue: () => {}})
  try {
    const headers = sheet.header.map(normalizeHeader)
    const at = (...names: string[]): number => headers.findIndex((h) => names.includes(h))
    const id = at('idflusso', 'flusso', 'nomeflusso')
    const codice = at('codiceesito', 'esito')
    const acquisizione = at('idacquisizionesiuss', 'codicesiuss', 'idacquisizione')
    const descrizione = at('descrizioneesito', 'descrizione')
    if (id < 0 || codice < 0) {
      throw new UsageError('ESITI_COLUMNS_MISSING', {it: `Il file ${path} deve avere le colonne id_flusso e codice_esito.`, en: `The file ${path} must have the columns id_flusso and codice_esito.`}, {
        suggestions: [{it: 'Intestazioni: id_flusso;codice_esito;id_acquisizione_siuss;descrizione_esito', en: 'Headers: id_flusso;codice_esito;id_acquisizione_siuss;descrizione_esito'}],
      })
    }
    const esiti = new Map<string, EsitoFromFile>()
    for await (const batch of sheet.batches) {
      for (const {row, cells} of batch) {
        const nome = (cells[id] ?? '').trim()
        if (nome === '') continue
        const code = (cells[codice] ?? '').trim().toUpperCase()
        if (!(ESITI as readonly string[]).includes(code)) {
          throw new UsageError('ESITO_UNKNOWN', {
            it: `Riga ${row} di ${path}: esito "${code.slice(0, 30)}" non tra ${ESITI.join(', ')}.`,
            en: `Row ${row} of ${path}: esito "${code.slice(0, 30)}" is not one of ${ESITI.join(', ')}.`,
          })
        }
        esiti.set(nome, {codice: code, idAcquisizione: acquisizione >= 0 ? cells[acquisizione]?.trim() || undefined : undefined, descrizione: descrizione >= 0 ? cells[descrizione]?.trim() || undefined : undefined})
      }
    }
    return esiti
  } finally {
    await sheet.close()
  }
}
