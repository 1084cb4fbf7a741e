/**
 * Deterministic synthetic people for tests and benchmarks. Nobody here is real: names come from
 * short lists of common Italian names, dates and places are drawn from a seeded PRNG, and the
 * codice fiscale is computed from them. Same seed → same people, on every machine.
 *
 * The CF code here is written independently of src/flows/codice-fiscale.ts (plain strings
 * and indexOf, straight from the published tables), so that tests comparing the two are not
 * checking the validator against itself.
 */

/** Random source in [0, 1), like Math.random. */
export type Rng = () => number

/** mulberry32: tiny, fast, good-enough 32-bit PRNG; same seed → same sequence. */
export function mulberry32(seed: number): Rng {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Integer in [min, max], both included. */
export function randomInt(rng: Rng, min: number, max: number): number {
  return min + Math.floor(rng() * (max - min + 1))
}

export function pick<T>(rng: Rng, items: readonly T[]): T {
  return items[Math.floor(rng() * items.length)]
}

// ---------------------------------------------------------------------------------------------
// Codice fiscale (domain-notes §3.1)

const MONTH_LETTERS = 'ABCDEHLMPRST'
const OMOCODIA_LETTERS = 'LMNPQRSTUV'
const ALNUM = '0123456789'
const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ'
/** value of the odd-position (1st, 3rd, …) character; digit d and the d-th letter share one */
const ODD_TABLE = [1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23]
/** Omocodia replaces digits from the right: the last Belfiore digit first, the first year digit last. */
const OMOCODIA_POSITIONS = [14, 13, 12, 10, 9, 7, 6]

/** Uppercase A-Z only: accents dropped (ò → O), apostrophes, spaces and hyphens removed. */
export function normalizeForCf(s: string): string {
  return s.normalize('NFD').replace(/[\u0300-\u036f]/g, '').toUpperCase().replace(/[^A-Z]/g, '')
}

function splitLetters(s: string): { consonants: string; vowels: string } {
  let consonants = ''
  let vowels = ''
  for (const ch of normalizeForCf(s)) {
    if ('AEIOU'.includes(ch)) vowels += ch
    else consonants += ch
  }
  return { consonants, vowels }
}

/** Surname code: consonants, then vowels, then X padding; first three. */
export function surnameCode(cognome: string): string {
  const { consonants, vowels } = splitLetters(cognome)
  return (consonants + vowels + 'XXX').slice(0, 3)
}

/** Name code: like the surname, except that with 4+ consonants it takes the 1st, 3rd and 4th. */
export function nameCode(nome: string): string {
  const { consonants, vowels } = splitLetters(nome)
  if (consonants.length >= 4) return consonants[0] + consonants[2] + consonants[3]
  return (consonants + vowels + 'XXX').slice(0, 3)
}

/** Check character of the first 15 characters (uppercase), computed straight from the tables. */
export function checkCharOf(first15: string): string {
  let sum = 0
  for (let i = 0; i < 15; i++) {
    const ch = first15[i]
    const digit = ALNUM.indexOf(ch)
    const index = digit >= 0 ? digit : LETTERS.indexOf(ch)
    if (index < 0) throw new Error(`checkCharOf: bad character ${JSON.stringify(ch)}`)
    // i is 0-based, so i even = odd position (1st, 3rd, …)
    sum += i % 2 === 0 ? ODD_TABLE[index] : index
  }
  return LETTERS[sum % 26]
}

/** Replace the last `count` (0-7) numeric positions, right to left, with their omocodia letters; recompute the check char. */
export function applyOmocodia(cf: string, count: number): string {
  if (count < 0 || count > 7) throw new RangeError('omocodia: 0-7 substitutions')
  const chars = cf.slice(0, 15).split('')
  for (const pos of OMOCODIA_POSITIONS.slice(0, count)) {
    const d = ALNUM.indexOf(chars[pos])
    if (d >= 0) chars[pos] = OMOCODIA_LETTERS[d]
  }
  const first15 = chars.join('')
  return first15 + checkCharOf(first15)
}

export interface CfInput {
  cognome: string
  nome: string
  /** full year; only the last two digits go into the CF */
  year: number
  /** 1-12 */
  month: number
  /** 1-31 */
  day: number
  genere: '1' | '2'
  /** e.g. 'H501' or 'Z100' */
  belfiore: string
  /** how many omocodia substitutions, from the right (0-7; default 0) */
  omocodia?: number
}

export function makeCodiceFiscale(p: CfInput): string {
  if (p.month < 1 || p.month > 12) throw new RangeError(`month ${p.month}`)
  if (p.day < 1 || p.day > 31) throw new RangeError(`day ${p.day}`)
  if (!/^[A-Z]\d{3}$/.test(p.belfiore)) throw new RangeError(`belfiore ${p.belfiore}`)
  const yy = String(((p.year % 100) + 100) % 100).padStart(2, '0')
  const dd = String(p.genere === '2' ? p.day + 40 : p.day).padStart(2, '0')
  const first15 = surnameCode(p.cognome) + nameCode(p.nome) + yy + MONTH_LETTERS[p.month - 1] + dd + p.belfiore
  const cf = first15 + checkCharOf(first15)
  return p.omocodia ? applyOmocodia(cf, p.omocodia) : cf
}

// ---------------------------------------------------------------------------------------------
// Built-in lists

/** Common Italian surnames, a few with apostrophes, spaces or accents; and some very short ones to exercise X padding. */
export const COGNOMI: readonly string[] = [
  'Rossi', 'Russo', 'Ferrari', 'Esposito', 'Bianchi', 'Romano', 'Colombo', 'Ricci', 'Marino', 'Greco',
  'Bruno', 'Gallo', 'Conti', 'De Luca', 'Mancini', 'Costa', 'Giordano', 'Rizzo', 'Lombardi', 'Moretti',
  'Barbieri', 'Fontana', 'Santoro', 'Mariani', 'Rinaldi', 'Caruso', 'Ferrara', 'Galli', 'Martini', 'Leone',
  'Longo', 'Gentile', 'Vitale', 'Serra', 'Coppola', 'De Santis', "D'Angelo", "D'Amico", "Dell'Acqua",
  'Lo Russo', 'Sanna', 'Pellè', 'Cantù', 'Fo', 'Re', 'Po', 'Ascoli', 'Urbani', 'Zanotti',
]

export const NOMI_MASCHILI: readonly string[] = [
  'Mario', 'Giuseppe', 'Giovanni', 'Antonio', 'Francesco', 'Luca', 'Marco', 'Andrea', 'Alessandro',
  'Salvatore', 'Pietro', 'Lorenzo', 'Mattia', 'Nicolò', 'Gianfranco', 'Ugo', 'Noè', 'Emanuele',
  'Gian Luca', 'Elia',
]

export const NOMI_FEMMINILI: readonly string[] = [
  'Maria', 'Anna', 'Giulia', 'Francesca', 'Sofia', 'Chiara', 'Sara', 'Laura', 'Valentina', 'Alessandra',
  'Rosa', 'Giuseppina', 'Ida', 'Eva', 'Zoe', 'Ada', 'Aurora', 'Maria Grazia', 'Annalisa', 'Noemi',
]

export interface Place {
  belfiore: string
  nome: string
}

/** Comuni whose Belfiore code has been in force throughout 1900-today (checked against the ANPR comuni archive). */
export const COMUNI: readonly Place[] = [
  { belfiore: 'H501', nome: 'Roma' },
  { belfiore: 'F205', nome: 'Milano' },
  { belfiore: 'L219', nome: 'Torino' },
  { belfiore: 'F839', nome: 'Napoli' },
  { belfiore: 'G273', nome: 'Palermo' },
  { belfiore: 'D612', nome: 'Firenze' },
  { belfiore: 'A944', nome: 'Bologna' },
  { belfiore: 'D969', nome: 'Genova' },
  { belfiore: 'L736', nome: 'Venezia' },
  { belfiore: 'A662', nome: 'Bari' },
  { belfiore: 'C351', nome: 'Catania' },
  { belfiore: 'G224', nome: 'Padova' },
  { belfiore: 'E506', nome: 'Lecce' },
]

/** Foreign states of birth (ANPR tab_Stati_Esteri, valid from 1900). */
export const STATI_ESTERI: readonly Place[] = [
  { belfiore: 'Z100', nome: 'Albania' },
  { belfiore: 'Z129', nome: 'Romania' },
  { belfiore: 'Z330', nome: 'Marocco' },
  { belfiore: 'Z210', nome: 'Cina' },
]

// ---------------------------------------------------------------------------------------------
// People

export interface SyntheticPerson {
  cognome: string
  nome: string
  annoNascita: number
  meseNascita: number
  giornoNascita: number
  /** YYYY-MM-DD */
  dataNascita: string
  genere: '1' | '2'
  /** Belfiore code of the comune or foreign state of birth */
  luogoNascita: string
  /** name of the place, for readable fixtures */
  nomeLuogoNascita: string
  /** number of omocodia substitutions applied to codiceFiscale (0 = none) */
  omocodia: number
  codiceFiscale: string
}

export interface RandomPersonOptions {
  /** earliest birth year (default 1920) */
  minYear?: number
  /** latest birth year (default 2015) */
  maxYear?: number
  /** share of people born abroad (default 0.15) */
  foreignShare?: number
  /** share of people with an omocodic CF, 1-7 substitutions (default 0) */
  omocodiaShare?: number
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate()
}

/** One synthetic person; the draws depend only on rng's state, so a seeded rng gives a reproducible sequence. */
export function randomPerson(rng: Rng, options: RandomPersonOptions = {}): SyntheticPerson {
  const { minYear = 1920, maxYear = 2015, foreignShare = 0.15, omocodiaShare = 0 } = options
  const genere: '1' | '2' = rng() < 0.5 ? '1' : '2'
  const cognome = pick(rng, COGNOMI)
  const nome = pick(rng, genere === '1' ? NOMI_MASCHILI : NOMI_FEMMINILI)
  const annoNascita = randomInt(rng, minYear, maxYear)
  const meseNascita = randomInt(rng, 1, 12)
  const giornoNascita = randomInt(rng, 1, daysInMonth(annoNascita, meseNascita))
  const place = rng() < foreignShare ? pick(rng, STATI_ESTERI) : pick(rng, COMUNI)
  const omocodia = rng() < omocodiaShare ? randomInt(rng, 1, 7) : 0
  const codiceFiscale = makeCodiceFiscale({
    cognome, nome, year: annoNascita, month: meseNascita, day: giornoNascita, genere,
    belfiore: place.belfiore, omocodia,
  })
  const dataNascita = `${annoNascita}-${String(meseNascita).padStart(2, '0')}-${String(giornoNascita).padStart(2, '0')}`
  return {
    cognome, nome, annoNascita, meseNascita, giornoNascita, dataNascita, genere,
    luogoNascita: place.belfiore, nomeLuogoNascita: place.nome, omocodia, codiceFiscale,
  }
}

/** `count` people from a fresh mulberry32(seed). */
export function randomPeople(seed: number, count: number, options?: RandomPersonOptions): SyntheticPerson[] {
  const rng = mulberry32(seed)
  const people: SyntheticPerson[] = []
  for (let i = 0; i < count; i++) people.push(randomPerson(rng, options))
  return people
}

/** A valid 11-digit partita-IVA-like number (random body, correct check digit). */
export function makePartitaIvaLike(rng: Rng): string {
  let body = ''
  for (let i = 0; i < 10; i++) body += String(randomInt(rng, 0, 9))
  let sum = 0
  for (let i = 0; i < 10; i++) {
    const d = Number(body[i])
    sum += i % 2 === 0 ? d : d * 2 > 9 ? d * 2 - 9 : d * 2
  }
  return body + String((10 - (sum % 10)) % 10)
}
