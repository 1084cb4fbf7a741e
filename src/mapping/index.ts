import {existsSync, readdirSync, readFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {basename, dirname, extname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {UsageError} from '../errors/index.js'
import {say} from '../i18n/messages.js'
import {normalizeHeader} from '../input/header.js'
import {optionalElementOf} from '../flows/describe.js'
import type {FieldSpec, FlowSpec} from '../flows/model.js'

/**
 * The YAML parser, loaded on first use: most runs use no template, and every worker thread loads
 * this module (yaml is some 70 CommonJS files: about 40 ms of a worker's start).
 */
function parseYaml(text: string): unknown {
  return (createRequire(import.meta.url)('yaml') as typeof import('yaml')).parse(text)
}

/**
 * From a spreadsheet's columns to the canonical record (DESIGN §4.2–4.3). Without a template,
 * headers are matched to canonical names ignoring case, spaces and `_`; a YAML template maps
 * a real export (Italian headers, dd/mm/yyyy, 1.234,56, M/F) onto canonical fields.
 */

export type ColumnRule =
  | string
  | {
      column?: string
      /** constant value for every row */
      value?: string
      /** source date pattern, e.g. dd/MM/yyyy */
      date?: string
      /** `it`: 1.234,56 */
      decimal?: 'it'
      /** source value → official code; matched ignoring case and surrounding spaces */
      map?: Record<string, string>
    }

/** A column rule as a person reads it: `"Data inizio" (data gg/mm/aaaa)`, `valore fisso "380"`. */
export function describeColumnRule(rule: ColumnRule): string {
  if (typeof rule === 'string') return `"${rule}"`
  const parts: string[] = []
  if (rule.date) parts.push(say({it: `data ${rule.date}`, en: `date ${rule.date}`}))
  if (rule.decimal === 'it') parts.push(say({it: 'numeri come 1.234,56', en: 'numbers like 1.234,56'}))
  if (rule.map) parts.push(Object.entries(rule.map).map(([from, to]) => `${from} → ${to}`).join(', '))
  const source = rule.column !== undefined ? `"${rule.column}"` : say({it: `valore fisso "${rule.value ?? ''}"`, en: `fixed value "${rule.value ?? ''}"`})
  return parts.length > 0 ? `${source} (${parts.join('; ')})` : source
}

export interface Template {
  name: string
  flow: 'ps' | 'sinba'
  description?: string
  columns: Record<string, ColumnRule>
}

/** Where the shipped templates live: `templates/` at the package root (from src/ or dist/src/). */
export const TEMPLATES_DIR = join(packageRoot(), 'templates')

function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir)
  return dir
}

export function listTemplates(): Template[] {
  if (!existsSync(TEMPLATES_DIR)) return []
  return readdirSync(TEMPLATES_DIR)
    .filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))
    .sort()
    .map((f) => loadTemplate(join(TEMPLATES_DIR, f)))
}

/** A template by file path, or by the name of a shipped one. */
export function loadTemplate(nameOrPath: string): Template {
  const path = existsSync(nameOrPath) ? nameOrPath : join(TEMPLATES_DIR, `${nameOrPath.replace(/\.ya?ml$/, '')}.yaml`)
  if (!existsSync(path)) {
    throw new UsageError('TEMPLATE_NOT_FOUND', {it: `Modello di mappatura non trovato: ${nameOrPath}`, en: `Mapping template not found: ${nameOrPath}`}, {
      suggestions: [
        {it: 'Elenca i modelli inclusi con: casellario template list', en: 'List the included templates with: casellario template list'},
        {it: 'Oppure indica il percorso di un file YAML.', en: 'Or give the path of a YAML file.'},
      ],
    })
  }
  let doc: unknown
  try {
    doc = parseYaml(readFileSync(path, 'utf8'))
  } catch (error) {
    throw new UsageError('TEMPLATE_INVALID', {
      it: `Il modello ${path} non è YAML valido: ${(error as Error).message.split('\n')[0]}`,
      en: `The template ${path} is not valid YAML: ${(error as Error).message.split('\n')[0]}`,
    })
  }
  const t = doc as Partial<Template> | null
  if (!t || typeof t !== 'object' || (t.flow !== 'ps' && t.flow !== 'sinba') || typeof t.columns !== 'object' || t.columns === null) {
    throw new UsageError('TEMPLATE_INVALID', {
      it: `Il modello ${path} deve avere "flow: ps|sinba" e una sezione "columns".`,
      en: `The template ${path} must have "flow: ps|sinba" and a "columns" section.`,
    })
  }
  return {name: basename(path, extname(path)), flow: t.flow, description: t.description, columns: t.columns}
}

/** A problem with the header row, fatal for the file: no row could be read correctly. */
export interface HeaderProblem {
  code: 'HEADER_MISSING_COLUMN' | 'HEADER_DUPLICATE' | 'TEMPLATE_UNKNOWN_FIELD' | 'TEMPLATE_COLUMN_NOT_FOUND'
  field: string
  column: string
}

