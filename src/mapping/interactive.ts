import {existsSync, writeFileSync} from 'node:fs'
import {dirname, resolve} from 'node:path'

import {stringify} from 'yaml'

import type {FieldSpec, FlowSpec} from '../flows/model.js'
import {say} from '../i18n/messages.js'
import type {Prompter} from '../runtime/prompter.js'
import {listTemplates, loadTemplate, type ColumnRule, type Mapping, type Template} from './index.js'

/**
 * DESIGN §4.3, the mapping wizard: a person runs validate or build on their own export without a
 * template, on a terminal. Every canonical field gets a proposed column by header similarity
 * (Italian and English names, the shipped templates' headers; accents, case and punctuation
 * ignored) — or none, never "the next column"; dates, Italian amounts and labels used instead of
 * codes are recognised from the first rows; the person confirms or reviews field by field
 * (required first), sees what stays unused, sees how the first 100 rows fare, and may save it all
 * as a template for the next export.
 */

export interface WizardContext {
  flow: FlowSpec
  header: string[]
  mapping: Mapping
  /** the first rows of the file (cells by header position), for value and format detection */
  sample: string[][]
  /** validates the first rows with a candidate template: counts, by code */
  tryTemplate?: (template: Template) => Promise<{rows: number; valid: number; errors: Record<string, number>}>
  /** where the wizard talks to the person (stderr: stdout stays the command's result) */
  print?: (text: string) => void
}

const NONE = (): string => say({it: '(nessuna: il campo resta vuoto)', en: '(none: the field stays empty)'})
const KEEP = (): string => say({it: '(lascia il valore com’è)', en: '(keep the value as it is)'})

export async function askHeaderMapping(prompter: Prompter, context: WizardContext): Promise<Template | undefined> {
  const {flow, header, mapping} = context
  if (!mapping.problems.some((p) => p.code === 'HEADER_MISSING_COLUMN')) return undefined
  const print = context.print ?? ((text: string) => process.stderr.write(`${text}\n`))
  const proposed = proposeColumns(flow, header)
  const ordered = [...flow.fields.filter((f) => f.required), ...flow.fields.filter((f) => !f.required)]
  print(say({it: 'Le colonne del file non sono quelle del tracciato: ecco le corrispondenze proposte.', en: 'The file’s columns are not the canonical ones: here is the proposed mapping.'}))
  for (const f of ordered) print(`  ${f.column.padEnd(34)} ← ${proposed.get(f.column) ?? NONE()}`)
  const review = await prompter.select({
    message: say({it: 'Le confermi?', en: 'Confirm them?'}),
    choices: [say({it: 'Sì, conferma', en: 'Yes, confirm'}), say({it: 'No, rivedi campo per campo', en: 'No, review field by field'})],
  })
  const chosen = new Map(proposed)
  if (review !== say({it: 'Sì, conferma', en: 'Yes, confirm'})) {
    const choices = [...header.filter((h) => h.trim() !== ''), NONE()]
    for (const f of ordered) {
      const answer = await prompter.select({
        message: say({it: `Quale colonna contiene ${f.column} (${f.label.it})${f.required ? ', obbligatorio' : ''}?`, en: `Which column holds ${f.column} (${f.label.en})${f.required ? ', required' : ''}?`}),
        choices,
        default: proposed.get(f.column) ?? NONE(),
      })
      if (answer === NONE()) chosen.delete(f.column)
      else chosen.set(f.column, answer)
    }
  }
  const columns: Record<string, ColumnRule> = {}
  for (const f of flow.fields) {
    const column = chosen.get(f.column)
    if (column === undefined) continue
    const values = distinctValues(context.sample, header.indexOf(column))
    columns[f.column] = await ruleFor(prompter, f, column, values)
  }
  const used = new Set(chosen.values())
  const ignored = header.filter((h) => h.trim() !== '' && !used.has(h))
  if (ignored.length > 0) print(say({it: `Colonne del file che non saranno usate: ${ignored.join(', ')}.`, en: `Columns of the file that will not be used: ${ignored.join(', ')}.`}))
  const template: Template = {name: 'interattivo', flow: flow.id, description: say({it: 'Mappatura scelta in modo interattivo', en: 'Mapping chosen interactively'}), columns}
  if (context.tryTemplate) {
    const trial = await context.tryTemplate(template)
    const codes = Object.entries(trial.errors).sort((a, b) => b[1] - a[1]).map(([code, n]) => `${code} ×${n}`).join(', ')
    print(
      say({
        it: `Prova sulle prime ${trial.rows} righe: ${trial.valid} valide${trial.rows > trial.valid ? `, ${trial.rows - trial.valid} con errori (${codes})` : ''}.`,
        en: `Trial on the first ${trial.rows} rows: ${trial.valid} valid${trial.rows > trial.valid ? `, ${trial.rows - trial.valid} with errors (${codes})` : ''}.`,
      }),
    )
  }
  const path = await prompter.input({
    message: say({it: 'Salvare questa mappatura come modello? Percorso del file YAML (vuoto per non salvarla)', en: 'Save this mapping as a template? Path of the YAML file (empty not to save it)'}),
    validate: (value) => {
      const p = value.trim()
      if (p === '') return true
      if (existsSync(p)) return say({it: 'il file esiste già: scegli un altro nome', en: 'the file exists: choose another name'})
      return existsSync(dirname(resolve(p))) ? true : say({it: 'la cartella non esiste', en: 'the folder does not exist'})
    },
  })
  if (path.trim() !== '') writeFileSync(path.trim(), stringify({flow: flow.id, description: template.description, columns}), {mode: 0o600, flag: 'wx'})
  return template
}

