import type {Lang} from '../i18n/messages.js'
import type {ElementSpec, FieldSpec, FlowSpec, ValueType} from './model.js'

/** Human descriptions of the record model: for `template show`, the XLSX instructions and the README. */
export interface FieldDescription {
  column: string
  xml: string
  required: boolean
  format: string
  values?: Record<string, string>
  description: string
}

/** A value type in words; Italian unless asked (the README is generated in Italian). */
export function formatOf(type: ValueType, language: Lang = 'it'): string {
  const en = language === 'en'
  switch (type.kind) {
    case 'text':
      return type.min ? `${en ? 'text' : 'testo'} ${type.min}–${type.max}` : `${en ? 'text' : 'testo'} ≤ ${type.max}`
    case 'digits':
      return `${type.length} ${en ? 'digits' : 'cifre'}`
    case 'enum':
      return `${en ? 'code' : 'codice'}: ${Object.keys(type.values).join(', ')}`
    case 'date':
      return en ? 'date YYYY-MM-DD' : 'data AAAA-MM-GG'
    case 'monthYear':
      return en ? 'month MM/YYYY' : 'mese MM/AAAA'
    case 'year':
      return en ? 'year YYYY' : 'anno AAAA'
    case 'decimal':
      if (type.hoursMinutes) return en ? 'hours HH.MM' : 'ore HH.MM'
      if (type.sign === 'positive') return en ? 'amount > 0' : 'importo > 0'
      if (type.sign === 'nonNegative') return en ? 'amount ≥ 0' : 'importo ≥ 0'
      return en ? 'number' : 'numero'
    case 'int':
      return `${en ? 'whole number' : 'intero'} ${type.min}–${type.max}`
    case 'codiceFiscale':
      return 'codice fiscale'
    case 'belfiore':
      return en ? 'Belfiore code' : 'codice Belfiore'
  }
}

export function describeField(f: FieldSpec, language: Lang = 'it'): FieldDescription {
  return {
    column: f.column,
    xml: f.xml,
    required: f.required,
    format: (f.list ? (language === 'en' ? 'list separated by | of ' : 'lista con | di ') : '') + formatOf(f.type, language),
    ...(f.type.kind === 'enum' ? {values: f.type.values} : {}),
    description: f.label[language],
  }
}

export function describeFields(flow: FlowSpec, language: Lang = 'it'): FieldDescription[] {
  return flow.fields.map((f) => describeField(f, language))
}

/**
 * The outermost optional element (e.g. SINA) that holds a field: its required fields are
 * required only when the element is written, i.e. when one of its fields has a value.
 */
export function optionalElementOf(flow: FlowSpec, f: FieldSpec): ElementSpec | undefined {
  const walk = (e: ElementSpec, optional: ElementSpec | undefined): ElementSpec | undefined | null => {
    const here = optional ?? (e.optional ? e : undefined)
    if (e.attributes.includes(f) || e.lists.includes(f)) return here ?? null
    for (const child of e.children) {
      const found = walk(child, here)
      if (found !== undefined) return found
    }
    return undefined
  }
  return (flow.record ? walk(flow.record, undefined) : undefined) ?? walk(flow.group, undefined) ?? undefined
}

