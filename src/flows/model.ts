import type {Lang} from '../i18n/messages.js'

/**
 * The record model, described as data. A flow (`ps`, `sinba`) is a tree of XML elements whose
 * attributes are canonical spreadsheet columns. Validation, template headers, XML writing and
 * the README's field table are all derived from this one description.
 */

export type ValueType =
  /** free text with length bounds (XSD minLength/maxLength) */
  | {kind: 'text'; min?: number; max: number}
  /** exactly `length` digits, e.g. ISTAT codes, years */
  | {kind: 'digits'; length: number}
  /** a code from a closed list; values are the official codes with their Italian labels */
  | {kind: 'enum'; values: Readonly<Record<string, string>>}
  /** a four-digit year, plausible (1900 … next year) */
  | {kind: 'year'}
  /** xs:date, canonical YYYY-MM-DD */
  | {kind: 'date'}
  /** SINBA month/year, canonical MM/YYYY */
  | {kind: 'monthYear'}
  /** xs:decimal; `positive` when the spec says "maggiore di 0", `nonNegative` for "maggiore o uguale a 0" */
  | {kind: 'decimal'; sign?: 'positive' | 'nonNegative'; hoursMinutes?: boolean}
  /** xs:int within bounds */
  | {kind: 'int'; min: number; max: number}
  /** codice fiscale: 16 characters or 11 digits (official XSD pattern) */
  | {kind: 'codiceFiscale'}
  /** Belfiore/catastale code: 4 characters */
  | {kind: 'belfiore'}

export interface FieldSpec {
  /** canonical column header in the spreadsheet */
  column: string
  /** attribute name in the XML, or the repeated child element for a list */
  xml: string
  type: ValueType
  /** required whenever its element is written */
  required: boolean
  /** several values in one cell, separated by `|`, written as repeated child elements */
  list?: {wrapper: string}
  /**
   * What the field holds, in Italian and English (shown in templates, `template show`, the
   * interactive mapping; the README prints the Italian one)
   */
  label: Readonly<Record<Lang, string>>
  /** a code: compared and sent in upper case (a2.07 → A2.07) */
  upper?: boolean
  /** position in a record's value array (set by defineFlow) */
  index: number
}

export interface ElementSpec {
  name: string
  /** attributes in the order the XSD lists them */
  attributes: FieldSpec[]
  /** list fields written as <wrapper><item>v</item>…</wrapper>, in XSD order */
  lists: FieldSpec[]
  children: ElementSpec[]
  /** an optional element is written only when one of its fields has a value */
  optional: boolean
}

export type Severity = 'error' | 'warning'

/** What a semantic rule reports; `field` names the column the user should look at. */
export interface RuleFinding {
  field: string
  code: string
  params?: Record<string, string | number>
}

export interface RuleContext {
  /** the reference year for plausibility checks (the current year) */
  readonly currentYear: number
  /** 0-based current month, for month/year dates that must not be in the future */
  readonly currentMonth?: number
}

export interface Rule {
  code: string
  severity: Severity
  /** Italian one-line description for the README */
  description: string
  /**
   * Returns the findings for one record (values indexed by FieldSpec.index; '' = absent). Values
   * that failed their schema check arrive as '' and their indexes are in `invalid`.
   */
  check: (values: readonly string[], ctx: RuleContext, invalid?: ReadonlySet<number>) => RuleFinding | RuleFinding[] | undefined
}