/** The rule for one column: how its dates and amounts are written, and which code each label means. */
async function ruleFor(prompter: Prompter, f: FieldSpec, column: string, values: string[]): Promise<ColumnRule> {
  const rule: {column: string; date?: string; decimal?: 'it'; map?: Record<string, string>} = {column}
  if ((f.type.kind === 'date' || f.type.kind === 'monthYear') && values.some((v) => /^\d{1,2}[/.-]\d{1,2}[/.-]\d{4}/.test(v))) rule.date = 'dd/MM/yyyy'
  if (f.type.kind === 'decimal' && values.some((v) => v.includes(','))) rule.decimal = 'it'
  if (f.type.kind === 'enum' && !f.list) {
    const codes = f.type.values
    const map: Record<string, string> = {}
    for (const v of values) {
      if (v in codes || v.toUpperCase() in codes) continue
      const guess = codeFor(v, codes)
      const choices = [...Object.entries(codes).map(([code, label]) => `${code} = ${label}`), KEEP()]
      const answer = await prompter.select({
        message: say({it: `Nella colonna "${column}" c'è "${v}": quale codice ${f.column} è?`, en: `Column "${column}" holds "${v}": which ${f.column} code is it?`}),
        choices,
        default: guess === undefined ? KEEP() : `${guess} = ${codes[guess]}`,
      })
      if (answer !== KEEP()) map[v] = answer.slice(0, answer.indexOf(' = '))
    }
    if (Object.keys(map).length > 0) rule.map = map
  }
  return rule.date || rule.decimal || rule.map ? rule : column
}

const YES = new Set(['si', 's', 'yes', 'y', 'vero', 'true', 'x'])
const NO = new Set(['no', 'n', 'falso', 'false'])

/** The code a label most likely means: the label itself, its start (M → Maschio), yes and no words. */
export function codeFor(value: string, codes: Readonly<Record<string, string>>): string | undefined {
  const v = normalize(value)
  if (v === '') return undefined
  const entries = Object.entries(codes).map(([code, label]) => [code, normalize(label)] as const)
  const exact = entries.find(([, label]) => label === v)
  if (exact) return exact[0]
  const yesNo = YES.has(v) ? 'si' : NO.has(v) ? 'no' : undefined
  if (yesNo) return entries.find(([, label]) => label === yesNo)?.[0]
  const starts = entries.filter(([, label]) => label.startsWith(v) || v.startsWith(label))
  return starts.length === 1 ? starts[0][0] : undefined
}

function distinctValues(sample: string[][], index: number): string[] {
  if (index < 0) return []
  const seen = new Set<string>()
  for (const row of sample) {
    const v = (row[index] ?? '').trim()
    if (v !== '') seen.add(v)
    if (seen.size >= 30) break
  }
  return [...seen]
}

/**
 * Other names a column goes by in Italian exports and English ones, beyond the canonical name and
 * the model's label (both always compared). Only what similarity alone would miss.
 */