/** Codes that come from the model and the readers rather than from a flow's rules. */
export const GENERIC_CODES: Record<string, {severity: 'error' | 'warning' | 'notice'; description: string}> = {
  FILE_EMPTY: {severity: 'error', description: 'Il file è vuoto'},
  FILE_BINARY: {severity: 'error', description: 'Il file non è testo CSV'},
  FILE_UNREADABLE: {severity: 'error', description: 'XLSX/ODS danneggiato, troncato o di un altro formato (anche .xls 97-2003)'},
  ZIP_BOMB: {severity: 'error', description: 'XLSX/ODS che si decomprime in modo abnorme (oltre 100 volte la sua dimensione): rifiutato subito'},
  FILE_TOO_LARGE: {severity: 'error', description: 'XLSX/ODS con una parte oltre i limiti di lettura (foglio oltre 4 GiB decompresso, stringhe condivise oltre 160 MiB)'},
  SHEET_NOT_FOUND: {severity: 'error', description: 'Il foglio indicato con --sheet non esiste'},
  ROW_TOO_LONG: {severity: 'error', description: 'Riga oltre 1 MiB: ignorata (di solito virgolette non chiuse)'},
  UNTERMINATED_QUOTE: {severity: 'error', description: 'Virgolette aperte e mai chiuse: riga letta con le virgolette alla lettera'},
  INVALID_CHARACTER: {severity: 'error', description: 'Byte nulli o codifica errata in una cella'},
  ROW_EXTRA_CELLS: {severity: 'error', description: "Più celle piene dell'intestazione: dati spostati di colonna"},
  ROW_MISSING_CELLS: {severity: 'warning', description: "Meno celle dell'intestazione: le mancanti sono lette come vuote"},
  HEADER_MISSING_COLUMN: {severity: 'error', description: 'Manca una colonna obbligatoria (nessuna riga viene letta)'},
  HEADER_DUPLICATE: {severity: 'error', description: 'La stessa colonna compare due volte'},
  TEMPLATE_UNKNOWN_FIELD: {severity: 'error', description: 'Il modello cita un campo che il tracciato non ha'},
  TEMPLATE_COLUMN_NOT_FOUND: {severity: 'error', description: 'Il modello cita una colonna che il file non ha'},
  REQUIRED: {severity: 'error', description: 'Campo obbligatorio mancante (per SINA: se il blocco SINA è compilato)'},
  TOO_SHORT: {severity: 'error', description: 'Testo più corto del minimo dello schema'},
  TOO_LONG: {severity: 'error', description: 'Testo più lungo del massimo dello schema'},
  CONTROL_CHARACTER: {severity: 'error', description: 'Caratteri di controllo che un XML non può contenere'},
  NOT_DIGITS: {severity: 'error', description: 'Codice numerico di lunghezza fissa errato (es. zeri iniziali persi)'},
  NOT_IN_LIST: {severity: 'error', description: 'Valore fuori dalla lista dei codici ammessi'},
  INVALID_DATE: {severity: 'error', description: 'Data non nel formato AAAA-MM-GG o inesistente'},
  DATE_IMPLAUSIBLE: {severity: 'error', description: "Anno fuori dall'intervallo 1900 – anno prossimo"},
  INVALID_YEAR: {severity: 'error', description: 'Anno non di quattro cifre'},
  INVALID_MONTH_YEAR: {severity: 'error', description: 'Mese/anno non nel formato MM/AAAA'},
  INVALID_DECIMAL: {severity: 'error', description: 'Numero non valido (decimali con il punto)'},
  NOT_POSITIVE: {severity: 'error', description: 'Importo che deve essere maggiore di 0'},
  NEGATIVE: {severity: 'error', description: 'Valore negativo'},
  INVALID_INTEGER: {severity: 'error', description: "Intero fuori dall'intervallo ammesso"},
  HOURS_MINUTES: {severity: 'error', description: 'Ore di servizio: minuti non di due cifre minori di 60'},
  ENTE_CODE_INVALID: {severity: 'error', description: 'Ente_Codice non di sole lettere e cifre (al più 20; le minuscole diventano maiuscole)'},
  ENTE_BELFIORE_UNKNOWN: {severity: 'error', description: 'Ente_Belfiore non è il codice di un comune italiano'},
  ENTE_ROW_INCOMPLETE: {severity: 'error', description: 'Una riga con le colonne dell’ente senza Ente_Codice o senza Ente_Belfiore'},
  CF_MALFORMED: {severity: 'error', description: 'Codice fiscale non nel formato a 16 caratteri o 11 cifre'},
  BELFIORE_MALFORMED: {severity: 'error', description: 'Codice Belfiore non nel formato lettera + 3 cifre'},
  DUPLICATE_KEY: {severity: 'error', description: 'SINBA: lo stesso IDBeneficiario in due righe'},
  BENEFICIARY_INCONSISTENT: {severity: 'error', description: 'Righe dello stesso codice fiscale con dati anagrafici diversi dalla prima (indirizzi diversi invece sono ammessi: un elemento Indirizzo ciascuno)'},
  TOO_MANY_ADDRESSES: {severity: 'error', description: 'Righe dello stesso codice fiscale con più di 5 indirizzi diversi: lo schema INPS ne ammette al più 5 per beneficiario'},
  DUPLICATE_IN_EXPORT: {severity: 'error', description: '`submit`: la stessa prestazione due volte nello stesso export'},
  CANCEL_NOT_ACCEPTED: {severity: 'error', description: '`submit`/`cancel`: cancellazione di una prestazione mai accettata da INPS'},
  PREVIOUS_AWAITING_ESITO: {severity: 'warning', description: '`submit`: prestazione cambiata la cui versione precedente attende l’esito (riparte al prossimo invio)'},
  IMPORT_NOT_A_FLUSSO: {severity: 'error', description: '`import`: il file non è un XML, uno zip né una busta firmata .p7m (file rifiutato)'},
  IMPORT_SIGNATURE_INVALID: {severity: 'error', description: '`import`: la firma del .p7m non corrisponde al contenuto (file rifiutato)'},
  IMPORT_NOT_CONFORMING: {severity: 'error', description: '`import`: flusso che non supera i controlli dello schema (struttura, nome, ente, sintassi dei valori): rifiutato'},
  IMPORT_CONFLICT: {severity: 'error', description: '`import`: lo store ha già un flusso con lo stesso nome e un contenuto diverso (rifiutato)'},
  SPLIT_BY_YEAR: {severity: 'notice', description: 'Prestazione periodica a cavallo del 31 dicembre: inviata come una prestazione per anno (`splits` nel JSON)'},
  PURGED_NOT_CANCELLABLE: {severity: 'error', description: '`submit`/`cancel`: modifica o cancellazione di una prestazione ridotta da `purge` (si cancella dal portale INPS)'},
}

