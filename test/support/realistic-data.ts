import {closeSync, mkdirSync, openSync, readSync, renameSync, rmSync, writeSync} from 'node:fs'
import {dirname, join} from 'node:path'

import {CANONICAL_HEADERS, LAST_YEAR, personRow, RESIDENZE, type PsRow} from './ps-data.js'
import {mulberry32, pick, randomInt, randomPerson, type Rng} from './synthetic.js'

/**
 * The shape of a real `ps` export (DESIGN §11, issue 13): about 2.45 prestazioni per
 * beneficiary (1–5 each), periodic and occasional, ISEE, SINA, people born and living abroad,
 * a few who moved during the year, every column family used, and — as management software
 * exports them — rows in DATE order, so one person's rows are scattered through the file.
 * The same rows are also written grouped by person (the easy case), so the two orders compare.
 *
 * Deterministic: person i depends only on (seed, i), so a 100k-row file is the first people of
 * the 1M-row file with the same seed. Written streaming: people are generated one at a time;
 * date order comes from an external bucket sort (one temporary file per day of the year),
 * so neither the rows nor the file are ever held in memory. Only the set of codici fiscali
 * seen (to keep two synthetic people from sharing one) grows with the file.
 */

/** share of prestazioni per count 1..5: mean 2.45 (980k rows ≈ 400k beneficiaries) */
const COUNT_WEIGHTS = [0.31, 0.26, 0.2, 0.13, 0.1]
export const MEAN_PRESTAZIONI = COUNT_WEIGHTS.reduce((sum, w, i) => sum + w * (i + 1), 0)

interface Kind {
  codice: string
  denominazione: string
  periodic: boolean
  /** PresenzaProvaMezzi 1 (ISEE) when the person has a DSU */
  isee: boolean
  hours?: boolean
  ssn?: boolean
  evento?: boolean
  /** needs presa in carico (A2.16–A2.29) */
  presa?: boolean
}

const KINDS: readonly Kind[] = [
  {codice: 'A1.04', denominazione: 'Contributi economici a integrazione del reddito familiare', periodic: false, isee: true},
  {codice: 'A1.04', denominazione: 'Contributi economici a integrazione del reddito familiare', periodic: true, isee: true},
  {codice: 'A1.05', denominazione: 'Contributi economici per alloggio', periodic: true, isee: true},
  {codice: 'A1.05.01', denominazione: 'Contributo affitto (L. 431/98) – fondo "morosità incolpevole"', periodic: false, isee: true, evento: true},
  {codice: 'A1.06', denominazione: 'Buoni spesa o buoni pasto', periodic: false, isee: true},
  {codice: 'A1.07', denominazione: 'Contributi e integrazioni a rette per asili nido', periodic: true, isee: true},
  {codice: 'A1.09', denominazione: 'Contributi economici per i servizi scolastici', periodic: false, isee: true},
  {codice: 'A1.12', denominazione: 'Contributi e integrazioni a rette per accesso a centri diurni', periodic: true, isee: true, ssn: true},
  {codice: 'A1.16', denominazione: 'Contributi economici per servizio trasporto e mobilità', periodic: false, isee: false},
  {codice: 'A2.01', denominazione: 'Mensa sociale', periodic: true, isee: false},
  {codice: 'A2.07', denominazione: 'Assistenza domiciliare socio-assistenziale', periodic: true, isee: true, hours: true, ssn: true},
  {codice: 'A2.12', denominazione: 'Mensa scolastica & trasporto <servizi integrativi>', periodic: true, isee: true},
  {codice: 'A2.18', denominazione: 'Intervento di sostegno con presa in carico professionale', periodic: true, isee: false, presa: true},
  {codice: 'A3.02', denominazione: 'Strutture residenziali', periodic: true, isee: true, ssn: true},
  {codice: 'Z9.99', denominazione: 'Altro intervento di "sostegno" per l\'inclusione', periodic: false, isee: false},
]

/** Foreign residence (CodiceNazione, ISO 3166 numeric): Switzerland, France, Germany, Romania, Albania. */
const NAZIONI_ESTERE = ['756', '250', '276', '642', '008']

