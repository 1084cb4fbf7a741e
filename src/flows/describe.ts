import type {FieldSpec, FlowSpec, ValueType} from './model.js'

/** Human descriptions of the record model: for `template show`, the XLSX instructions and the README. */
export interface FieldDescription {
  column: string
  xml: string
  required: boolean
  format: string
  values?: Record<string, string>
  description: string
}

export function formatOf(type: ValueType): string {
  switch (type.kind) {
    case 'text':
      return type.min ? `testo ${type.min}–${type.max}` : `testo ≤ ${type.max}`
    case 'digits':
      return `${type.length} cifre`
    case 'enum':
      return `codice: ${Object.keys(type.values).join(', ')}`
    case 'date':
      return 'data AAAA-MM-GG'
    case 'monthYear':
      return 'mese MM/AAAA'
    case 'year':
      return 'anno AAAA'
    case 'decimal':
      return type.hoursMinutes ? 'ore HH.MM' : type.sign === 'positive' ? 'importo > 0' : type.sign === 'nonNegative' ? 'importo ≥ 0' : 'numero'
    case 'int':
      return `intero ${type.min}–${type.max}`
    case 'codiceFiscale':
      return 'codice fiscale'
    case 'belfiore':
      return 'codice Belfiore'
  }
}

export function describeField(f: FieldSpec): FieldDescription {
  return {
    column: f.column,
    xml: f.xml,
    required: f.required,
    format: (f.list ? 'lista con | di ' : '') + formatOf(f.type),
    ...(f.type.kind === 'enum' ? {values: f.type.values} : {}),
    description: f.label,
  }
}

export function describeFields(flow: FlowSpec): FieldDescription[] {
  return flow.fields.map(describeField)
}