/** The README's field table for a flow (Markdown). */
export function fieldsTable(flow: FlowSpec): string {
  const lines = ['| colonna | XML | obbligatoria | formato | descrizione |', '|---|---|---|---|---|']
  for (const f of describeFields(flow)) {
    const values = f.values ? ` (${Object.entries(f.values).map(([k, v]) => `${k} ${v}`).join('; ')})` : ''
    lines.push(`| \`${f.column}\` | ${f.xml} | ${f.required ? 'sì' : 'no'} | ${f.format} | ${f.description}${values} |`)
  }
  return lines.join('\n')
}

const SEVERITY_WORD = {error: 'errore', warning: 'avviso', notice: 'nota'} as const

/** The README's table of finding codes (Markdown). */
export function codesTable(flows: FlowSpec[]): string {
  const lines = ['| codice | gravità | significato |', '|---|---|---|']
  for (const [code, c] of Object.entries(GENERIC_CODES)) lines.push(`| \`${code}\` | ${SEVERITY_WORD[c.severity]} | ${c.description} |`)
  for (const flow of flows) {
    for (const rule of flow.rules) lines.push(`| \`${rule.code}\` | ${rule.severity === 'error' ? 'errore' : 'avviso'} | ${rule.description} (${flow.id}) |`)
  }
  return lines.join('\n')
}

/** Replaces the text between `<!-- name:start -->` and `<!-- name:end -->`. */
export function replaceSection(text: string, name: string, content: string): string {
  const start = `<!-- ${name}:start -->`
  const end = `<!-- ${name}:end -->`
  const a = text.indexOf(start)
  const b = text.indexOf(end)
  if (a < 0 || b < a) throw new Error(`README has no section ${name}`)
  return `${text.slice(0, a + start.length)}\n${content}\n${text.slice(b)}`
}
