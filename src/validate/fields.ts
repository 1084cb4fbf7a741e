import type {FieldSpec, ValueType} from '../flows/model.js'
import {analyzeCodiceFiscale} from '../flows/codice-fiscale.js'

/**
 * Schema rules derived from the model: what the official XSD says about one value (type,
 * length, pattern, code list), plus calendar and plausibility checks the XSD cannot express.
 */

export interface ValueProblem {
  code: string
  params?: Record<string, string | number>
}

export type ValueCheck = (value: string) => ValueProblem | undefined

export const MIN_YEAR = 1900

const ITALIAN_DATE = /^\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}$/
const MONTH_YEAR = /^(\d{2})\/(\d{4})$/
const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)$/
const INTEGER = /^[+-]?\d+$/
const BELFIORE = /^[A-Za-z]\d{3}$/
/** characters XML 1.0 cannot carry at all, even escaped (tab, LF, CR are fine) */
const XML_FORBIDDEN = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

/** A cheap first look for control characters, surrogates and U+FFFE/FFFF (no regex on the hot path). */
function hasSuspectCharacter(v: string): boolean {
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i)
    if (c < 32 || (c >= 0xd800 && c <= 0xdfff) || c >= 0xfffe) return true
  }
  return false
}

/** The number written by v[from..to) if it is all ASCII digits, else -1 (no regex on the hot path). */
export function digitsValue(v: string, from: number, to: number): number {
  let n = 0
  for (let i = from; i < to; i++) {
    const d = v.charCodeAt(i) - 48
    if (d < 0 || d > 9) return -1
    n = n * 10 + d
  }
  return n
}

/** YYYY-MM-DD of a real calendar day → yyyymmdd as a number; anything else → -1. */
export function parseIsoDate(v: string): number {
  if (v.length !== 10 || v.charCodeAt(4) !== 45 || v.charCodeAt(7) !== 45) return -1
  const y = digitsValue(v, 0, 4)
  const m = digitsValue(v, 5, 7)
  const d = digitsValue(v, 8, 10)
  if (y < 0 || m < 0 || d < 0 || !isRealDate(y, m, d)) return -1
  return y * 10000 + m * 100 + d
}

export function isRealDate(year: number, month: number, day: number): boolean {
  if (month < 1 || month > 12 || day < 1) return false
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0
  return day <= (month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1])
}

/** One check function per field, compiled once from its type. */
export function compileValueCheck(field: FieldSpec, currentYear: number): ValueCheck {
  return compileType(field.type, currentYear)
}

function compileType(type: ValueType, currentYear: number): ValueCheck {
  const maxYear = currentYear + 1
  const plausible = (year: number): ValueProblem | undefined =>
    year < MIN_YEAR || year > maxYear ? {code: 'DATE_IMPLAUSIBLE', params: {anno: year, min: MIN_YEAR, max: maxYear}} : undefined
  switch (type.kind) {
    case 'text': {
      const {min = 0, max} = type
      return (v): ValueProblem | undefined => {
        if (hasSuspectCharacter(v) && XML_FORBIDDEN.test(v)) return {code: 'CONTROL_CHARACTER'}
        // XSD lengths count characters, not UTF-16 units
        const length = v.length > max || v.length < min ? [...v].length : v.length
        if (length > max) return {code: 'TOO_LONG', params: {max, length}}
        if (length < min) return {code: 'TOO_SHORT', params: {min, length}}
      }
    }
    case 'digits': {
      return (v) => {
        if (v.length !== type.length || digitsValue(v, 0, v.length) < 0) {
          const hint = /^\d+$/.test(v) && v.length < type.length ? 'leading-zeros' : ''
          return {code: 'NOT_DIGITS', params: {length: type.length, valore: v, hint}}
        }
      }
    }
    case 'enum': {
      const allowed = Object.keys(type.values)
      const set = new Set(allowed)
      const list = allowed.join(', ')
      // most codes are one ASCII character: looked up by character code, without hashing the value
      const single = new Uint8Array(128)
      for (const code of allowed) if (code.length === 1 && code.charCodeAt(0) < 128) single[code.charCodeAt(0)] = 1
      return (v) => {
        const known = v.length === 1 ? v.charCodeAt(0) < 128 && single[v.charCodeAt(0)] === 1 : set.has(v)
        return known ? undefined : {code: 'NOT_IN_LIST', params: {valore: v, allowed: list}}
      }
    }
    case 'date':
      return (v) => {
        const ymd = parseIsoDate(v)
        if (ymd < 0) return {code: 'INVALID_DATE', params: {valore: v, hint: ITALIAN_DATE.test(v) ? 'template' : ''}}
        return plausible(Math.floor(ymd / 10000))
      }
    case 'monthYear':
      return (v) => {
        const m = MONTH_YEAR.exec(v)
        if (!m || Number(m[1]) < 1 || Number(m[1]) > 12) return {code: 'INVALID_MONTH_YEAR', params: {valore: v}}
        return plausible(Number(m[2]))
      }
    case 'year':
      return (v) => {
        const year = v.length === 4 ? digitsValue(v, 0, 4) : -1
        if (year < 0) return {code: 'INVALID_YEAR', params: {valore: v}}
        return plausible(year)
      }
    case 'decimal':
      return (v) => {
        if (!DECIMAL.test(v)) return {code: 'INVALID_DECIMAL', params: {valore: v, hint: /^[+-]?[\d.]*,\d+$/.test(v) ? 'comma' : ''}}
        const n = Number(v)
        if (type.sign === 'positive' && !(n > 0)) return {code: 'NOT_POSITIVE'}
        if (type.sign === 'nonNegative' && n < 0) return {code: 'NEGATIVE'}
        if (type.hoursMinutes) {
          const dot = v.indexOf('.')
          const minutes = dot < 0 ? '' : v.slice(dot + 1)
          if (minutes.length > 2 || (minutes.length > 0 && Number(minutes.padEnd(2, '0')) >= 60)) return {code: 'HOURS_MINUTES'}
        }
      }
    case 'int':
      return (v) => {
        const n = Number(v)
        if (!INTEGER.test(v) || n < type.min || n > type.max) return {code: 'INVALID_INTEGER', params: {valore: v, min: type.min, max: type.max}}
      }
    case 'codiceFiscale':
      return (v) => {
        const cf = analyzeCodiceFiscale(v)
        if (cf.kind === 'malformed' || (cf.kind === 'personal' && (cf.month === 0 || cf.day === 0))) return {code: 'CF_MALFORMED'}
      }
    case 'belfiore':
      return (v) => (BELFIORE.test(v) ? undefined : {code: 'BELFIORE_MALFORMED', params: {valore: v}})
  }
}