export interface Mapping {
  /** per canonical field: the source header the user sees ('' for constants and absent columns) */
  sourceColumn: string[]
  /** per canonical field: the 1-based source column number (0 if none) */
  sourceIndex: number[]
  problems: HeaderProblem[]
  /** canonical values of one row; '' = absent. May reuse `cells` itself. */
  extract: (cells: string[]) => string[]
}

interface CompiledField {
  index: number
  source: number // -1: no column
  constant?: string
  convert?: (raw: string) => string
}

export function compileMapping(flow: FlowSpec, header: readonly string[], template: Template | undefined, format: 'csv' | 'xlsx' | 'ods'): Mapping {
  const byNormalized = new Map<string, number[]>()
  header.forEach((h, i) => {
    const key = normalizeHeader(h)
    if (key === '') return
    byNormalized.set(key, [...(byNormalized.get(key) ?? []), i])
  })
  const problems: HeaderProblem[] = []
  const compiled: CompiledField[] = []
  const sourceColumn: string[] = []
  const sourceIndex: number[] = []

  if (template) {
    for (const name of Object.keys(template.columns)) {
      if (!flow.fields.some((f) => f.column === name)) problems.push({code: 'TEMPLATE_UNKNOWN_FIELD', field: name, column: ''})
    }
  }

  for (const f of flow.fields) {
    const rule = template ? template.columns[f.column] : undefined
    const wanted = rule === undefined ? (template ? undefined : f.column) : typeof rule === 'string' ? rule : rule.column
    let source = -1
    if (wanted !== undefined) {
      const hits = byNormalized.get(normalizeHeader(wanted)) ?? []
      if (hits.length > 1) problems.push({code: 'HEADER_DUPLICATE', field: f.column, column: header[hits[0]]})
      if (hits.length === 0 && rule !== undefined) problems.push({code: 'TEMPLATE_COLUMN_NOT_FOUND', field: f.column, column: wanted})
      source = hits.length > 0 ? hits[0] : -1
    }
    const constant = typeof rule === 'object' && rule.value !== undefined ? String(rule.value) : undefined
    if (f.required && source < 0 && constant === undefined && !isRequiredOnlyInOptionalElement(flow, f)) {
      if (!(template && rule !== undefined)) problems.push({code: 'HEADER_MISSING_COLUMN', field: f.column, column: wanted ?? f.column})
    }
    const convert = typeof rule === 'object' ? converterFor(f, rule, format) : !template && format !== 'csv' ? typedInWorkbook(f) : undefined
    compiled.push({index: f.index, source, constant, convert})
    sourceColumn.push(source >= 0 ? header[source] : '')
    sourceIndex.push(source >= 0 ? source + 1 : 0)
  }

  const n = flow.fields.length
  const plain = compiled.every((c) => c.constant === undefined && c.convert === undefined)
  const sources = Int32Array.from(compiled.map((c) => c.source))

  // the canonical columns in canonical order, maybe without the last ones (the row's ente columns,
  // new in this version: a canonical file written before them keeps the fast path)
  let prefix = 0
  while (prefix < n && compiled[prefix].source === prefix) prefix++
  const identity = plain && compiled.every((c, k) => k < prefix || c.source < 0)
  const trimInPlace = (cells: string[]): string[] => {
    for (let k = 0; k < n; k++) {
      const raw = cells[k]
      if (raw.length > 0 && (needsTrim(raw.charCodeAt(0)) || needsTrim(raw.charCodeAt(raw.length - 1)))) cells[k] = raw.trim()
    }
    return cells
  }
  const extract = identity
    ? // the canonical file in canonical order: the cells are the record (no copy on the hot path)
      (cells: string[]): string[] => {
        if (cells.length === n && prefix === n) return trimInPlace(cells)
        // the reader's array is this row's own: cut to the canonical cells, the missing ones empty
        if (cells.length > prefix) cells.length = prefix
        while (cells.length < n) cells.push('')
        return trimInPlace(cells)
      }
    : plain
    ? // canonical headers in another order: a straight copy
      (cells: readonly string[]): string[] => {
        const out = new Array<string>(n)
        for (let k = 0; k < n; k++) {
          const s = sources[k]
          const raw = s >= 0 && s < cells.length ? cells[s] : ''
          out[k] = raw.length > 0 && (needsTrim(raw.charCodeAt(0)) || needsTrim(raw.charCodeAt(raw.length - 1))) ? raw.trim() : raw
        }
        return out
      }
    : (cells: readonly string[]): string[] => {
        const out = new Array<string>(n)
        for (const c of compiled) {
          let raw = c.constant ?? (c.source >= 0 && c.source < cells.length ? cells[c.source].trim() : '')
          if (c.convert && raw !== '') raw = c.convert(raw)
          out[c.index] = raw
        }
        return out
      }

  return {sourceColumn, sourceIndex, problems, extract}
}

/** Spaces String.trim() removes, checked cheaply: ASCII blanks, no-break space, BOM, Unicode spaces. */
function needsTrim(c: number): boolean {
  return c <= 32 || c === 0xa0 || c === 0xfeff || (c >= 0x2000 && c <= 0x200a) || c === 0x3000 || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x1680
}