export interface FlowSpec {
  id: 'ps' | 'sinba'
  /** the flow's code in IdentificazioneFlusso/@Nome and WaaS `tipo` */
  nameCode: 'PS' | 'SINBA'
  waasTipo: 'PS_PSA_SINA' | 'SINBA'
  xsdFile: string
  /** the element written once per group of rows (Beneficiario) and the column that keys it */
  group: ElementSpec
  groupKey: FieldSpec
  /**
   * the element written once per row inside the group (PrestazioniSociali); absent when each
   * row is a group of its own (SINBA: one element per minor, and a repeated key is a mistake)
   */
  record?: ElementSpec
  /** every field in canonical column order (the row's ente columns last) */
  fields: FieldSpec[]
  /**
   * The row's ente (DESIGN §9): optional columns Ente_Codice, Ente_Belfiore, Ente_Denominazione, in
   * no element of the record (they become the flusso's IdentificazioneFlusso/Ente), so that one
   * export for a whole Ambito becomes flussi per ente. Empty: the ente of flags/env/config.
   */
  ente: RowEnteFields
  /** fields that belong to the group: rows with the same key must agree on them */
  groupFields: FieldSpec[]
  rules: Rule[]
  field: (column: string) => FieldSpec
  /** how repeated exports are compared with what INPS already has (DESIGN §9) */
  delta: DeltaSpec
  /** DESIGN §5 "Multi-year services": a record whose period crosses 31 December becomes one per year */
  yearSplit?: YearSplitSpec
  /**
   * A child element of the group that may differ between a group's rows, repeated up to `max`
   * times (a beneficiary's several Indirizzo): its fields are not part of the group's consistency.
   */
  groupVariant?: {element: ElementSpec; fields: FieldSpec[]; max: number}
}

export interface RowEnteFields {
  codice: FieldSpec
  belfiore: FieldSpec
  denominazione: FieldSpec
}

/** The canonical columns of a row's ente, after every flow's own columns. */
export const ENTE_COLUMNS = {
  codice: {...field('Ente_Codice', {kind: 'text', min: 1, max: 20}, false, {it: "Codice dell'ente della riga (un export per più enti); vuoto: l'ente configurato", en: "Code of the row's ente (one export for several enti); empty: the configured ente"}, 'Ente/@Codice'), upper: true},
  belfiore: field('Ente_Belfiore', {kind: 'belfiore'}, false, {it: "Codice Belfiore del comune sede dell'ente della riga (con Ente_Codice)", en: "Belfiore code of the comune where the row's ente has its seat (with Ente_Codice)"}, 'Ente/@Indirizzo'),
  denominazione: field('Ente_Denominazione', {kind: 'text', min: 1, max: 100}, false, {it: "Denominazione dell'ente della riga", en: "Name of the row's ente"}, 'Ente/@Denominazione'),
} as const

/**
 * Which records are split per calendar year and which fields carry the period: a record with
 * `when` set to `is` and start and end in different years becomes one record per year
 * (start = max(start, 1 Jan), end = min(end, 31 Dec), `months` = the months of that year when given).
 */
export interface YearSplitSpec {
  when: FieldSpec
  is: string
  start: FieldSpec
  end: FieldSpec
  months: FieldSpec
}

/**
 * What makes two records the same prestazione (identity), which year it belongs to (period, for
 * `--cancel-missing`), and the field that turns an insertion into a cancellation, if the flow has one.
 */
export interface DeltaSpec {
  identity: FieldSpec[]
  period: FieldSpec[]
  operation?: FieldSpec
}

type FieldInit = Omit<FieldSpec, 'index'>
export interface ElementInit {
  name: string
  attributes?: FieldInit[]
  lists?: FieldInit[]
  children?: ElementInit[]
  optional?: boolean
}

export function field(column: string, type: ValueType, required: boolean, label: Readonly<Record<Lang, string>>, xml = column): FieldInit {
  return {column, xml, type, required, label}
}

/**
 * Builds a FlowSpec: numbers the fields in `columnOrder` (the canonical template order) and
 * checks that every field of the element tree appears there exactly once.
 */
