/**
 * Codice fiscale checks (domain-notes §3).
 * Beside the record model because the flows' own rules (ps-rules, sinba-rules) use them;
 * validate/ reads them from here.
 *
 * These run once or twice per record on a 1M-row hot path, so everything works on char codes
 * against lookup tables built once at module load: no regex, no toUpperCase() copy of the input,
 * and the only allocations are the result object and, when needed, the 4-char Belfiore string.
 * Lowercase is accepted (the SIUSS XSD allows [A-Za-z]) and folded to uppercase code by code.
 */

/** Result of {@link analyzeCodiceFiscale}. */
export type CfAnalysis = CfPersonal | CfNumeric | CfMalformed

/** A 16-character CF of a natural person, well formed (possibly omocodic). */
export interface CfPersonal {
  kind: 'personal'
  /** the check character (16th) matches the first 15 */
  valid: boolean
  /** at least one of the 7 numeric positions carries a substitution letter (LMNPQRSTUV) */
  omocodic: boolean
  /**
   * matches the SIUSS XSD pattern ([A-Za-z]{6}\d{2}[A-Za-z]\d{2}[A-Za-z][A-Za-z0-9]{3}[A-Za-z]):
   * false when omocodia put a letter in the year or day positions, which INPS's schema refuses
   * even though the CF itself is legitimate.
   */
  xsdCompatible: boolean
  /** two-digit birth year, de-omocoded (0-99); the century is not encoded */
  yy: number
  /** 1-12; 0 if the month letter is not one of ABCDEHLMPRST */
  month: number
  /** 1-31 (40 already taken off for women); 0 if the encoded day is not in 01-31 or 41-71 */
  day: number
  /** SIUSS GenereType: '1' male (day 01-31), '2' female (day encoded as 41-71) */
  genere: '1' | '2'
  /** birthplace code, uppercase and de-omocoded, e.g. 'H501' or 'Z100' */
  belfiore: string
}

/** The 11-digit form (partita IVA / provisional CF). */
export interface CfNumeric {
  kind: 'numeric'
  /** the Luhn-style check digit matches */
  valid: boolean
}

/** Neither shape: wrong length, wrong character classes, stray whitespace… */
export interface CfMalformed {
  kind: 'malformed'
}

const MALFORMED: CfMalformed = Object.freeze({ kind: 'malformed' }) as CfMalformed

const INVALID = 255
const CHECK_LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ'

// Values of the "odd" table (1st, 3rd, … character) for 0-9 and for A-Z; a digit and the
// letter at the same index share a value (0/A→1, 1/B→0, …).
const ODD_VALUES = [
  1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23,
]

/** char code (upper- or lowercase) → value in the odd / even check tables; INVALID otherwise */
const ODD = new Uint8Array(128).fill(INVALID)
const EVEN = new Uint8Array(128).fill(INVALID)
/** char code (upper- or lowercase) → digit it stands for in a numeric position (0-9 or LMNPQRSTUV); INVALID otherwise */
const OMO_DIGIT = new Uint8Array(128).fill(INVALID)
/** char code (upper- or lowercase) → month 1-12 (ABCDEHLMPRST) */
const MONTH = new Uint8Array(128)

for (let i = 0; i < 26; i++) {
  for (const code of [65 + i, 97 + i]) {
    ODD[code] = ODD_VALUES[i]
    EVEN[code] = i
  }
}
for (let d = 0; d < 10; d++) {
  ODD[48 + d] = ODD_VALUES[d]
  EVEN[48 + d] = d
  OMO_DIGIT[48 + d] = d
  const letter = 'LMNPQRSTUV'.charCodeAt(d)
  OMO_DIGIT[letter] = d
  OMO_DIGIT[letter + 32] = d
}
'ABCDEHLMPRST'.split('').forEach((m, i) => {
  MONTH[m.charCodeAt(0)] = i + 1
  MONTH[m.charCodeAt(0) + 32] = i + 1
})

/** A-Z or a-z */
function isLetter(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122)
}

/** 0-25 = the check letter's index; -1 when a character of s[0..15) is not alphanumeric ASCII */
function checkIndex(s: string): number {
  let sum = 0
  for (let i = 0; i < 15; i++) {
    const c = s.charCodeAt(i)
    // charCodeAt past the end gives NaN; `c < 128` is false for it too
    const v = c < 128 ? ((i & 1) === 0 ? ODD[c] : EVEN[c]) : INVALID
    if (v === INVALID) return -1
    sum += v
  }
  return sum % 26
}

/**
 * Check character of a 16-character CF from its first 15 characters (extra characters are ignored).
 * Expects uppercase, but lowercase gives the same answer. Throws RangeError when fewer than 15
 * characters are given or one of them is not an ASCII letter or digit.
 */
export function cfCheckChar(first15: string): string {
  const idx = checkIndex(first15)
  if (idx < 0) throw new RangeError('cfCheckChar: expected 15 ASCII letters or digits')
  return CHECK_LETTERS[idx]
}

// 0-based positions that hold digits in a regular CF, i.e. where omocodia may put a letter
const P_YY1 = 6
const P_YY2 = 7
const P_MONTH = 8
const P_DD1 = 9
const P_DD2 = 10
const P_BELFIORE = 11

/**
 * Recognises and decodes a codice fiscale. Callers should trim the cell first: only the
 * XSD's trailing spaces after the 11-digit form are tolerated.
 *
 * `valid` is only the check character/digit; a personal CF with `month === 0` or `day === 0`
 * has a check character that fits but a date that does not exist, and is better reported too.
 * The whole of the date (e.g. 30 February) is not checked, because the century is unknown.
 */