const pad2 = (n: number): string => String(n).padStart(2, '0')
const DAYS_BEFORE = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334]
const leap = (y: number): boolean => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0
function daysIn(year: number): number {
  return leap(year) ? 366 : 365
}
/** day of the year (0-based) → YYYY-MM-DD */
function isoDay(year: number, day: number): string {
  let month = 11
  const shift = (m: number): number => DAYS_BEFORE[m] + (m >= 2 && leap(year) ? 1 : 0)
  while (shift(month) > day) month--
  return `${year}-${pad2(month + 1)}-${pad2(day - shift(month) + 1)}`
}

/** A prestazione row with the day it sorts by (start of a periodic one, payment of an occasional one). */
export interface DatedRow {
  day: number
  row: PsRow
}

/** The person with index `index` and their prestazioni (1–5), deterministic in (seed, index). */
function* personRows(seed: number, index: number, year: number, seen: Set<string>): Generator<DatedRow> {
  // a seed per person: the same person in a 100k and a 1M file
  const rng = mulberry32((Math.imul(seed, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b)) >>> 0)
  let p = randomPerson(rng, {omocodiaShare: 0.002, foreignShare: 0.12})
  // two synthetic people may draw one codice fiscale: redraw (omocodia beyond 3 is a separate test)
  while (seen.has(p.codiceFiscale) || p.omocodia > 3) p = randomPerson(rng, {omocodiaShare: 0.002, foreignShare: 0.12})
  seen.add(p.codiceFiscale)
  const foreignResident = rng() < 0.03
  const anagrafica = personRow(p, rng, {foreignResident})
  if (foreignResident) anagrafica.CodiceNazione = pick(rng, NAZIONI_ESTERE)
  if (anagrafica.CodiceCittadinanza !== '380' && rng() < 0.1) anagrafica.CodiceSecondaCittadinanza = '380'
  // a few move house during the year: rows after the move carry the new address (DESIGN §4.2: up to 5 Indirizzo)
  const moved = !foreignResident && rng() < 0.02 ? {day: randomInt(rng, 60, 300), to: pick(rng, RESIDENZE)} : undefined
  const days = daysIn(year)
  // one DSU per person and year, one SINA assessment per person
  const dsu = rng() < 0.55 ? {numero: `INPS-ISEE-${year}-${String(randomInt(rng, 1, 99_999_999)).padStart(8, '0')}X-00`, data: isoDay(year, randomInt(rng, 0, 80))} : undefined
  const disability = rng() < 0.12
  const sina = disability || rng() < 0.05 ? sinaBlock(rng) : undefined
  const count = weightedCount(rng)
  for (let k = 0; k < count; k++) {
    const kind = pick(rng, KINDS)
    const row: PsRow = {...anagrafica}
    const withDsu = dsu !== undefined && kind.isee
    let day: number
    if (kind.periodic) {
      const months = randomInt(rng, 1, 12)
      const startMonth = randomInt(rng, 1, 13 - months)
      const start = DAYS_BEFORE[startMonth - 1] + (startMonth > 2 && leap(year) ? 1 : 0) + randomInt(rng, 0, 27)
      day = start
      const endMonth = startMonth + months - 1
      const ends = rng() < 0.15 ? '' : `${year}-${pad2(endMonth)}-28`
      const mensile = (randomInt(rng, 3000, 120_000) / 100).toFixed(2)
      Object.assign(row, {
        CaratterePrestazione: '1',
        DataInizioPrestazione: isoDay(year, start),
        DataFinePrestazione: ends,
        DataErogazionePrestazione: '',
        ImportoPrestazione: '',
        PeriodoErogazione: String(months),
        ImportoMensile: mensile,
      })
      shares(rng, row, mensile, kind)
    } else {
      day = randomInt(rng, 0, days - 1)
      const importo = (randomInt(rng, 2000, 300_000) / 100).toFixed(2)
      Object.assign(row, {
        CaratterePrestazione: '2',
        DataInizioPrestazione: '',
        DataFinePrestazione: '',
        DataErogazionePrestazione: isoDay(year, day),
        ImportoPrestazione: importo,
        PeriodoErogazione: '',
        ImportoMensile: '',
      })
      shares(rng, row, importo, kind)
    }
    if (moved && day >= moved.day) {
      row.CodiceRegione = moved.to.regione
      row.CodiceComune = moved.to.istat
    }
    const presa = kind.presa || disability || rng() < 0.3 ? '1' : '2'
    const area = presa === '1' ? (disability ? '2' : String(pick(rng, [1, 3]))) : ''
    Object.assign(row, {
      TipoOperazione: rng() < 0.2 ? 'I' : '',
      PresenzaProvaMezzi: withDsu ? '1' : kind.isee ? pick(rng, ['2', '3']) : '4',
      NumeroProtocolloDSU: withDsu ? dsu.numero : '',
      AnnoProtocolloDSU: withDsu ? String(year) : '',
      DataDSU: withDsu ? dsu.data : '',
      ImportoSogliaISEE: withDsu ? pick(rng, ['9360.00', '15000.00', '25000.00']) : '',
      CodicePrestazione: kind.codice,
      DenominazionePrestazione: kind.denominazione,
      // unique per prestazione and independent of the file's order
      ProtocolloDomanda: `PD/${year}/${index + 1}-${k + 1}`,
      DataEvento: kind.evento ? isoDay(year, Math.max(0, day - randomInt(rng, 0, 30))) : '',
      OreServizioMensile: kind.hours ? `${randomInt(rng, 1, 60)}.${pad2(randomInt(rng, 0, 59))}` : '',
      PresaCarico: presa,
      AreaUtenza: area,
      ...(sina && (disability || kind.codice === 'A2.07' || kind.codice === 'A3.02') ? sina : EMPTY_SINA),
    })
    yield {day, row}
  }
}

