import {isIsoNumericCountry} from '../tables/index.js'
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