/** SINA's required attributes are required only when a SINA block is sent. */
function isRequiredOnlyInOptionalElement(flow: FlowSpec, f: FieldSpec): boolean {
  return optionalElementOf(flow, f) !== undefined
}

function converterFor(f: FieldSpec, rule: Exclude<ColumnRule, string>, format: 'csv' | 'xlsx' | 'ods'): ((raw: string) => string) | undefined {
  const steps: ((raw: string) => string)[] = []
  if (rule.map) {
    const table = new Map(Object.entries(rule.map).map(([k, v]) => [k.trim().toLowerCase(), String(v)]))
    steps.push((raw) => table.get(raw.toLowerCase()) ?? raw)
  }
  if (rule.date) {
    steps.push(dateConverter(rule.date))
    // a month/year field (SINBA) from a full date: keep month and year
    if (f.type.kind === 'monthYear') steps.push((raw) => (/^\d{4}-\d{2}-\d{2}$/.test(raw) ? `${raw.slice(5, 7)}/${raw.slice(0, 4)}` : raw))
  }
  if (rule.decimal === 'it') steps.push(format === 'csv' ? italianDecimal : workbookItalianDecimal)
  if (steps.length === 0) return undefined
  return (raw) => steps.reduce((v, step) => step(v), raw)
}

/**
 * A canonical workbook (the one `template init` writes) is filled by people: a date typed
 * gg/mm/aaaa or an amount typed 1.234,56 in a cell the sheet kept as text is read the way an
 * Italian meant it, where that is unambiguous. A canonical CSV keeps the strict contract.
 */
function typedInWorkbook(f: FieldSpec): ((raw: string) => string) | undefined {
  if (f.list) return undefined
  switch (f.type.kind) {
    case 'date':
      return dateConverter('dd/MM/yyyy')
    case 'monthYear':
      // 03/2026 typed in a date cell comes back as 2026-03-01
      return (raw) => (/^\d{4}-\d{2}-\d{2}$/.test(raw) ? `${raw.slice(5, 7)}/${raw.slice(0, 4)}` : raw)
    case 'decimal':
      // only a comma makes it Italian: a number cell like 229.125 must never read as thousands
      return f.type.hoursMinutes ? (raw) => (/^\d+,\d{1,2}$/.test(raw) ? raw.replace(',', '.') : raw) : (raw) => (raw.includes(',') ? italianDecimal(raw) : raw)
    default:
      return undefined
  }
}

/**
 * In a workbook a number cell arrives as plain decimal text (1500, 1234.5) and must stay as it is;
 * a text cell typed the Italian way (1.500, 1.234,56) is converted. Grouped thousands without a
 * comma are read as Italian: amounts and hours never have three decimals.
 */
function workbookItalianDecimal(raw: string): string {
  return raw.includes(',') || /^[+-]?\d{1,3}(\.\d{3})+$/.test(raw) ? italianDecimal(raw) : raw
}

/** 1.234,56 → 1234.56; anything else is left as it is, for the validator to report. */
export function italianDecimal(raw: string): string {
  const m = /^([+-]?)(\d{1,3}(?:\.\d{3})+|\d+)(?:,(\d+))?$/.exec(raw)
  if (!m) return raw
  return `${m[1]}${m[2].replaceAll('.', '')}${m[3] === undefined ? '' : `.${m[3]}`}`
}

/**
 * A date in the template's pattern (day/month/year order and separators from e.g. `dd/MM/yyyy`;
 * one-digit days and months accepted, as Excel writes them) → YYYY-MM-DD. ISO dates (what
 * XLSX/ODS date cells become) pass through. Unparseable text is left for the validator.
 */
export function dateConverter(pattern: string): (raw: string) => string {
  const order = [...pattern.replace(/[^dMy]/g, '').replace(/(.)\1+/g, '$1')]
  if (order.length !== 3 || new Set(order).size !== 3) {
    throw new UsageError('TEMPLATE_INVALID', {it: `Formato data non valido nel modello: ${pattern} (es. dd/MM/yyyy)`, en: `Invalid date format in the template: ${pattern} (e.g. dd/MM/yyyy)`})
  }
  const twoDigitYear = !/yyy/.test(pattern)
  return (raw) => {
    if (/^\d{4}-\d{2}-\d{2}$/.test(raw)) return raw
    const parts = raw.split(/[^0-9]+/).filter((p) => p !== '')
    // a time part after the date (e.g. "01/02/2024 00:00:00") is ignored
    if (parts.length < 3) return raw
    const at = (c: string): string => parts[order.indexOf(c)]
    let year = at('y')
    if (twoDigitYear && year.length === 2) year = (Number(year) > 50 ? '19' : '20') + year
    const month = at('M')
    const day = at('d')
    if (year.length !== 4 || month.length > 2 || day.length > 2) return raw
    return `${year}-${month.padStart(2, '0')}-${day.padStart(2, '0')}`
  }
}
