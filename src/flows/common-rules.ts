import {isIsoNumericCountry, nomenclatoreVersion, prestazioneByCode} from '../tables/index.js'
import type {FlowSpec, Rule, RuleFinding} from './model.js'

/** Rule pieces shared by the flows. */

/** INPS's code for "non disponibile" (spec table 6); not an ISO 3166 code. */
export const NON_DISPONIBILE = '990'
export const ITALIA = '380'

type Flow = Omit<FlowSpec, 'rules' | 'delta'>

/** A finding for each of `columns` that is empty; undefined when none is (no allocation on the common path). */
export function missingFields(flow: Flow, code: string, columns: string[]): (v: readonly string[]) => RuleFinding[] | undefined {
  const fields = columns.map((c) => [flow.field(c).index, c] as const)
  return (v) => {
    let out: RuleFinding[] | undefined
    for (const [index, name] of fields) if (v[index] === '') (out ??= []).push({field: name, code})
    return out
  }
}

/** Citizenship and country codes are ISO 3166-1 numeric, or 990 "non disponibile". */
export function isoCountryRule(flow: Flow, columns: string[]): Rule {
  const fields = columns.map((c) => [flow.field(c).index, c] as const)
  return {
    code: 'CITIZENSHIP_NOT_ISO',
    severity: 'error',
    description: 'Cittadinanza e nazione devono essere codici ISO 3166-1 numerici (380 Italia) o 990 (non disponibile)',
    check: (v) => {
      let out: RuleFinding[] | undefined
      for (const [index, name] of fields) {
        const code = v[index]
        if (code !== '' && code !== NON_DISPONIBILE && code !== ITALIA && !isIsoNumericCountry(code)) {
          ;(out ??= []).push({field: name, code: 'CITIZENSHIP_NOT_ISO', params: {valore: code}})
        }
      }
      return out
    },
  }
}

// Lookups repeated on every row, memoised (bounded: a file has few distinct codes).
const prestazioneMemo = new Map<string, boolean>()
let memoVersion = nomenclatoreVersion()
export function isKnownPrestazione(code: string): boolean {
  // the user's nomenclatore may change between runs in one process (tests, a long-lived service)
  if (memoVersion !== nomenclatoreVersion()) {
    prestazioneMemo.clear()
    memoVersion = nomenclatoreVersion()
  }
  let known = prestazioneMemo.get(code)
  if (known === undefined) {
    known = prestazioneByCode(code) !== undefined
    if (prestazioneMemo.size < 10_000) prestazioneMemo.set(code, known)
  }
  return known
}

/** The first code of a `|`-separated list that the nomenclatore does not know ('' when all are known). */
export function unknownInList(list: string): string {
  if (list === '') return ''
  for (const code of list.split('|')) if (code !== '' && !isKnownPrestazione(code)) return code
  return ''
}

/** Two YYYY-MM-DD dates in the same year (compared in place: no substrings on the hot path). */
export function sameYear(a: string, b: string): boolean {
  return a.charCodeAt(0) === b.charCodeAt(0) && a.charCodeAt(1) === b.charCodeAt(1) && a.charCodeAt(2) === b.charCodeAt(2) && a.charCodeAt(3) === b.charCodeAt(3)
}