export function defineFlow(init: {
  id: FlowSpec['id']
  nameCode: FlowSpec['nameCode']
  waasTipo: FlowSpec['waasTipo']
  xsdFile: string
  group: ElementInit
  groupKey: string
  /** the element repeated inside the group for each row; omitted when a row is a whole group */
  record?: ElementInit
  columnOrder: string[]
  rules: (flow: Omit<FlowSpec, 'rules' | 'delta' | 'yearSplit' | 'groupVariant'>) => Rule[]
  delta: {identity: string[]; period?: string[]; operation?: string}
  yearSplit?: {when: string; is: string; start: string; end: string; months: string}
  groupVariant?: {element: string; max: number}
}): FlowSpec {
  const all: FieldSpec[] = []
  const build = (e: ElementInit): ElementSpec => {
    const make = (f: FieldInit): FieldSpec => {
      // every field with the same shape (optional properties present, in one order): the hot
      // loops read fields of all kinds at the same sites, which stay fast only while monomorphic
      const spec: FieldSpec = {column: f.column, xml: f.xml, type: f.type, required: f.required, list: f.list, label: f.label, upper: f.upper, index: -1}
      all.push(spec)
      return spec
    }
    return {
      name: e.name,
      attributes: (e.attributes ?? []).map(make),
      lists: (e.lists ?? []).map(make),
      children: (e.children ?? []).map(build),
      optional: e.optional ?? false,
    }
  }
  const group = build(init.group)
  const groupFields = [...all]
  const record = init.record ? build(init.record) : undefined
  const byColumn = new Map(all.map((f) => [f.column, f]))
  if (byColumn.size !== all.length || init.columnOrder.length !== all.length) {
    throw new Error(`flow ${init.id}: columnOrder and element tree disagree`)
  }
  const fields = init.columnOrder.map((column, index) => {
    const f = byColumn.get(column)
    if (!f) throw new Error(`flow ${init.id}: unknown column ${column}`)
    f.index = index
    return f
  })
  // the row's ente: columns of every flow, in no element (same shape as the others: see make)
  const enteField = (f: FieldInit): FieldSpec => {
    const spec: FieldSpec = {column: f.column, xml: f.xml, type: f.type, required: f.required, list: f.list, label: f.label, upper: f.upper, index: fields.length}
    fields.push(spec)
    byColumn.set(spec.column, spec)
    return spec
  }
  const ente: RowEnteFields = {codice: enteField(ENTE_COLUMNS.codice), belfiore: enteField(ENTE_COLUMNS.belfiore), denominazione: enteField(ENTE_COLUMNS.denominazione)}
  const fieldOf = (column: string): FieldSpec => {
    const f = byColumn.get(column)
    if (!f) throw new Error(`flow ${init.id}: no field ${column}`)
    return f
  }
  const base = {
    id: init.id,
    nameCode: init.nameCode,
    waasTipo: init.waasTipo,
    xsdFile: init.xsdFile,
    group,
    groupKey: fieldOf(init.groupKey),
    record,
    fields,
    ente,
    groupFields,
    field: fieldOf,
  }
  const delta: DeltaSpec = {
    identity: init.delta.identity.map(fieldOf),
    period: (init.delta.period ?? []).map(fieldOf),
    operation: init.delta.operation ? fieldOf(init.delta.operation) : undefined,
  }
  const split = init.yearSplit
  const yearSplit: YearSplitSpec | undefined = split
    ? {when: fieldOf(split.when), is: split.is, start: fieldOf(split.start), end: fieldOf(split.end), months: fieldOf(split.months)}
    : undefined
  const variantElement = init.groupVariant && group.children.find((c) => c.name === init.groupVariant!.element)
  if (init.groupVariant && !variantElement) throw new Error(`flow ${init.id}: no group element ${init.groupVariant.element}`)
  const groupVariant = variantElement ? {element: variantElement, fields: variantElement.attributes, max: init.groupVariant!.max} : undefined
  return {...base, rules: init.rules(base), delta, yearSplit, groupVariant}
}

/** Every element of a subtree, depth first. */
export function elementsOf(e: ElementSpec): ElementSpec[] {
  return [e, ...e.children.flatMap(elementsOf)]
}