export function analyzeCodiceFiscale(cf: string): CfAnalysis {
  // the field check and five rules of a row ask about the same codice fiscale, and so do the
  // rows of one beneficiary: the last answer is kept (analyses are never modified)
  if (cf === last.cf) return last.analysis
  last = {cf, analysis: analyze(cf)}
  return last.analysis
}

let last: {cf: string; analysis: CfAnalysis} = {cf: '', analysis: MALFORMED}

function analyze(cf: string): CfAnalysis {
  const len = cf.length
  if (len === 16 && isLetter(cf.charCodeAt(0))) return analyzePersonal(cf)
  if (len >= 11 && len <= 16) {
    const c0 = cf.charCodeAt(0)
    if (c0 >= 48 && c0 <= 57) return analyzeNumeric(cf)
  }
  return MALFORMED
}

function analyzePersonal(cf: string): CfAnalysis {
  // SSS NNN: letters only
  for (let i = 1; i < 6; i++) if (!isLetter(cf.charCodeAt(i))) return MALFORMED
  const monthCode = cf.charCodeAt(P_MONTH)
  if (!isLetter(monthCode)) return MALFORMED
  if (!isLetter(cf.charCodeAt(P_BELFIORE))) return MALFORMED
  const checkCode = cf.charCodeAt(15)
  if (!isLetter(checkCode)) return MALFORMED

  // The 7 numeric positions, de-omocoded. A code >= 128 indexes past the table → undefined,
  // which the `> 9` test rejects like INVALID.
  const y1 = OMO_DIGIT[cf.charCodeAt(P_YY1)]
  const y2 = OMO_DIGIT[cf.charCodeAt(P_YY2)]
  const d1 = OMO_DIGIT[cf.charCodeAt(P_DD1)]
  const d2 = OMO_DIGIT[cf.charCodeAt(P_DD2)]
  const b1 = OMO_DIGIT[cf.charCodeAt(12)]
  const b2 = OMO_DIGIT[cf.charCodeAt(13)]
  const b3 = OMO_DIGIT[cf.charCodeAt(14)]
  if (!(y1 <= 9 && y2 <= 9 && d1 <= 9 && d2 <= 9 && b1 <= 9 && b2 <= 9 && b3 <= 9)) return MALFORMED

  // A letter (code >= 65) in the year or day positions is what the XSD refuses; in the
  // Belfiore digits it is allowed ([A-Za-z0-9]{3}).
  const dateLetters =
    cf.charCodeAt(P_YY1) >= 65 || cf.charCodeAt(P_YY2) >= 65 ||
    cf.charCodeAt(P_DD1) >= 65 || cf.charCodeAt(P_DD2) >= 65
  const placeLetters = cf.charCodeAt(12) >= 65 || cf.charCodeAt(13) >= 65 || cf.charCodeAt(14) >= 65

  const idx = checkIndex(cf)
  // every character was classified above, so idx >= 0; compare case-insensitively
  const valid = CHECK_LETTERS.charCodeAt(idx) === (checkCode & ~32)

  const dd = d1 * 10 + d2
  const female = dd > 40
  const dayOfMonth = female ? dd - 40 : dd
  const day = dayOfMonth >= 1 && dayOfMonth <= 31 ? dayOfMonth : 0

  // Reuse the input's own characters when they already are the canonical form (the common case);
  // build the string only for omocodic or lowercase places.
  const l = cf.charCodeAt(P_BELFIORE)
  const belfiore = !placeLetters && l <= 90
    ? cf.slice(P_BELFIORE, 15)
    : String.fromCharCode(l & ~32, 48 + b1, 48 + b2, 48 + b3)

  return {
    kind: 'personal',
    valid,
    omocodic: dateLetters || placeLetters,
    xsdCompatible: !dateLetters,
    yy: y1 * 10 + y2,
    month: MONTH[monthCode & 127],
    day,
    genere: female ? '2' : '1',
    belfiore,
  }
}

function analyzeNumeric(cf: string): CfAnalysis {
  // \d{11} {0,5}: the caller already made sure the length is 11-16
  for (let i = 11; i < cf.length; i++) if (cf.charCodeAt(i) !== 32) return MALFORMED
  for (let i = 1; i < 11; i++) {
    const c = cf.charCodeAt(i)
    if (c < 48 || c > 57) return MALFORMED
  }
  return { kind: 'numeric', valid: luhnCheckDigitOk(cf) }
}

/** Assumes s[0..11) are ASCII digits. */
function luhnCheckDigitOk(s: string): boolean {
  let sum = 0
  for (let i = 0; i < 10; i++) {
    const d = s.charCodeAt(i) - 48
    if ((i & 1) === 0) {
      sum += d // 1st, 3rd, … digit as is
    } else {
      const x = d * 2 // 2nd, 4th, … digit doubled, minus 9 when it goes over 9
      sum += x > 9 ? x - 9 : x
    }
  }
  return (10 - (sum % 10)) % 10 === s.charCodeAt(10) - 48
}

/**
 * True for exactly 11 ASCII digits whose last one is the check digit of the first ten
 * (domain-notes §3.3). Deliberately no office-code or all-zero rule: provisional CFs of
 * natural persons use the same form and no authoritative rule for them was found.
 */
export function isValidPartitaIvaLike(d11: string): boolean {
  if (d11.length !== 11) return false
  for (let i = 0; i < 11; i++) {
    const c = d11.charCodeAt(i)
    if (c < 48 || c > 57) return false
  }
  return luhnCheckDigitOk(d11)
}

/** A value with the shape of a personal codice fiscale (valid check character): where one must not be. */
export function looksLikeCodiceFiscale(value: string): boolean {
  const cf = analyzeCodiceFiscale(value)
  return cf.kind === 'personal' && cf.valid
}