function weightedCount(rng: Rng): number {
  let x = rng()
  for (let i = 0; i < COUNT_WEIGHTS.length; i++) {
    x -= COUNT_WEIGHTS[i]
    if (x < 0) return i + 1
  }
  return COUNT_WEIGHTS.length
}

/** quota ente + utente (+ SSN) summing to the amount, on about a third of the rows; quota richiesta now and then */
function shares(rng: Rng, row: PsRow, amount: string, kind: Kind): void {
  row.ImportoQuotaEnte = ''
  row.ImportoQuotaUtente = ''
  row.ImportoQuotaSSN = ''
  row.ImportoQuotaRichiesta = rng() < 0.1 ? (Number(amount) * 0.5).toFixed(2) : ''
  if (rng() >= 0.35) return
  const cents = Math.round(Number(amount) * 100)
  const ssn = kind.ssn && rng() < 0.5 ? Math.max(1, Math.round(cents * 0.4)) : 0
  const ente = Math.max(1, Math.round((cents - ssn) * 0.7))
  const utente = cents - ssn - ente
  row.ImportoQuotaEnte = (ente / 100).toFixed(2)
  row.ImportoQuotaUtente = (Math.max(0, utente) / 100).toFixed(2)
  if (ssn > 0) row.ImportoQuotaSSN = (ssn / 100).toFixed(2)
}

const EMPTY_SINA: PsRow = {
  SINA_Mobilita: '', SINA_AttivitaVitaQuotidiana: '', SINA_DisturbiAreaCognitiva: '', SINA_DisturbiComportamentali: '',
  SINA_NecessitaCureSanitarie: '', SINA_AreaReddituale: '', SINA_AreaSupporto: '', SINA_FonteDerivazioneValutazione: '',
  SINA_StrumentoValutazione: '', SINA_FonteDerivazioneInvalidita: '', SINA_NecessitaInterventiSociali: '', SINA_InvaliditaCivile: '',
}

function sinaBlock(rng: Rng): PsRow {
  const optional = (value: string): string => (rng() < 0.6 ? value : '')
  return {
    SINA_Mobilita: String(randomInt(rng, 1, 3)),
    SINA_AttivitaVitaQuotidiana: String(randomInt(rng, 1, 3)),
    SINA_DisturbiAreaCognitiva: optional(String(randomInt(rng, 1, 3))),
    SINA_DisturbiComportamentali: String(randomInt(rng, 1, 2)),
    SINA_NecessitaCureSanitarie: optional(String(randomInt(rng, 1, 3))),
    SINA_AreaReddituale: String(randomInt(rng, 1, 3)),
    SINA_AreaSupporto: String(randomInt(rng, 1, 3)),
    SINA_FonteDerivazioneValutazione: String(randomInt(rng, 1, 4)),
    SINA_StrumentoValutazione: String(randomInt(rng, 1, 7)),
    SINA_FonteDerivazioneInvalidita: optional(String(randomInt(rng, 1, 2))),
    SINA_NecessitaInterventiSociali: pick(rng, ['A2.07', 'A2.07|A1.12', 'A3.02|A2.07|A1.16']),
    SINA_InvaliditaCivile: optional(pick(rng, ['2', '2|6', '1|5', '3'])),
  }
}