const SYNONYMS: Record<string, string[]> = {
  CodiceFiscale: ['cf', 'c f', 'codice fiscale assistito', 'fiscal code', 'tax code'],
  Cognome: ['surname', 'last name', 'family name'],
  Nome: ['first name', 'given name', 'name'],
  AnnoNascita: ['anno di nascita', 'year of birth', 'birth year'],
  LuogoNascita: ['comune di nascita', 'luogo nascita', 'codice catastale nascita', 'place of birth', 'birthplace'],
  Genere: ['sesso', 'sex', 'gender'],
  CodiceCittadinanza: ['cittadinanza', 'citizenship', 'nationality'],
  CodiceSecondaCittadinanza: ['seconda cittadinanza', 'second citizenship'],
  CodiceRegione: ['regione', 'regione di residenza', 'region'],
  CodiceComune: ['comune', 'comune di residenza', 'istat comune', 'municipality'],
  CodiceNazione: ['nazione', 'stato di residenza', 'nazione di residenza', 'country of residence'],
  TipoOperazione: ['operazione', 'operation'],
  PresenzaProvaMezzi: ['prova mezzi', 'prova dei mezzi', 'means test'],
  CaratterePrestazione: ['carattere', 'periodica occasionale', 'tipo erogazione'],
  NumeroProtocolloDSU: ['protocollo dsu', 'numero dsu', 'dsu'],
  CodicePrestazione: ['codice prestazione', 'cod prestazione', 'service code'],
  DenominazionePrestazione: ['descrizione prestazione', 'prestazione', 'service'],
  ProtocolloDomanda: ['protocollo domanda', 'numero domanda', 'n domanda', 'application number'],
  DataInizioPrestazione: ['data inizio', 'inizio', 'data avvio', 'start date'],
  DataFinePrestazione: ['data fine', 'fine', 'data termine', 'end date'],
  DataErogazionePrestazione: ['data erogazione', 'data pagamento', 'payment date'],
  ImportoPrestazione: ['importo', 'importo erogato', 'amount'],
  PeriodoErogazione: ['mesi di erogazione', 'mesi', 'months'],
  ImportoMensile: ['importo mensile', 'monthly amount'],
  ImportoSogliaISEE: ['soglia isee', 'isee threshold'],
  OreServizioMensile: ['ore di servizio mensili', 'ore mensili', 'monthly hours'],
  PresaCarico: ['presa in carico', 'in carico', 'taken in charge'],
  AreaUtenza: ['area utenza', 'area', 'user area'],
  IDBeneficiario: ['codice minore', 'id minore', 'identificativo', 'minor id'],
}

/** Column proposed for each field: the most similar header, each header used once, none below the bar. */
export function proposeColumns(flow: FlowSpec, header: string[]): Map<string, string> {
  const shipped = shippedHeaders(flow)
  const scored: {field: string; column: string; score: number}[] = []
  for (const f of flow.fields) {
    const names = [f.column, splitCamel(f.column), f.label.it, ...(SYNONYMS[f.column] ?? []), ...(shipped.get(f.column) ?? [])].map(normalize)
    for (const h of header) {
      const n = normalize(h)
      if (n === '') continue
      const score = Math.max(...names.map((name) => similarity(n, name)))
      if (score >= 0.6) scored.push({field: f.column, column: h, score})
    }
  }
  scored.sort((a, b) => b.score - a.score)
  const taken = new Set<string>()
  const proposed = new Map<string, string>()
  for (const s of scored) {
    if (proposed.has(s.field) || taken.has(s.column)) continue
    proposed.set(s.field, s.column)
    taken.add(s.column)
  }
  return proposed
}

/** The headers the shipped templates use for each field: real exports' names. */
function shippedHeaders(flow: FlowSpec): Map<string, string[]> {
  const out = new Map<string, string[]>()
  for (const t of listTemplates().filter((t) => t.flow === flow.id)) {
    for (const [field, rule] of Object.entries(loadTemplate(t.name).columns)) {
      const column = typeof rule === 'string' ? rule : rule.column
      if (column) out.set(field, [...(out.get(field) ?? []), column])
    }
  }
  return out
}

function splitCamel(name: string): string {
  return name.replace(/_/g, ' ').replace(/([a-z])([A-Z])/g, '$1 $2')
}

/** Lower case, no accents, words of letters and digits. */
function normalize(text: string): string {
  return text
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, ' ')
    .trim()
}

/** 1 for the same words (spacing aside), else the share of words in common (Dice). */
function similarity(a: string, b: string): number {
  if (a.replaceAll(' ', '') === b.replaceAll(' ', '')) return 1
  const wa = a.split(' ')
  const wb = new Set(b.split(' '))
  const common = wa.filter((w) => wb.has(w)).length
  return (2 * common) / (wa.length + wb.size)
}