/**
 * Exactly `rows` prestazioni of people 0, 1, 2, … in person order (grouped by person); the last
 * person may have fewer than drawn. `day` is the row's day of the year, for date ordering.
 */
export function* realisticRows(seed: number, rows: number, year = LAST_YEAR): Generator<DatedRow> {
  const seen = new Set<string>()
  let n = 0
  for (let index = 0; n < rows; index++) {
    for (const dated of personRows(seed, index, year, seen)) {
      if (n++ >= rows) return
      yield dated
    }
  }
}

function csvCell(v: string): string {
  return v.includes(',') || v.includes('"') || v.includes('\n') ? `"${v.replaceAll('"', '""')}"` : v
}
function csvLine(row: PsRow): string {
  return CANONICAL_HEADERS.map((h) => csvCell(row[h] ?? '')).join(',') + '\n'
}

/** Buffered appends to one file descriptor. */
class Sink {
  private parts: string[] = []
  private size = 0
  constructor(private readonly fd: number, private readonly limit = 1 << 20) {}
  write(text: string): void {
    this.parts.push(text)
    this.size += text.length
    if (this.size >= this.limit) this.flush()
  }
  flush(): void {
    if (this.parts.length > 0) writeSync(this.fd, this.parts.join(''))
    this.parts = []
    this.size = 0
  }
  close(): void {
    this.flush()
    closeSync(this.fd)
  }
}

export interface RealisticFiles {
  /** rows in date order (start of a periodic prestazione, payment of an occasional one); ties in person order */
  date: string
  /** the same rows grouped by person */
  grouped: string
  rows: number
  people: number
}

/**
 * Writes the canonical CSV of `rows` realistic prestazioni twice: date order and grouped by person.
 * Both are written to `.partial` names and renamed at the end, so a cache never holds a half file.
 */
export function writeRealisticCsv(files: {date: string; grouped: string}, seed: number, rows: number, year = LAST_YEAR): RealisticFiles {
  const header = CANONICAL_HEADERS.map(csvCell).join(',') + '\n'
  const buckets = join(dirname(files.date), `.buckets-${process.pid}`)
  rmSync(buckets, {recursive: true, force: true})
  mkdirSync(buckets, {recursive: true, mode: 0o700})
  const days = daysIn(year)
  // one small buffer per day of the year (64 KB each: ≈ 24 MB in all)
  const dayFiles = Array.from({length: days}, (_, d) => new Sink(openSync(join(buckets, String(d)), 'w', 0o600), 1 << 16))
  const grouped = new Sink(openSync(`${files.grouped}.partial`, 'w', 0o600))
  grouped.write(header)
  let count = 0
  let lastProtocol = ''
  let people = 0
  for (const {day, row} of realisticRows(seed, rows, year)) {
    const line = csvLine(row)
    grouped.write(line)
    dayFiles[day].write(line)
    count++
    const person = row.ProtocolloDomanda.slice(0, row.ProtocolloDomanda.lastIndexOf('-'))
    if (person !== lastProtocol) people++
    lastProtocol = person
  }
  grouped.close()
  for (const sink of dayFiles) sink.close()
  const out = openSync(`${files.date}.partial`, 'w', 0o600)
  writeSync(out, header)
  const buffer = Buffer.allocUnsafe(1 << 20)
  for (let d = 0; d < days; d++) {
    const fd = openSync(join(buckets, String(d)), 'r')
    for (let read; (read = readSync(fd, buffer, 0, buffer.length, null)) > 0; ) writeSync(out, buffer, 0, read)
    closeSync(fd)
  }
  closeSync(out)
  rmSync(buckets, {recursive: true, force: true})
  renameSync(`${files.grouped}.partial`, files.grouped)
  renameSync(`${files.date}.partial`, files.date)
  return {...files, rows: count, people}
}
