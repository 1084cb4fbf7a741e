import {romeCalendar} from '../../src/clock/index.js'
import {closeSync, openSync, writeSync} from 'node:fs'

import {PS} from '../../src/flows/ps.js'
import {mulberry32, pick, randomInt, randomPerson, type Rng, type SyntheticPerson} from './synthetic.js'

/**
 * Synthetic `ps` rows (canonical columns) for tests and the benchmark: valid by construction,
 * deterministic for a seed, no real people. Tests then break single fields on purpose.
 */

export type PsRow = Record<string, string>

export const CANONICAL_HEADERS = PS.fields.map((f) => f.column)

/** Residence comuni with their ISTAT code and ISTAT region (checked against ANPR). */
export const RESIDENZE = [
  {istat: '058091', regione: '12'},
  {istat: '015146', regione: '03'},
  {istat: '001272', regione: '01'},
  {istat: '063049', regione: '15'},
  {istat: '082053', regione: '19'},
  {istat: '048017', regione: '09'},
  {istat: '037006', regione: '08'},
] as const

const PRESTAZIONI = [
  ['A1.04', 'Contributi economici a integrazione del reddito familiare'],
  ['A1.05', 'Contributi economici per alloggio'],
  ['A2.07', 'Assistenza domiciliare socio-assistenziale'],
  ['A1.07', 'Contributi e integrazioni a rette per asili nido'],
  ['A2.12', 'Mensa scolastica & trasporto <servizi integrativi>'],
  ['Z9.99', 'Altro intervento di "sostegno" per l\'inclusione'],
] as const

const CITTADINANZE_ESTERE = ['008', '642', '504', '156', '804']

export function personRow(p: SyntheticPerson, rng: Rng, opts: {foreignResident?: boolean} = {}): PsRow {
  const res = pick(rng, RESIDENZE)
  const foreignBorn = p.luogoNascita.startsWith('Z')
  return {
    CodiceFiscale: p.codiceFiscale,
    Cognome: p.cognome,
    Nome: p.nome,
    AnnoNascita: String(p.annoNascita),
    LuogoNascita: p.luogoNascita,
    Genere: p.genere,
    CodiceCittadinanza: foreignBorn ? pick(rng, CITTADINANZE_ESTERE) : '380',
    CodiceSecondaCittadinanza: '',
    CodiceRegione: opts.foreignResident ? '' : res.regione,
    CodiceComune: opts.foreignResident ? '' : res.istat,
    CodiceNazione: opts.foreignResident ? '756' : '380',
  }
}

/** Services of last year by the engine clock (CASELLARIO_NOW in reproducible runs): always complete, never in the future. */
export const LAST_YEAR = romeCalendar().year - 1

/** One prestazione for a person: periodic or occasional, with or without DSU, quote and SINA. */
export function prestazioneRow(rng: Rng, seq: number, year = LAST_YEAR): PsRow {
  const [codice, denominazione] = pick(rng, PRESTAZIONI)
  const periodic = rng() < 0.6
  const month = randomInt(rng, 1, 9)
  const start = `${year}-${String(month).padStart(2, '0')}-01`
  const end = `${year}-${String(month + randomInt(rng, 1, 3)).padStart(2, '0')}-28`
  const amount = (randomInt(rng, 5000, 250000) / 100).toFixed(2)
  const withDsu = rng() < 0.5
  const withQuote = rng() < 0.3
  const drawnSina = rng() < 0.2
  const presa = rng() < 0.5 ? '1' : '2'
  // drawn in the order the fields used to draw them: the same seed gives the same rows
  const periodo = periodic ? String(randomInt(rng, 1, 12)) : ''
  const ore = codice === 'A2.07' ? `${randomInt(rng, 1, 40)}.${String(randomInt(rng, 0, 59)).padStart(2, '0')}` : ''
  const area = presa === '1' ? String(randomInt(rng, 1, 3)) : ''
  // a person taken in charge for disability has a SINA assessment, as SISO requires
  const withSina = drawnSina || area === '2'
  const ente = withQuote ? (Number(amount) * 0.7).toFixed(2) : ''
  const utente = withQuote ? (Number(amount) - Number(ente)).toFixed(2) : ''
  return {
    TipoOperazione: '',
    PresenzaProvaMezzi: withDsu ? '1' : '4',
    CaratterePrestazione: periodic ? '1' : '2',
    NumeroProtocolloDSU: withDsu ? `INPS-ISEE-${year}-${String(seq).padStart(8, '0')}-00` : '',
    AnnoProtocolloDSU: withDsu ? String(year) : '',
    DataDSU: withDsu ? `${year}-01-15` : '',
    CodicePrestazione: codice,
    DenominazionePrestazione: denominazione,
    ProtocolloDomanda: `PD/${year}/${seq}`,
    DataEvento: '',
    DataInizioPrestazione: periodic ? start : '',
    DataFinePrestazione: periodic ? end : '',
    DataErogazionePrestazione: periodic ? '' : start,
    ImportoPrestazione: periodic ? '' : amount,
    PeriodoErogazione: periodo,
    ImportoMensile: periodic ? amount : '',
    ImportoQuotaEnte: ente,
    ImportoQuotaUtente: utente,
    ImportoQuotaSSN: '',
    ImportoQuotaRichiesta: '',
    ImportoSogliaISEE: withDsu ? '15000.00' : '',
    OreServizioMensile: ore,
    PresaCarico: presa,
    AreaUtenza: area,
    SINA_Mobilita: withSina ? '2' : '',
    SINA_AttivitaVitaQuotidiana: withSina ? '3' : '',
    SINA_DisturbiAreaCognitiva: withSina ? '1' : '',
    SINA_DisturbiComportamentali: withSina ? '1' : '',
    SINA_NecessitaCureSanitarie: '',
    SINA_AreaReddituale: withSina ? '2' : '',
    SINA_AreaSupporto: withSina ? '1' : '',
    SINA_FonteDerivazioneValutazione: withSina ? '1' : '',
    SINA_StrumentoValutazione: withSina ? '1' : '',
    SINA_FonteDerivazioneInvalidita: withSina ? '1' : '',
    SINA_NecessitaInterventiSociali: withSina ? 'A2.07|A1.10' : '',
    SINA_InvaliditaCivile: withSina ? '2|6' : '',
  }
}

/**
 * `count` valid rows for about count/2 people; with `scatter`, a person's rows are spread
 * through the file as real exports do.
 */
export function* psRows(seed: number, count: number, opts: {scatter?: boolean; omocodiaShare?: number} = {}): Generator<PsRow> {
  const rng = mulberry32(seed)
  const people: PsRow[] = []
  // two synthetic people can share a codice fiscale (as real ones do: omocodia); keep them apart
  const seen = new Set<string>()
  let last: PsRow | undefined
  for (let i = 0; i < count; i++) {
    const reuse = last !== undefined && rng() < 0.45
    let person: PsRow
    if (reuse) {
      person = opts.scatter ? pick(rng, people) : last!
    } else {
      let p = randomPerson(rng, {omocodiaShare: opts.omocodiaShare ?? 0})
      // beyond 3 substitutions omocodia reaches the year/day digits, which INPS's XSD refuses (tested on its own)
      while (seen.has(p.codiceFiscale) || p.omocodia > 3) p = randomPerson(rng, {omocodiaShare: opts.omocodiaShare ?? 0})
      seen.add(p.codiceFiscale)
      person = personRow(p, rng, {foreignResident: rng() < 0.03})
      if (people.length >= 5000) people[randomInt(rng, 0, people.length - 1)] = person
      else people.push(person)
    }
    last = person
    yield {...person, ...prestazioneRow(rng, i + 1)}
  }
}

function csvCell(v: string, delimiter: string): string {
  return v.includes(delimiter) || v.includes('"') || v.includes('\n') ? `"${v.replaceAll('"', '""')}"` : v
}

/** Writes canonical CSV (UTF-8, `,`, LF) streaming, without holding the rows. */
export function writeCsv(path: string, rows: Iterable<PsRow>, opts: {headers?: string[]; delimiter?: string; eol?: string} = {}): number {
  const headers = opts.headers ?? CANONICAL_HEADERS
  const d = opts.delimiter ?? ','
  const eol = opts.eol ?? '\n'
  const fd = openSync(path, 'w', 0o600)
  let parts: string[] = [headers.map((h) => csvCell(h, d)).join(d) + eol]
  let n = 0
  let size = 0
  for (const row of rows) {
    const line = headers.map((h) => csvCell(row[h] ?? '', d)).join(d) + eol
    parts.push(line)
    size += line.length
    n++
    if (size > 1 << 20) {
      writeSync(fd, parts.join(''))
      parts = []
      size = 0
    }
  }
  writeSync(fd, parts.join(''))
  closeSync(fd)
  return n
}

/** Italian headers of the shipped `comune-excel-it` template, by canonical field. */
export function excelItalianHeaders(columns: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [field, rule] of Object.entries(columns)) {
    out[field] = typeof rule === 'string' ? rule : (rule as {column: string}).column
  }
  return out
}

const DATE_FIELDS = ['DataDSU', 'DataEvento', 'DataInizioPrestazione', 'DataFinePrestazione', 'DataErogazionePrestazione']
const MONEY_FIELDS = [
  'ImportoPrestazione', 'ImportoMensile', 'ImportoQuotaEnte', 'ImportoQuotaUtente', 'ImportoQuotaSSN',
  'ImportoQuotaRichiesta', 'ImportoSogliaISEE', 'OreServizioMensile',
]
const LABELS: Record<string, Record<string, string>> = {
  Genere: {'1': 'M', '2': 'F'},
  CaratterePrestazione: {'1': 'Periodica', '2': 'Occasionale'},
  PresaCarico: {'1': 'Sì', '2': 'No'},
  AreaUtenza: {'1': 'Famiglia e minori', '2': 'Disabilità e non autosufficienza', '3': 'Povertà ed esclusione sociale'},
  TipoOperazione: {I: 'Inserimento', C: 'Cancellazione'},
  SINA_Mobilita: {'1': 'Si sposta da solo', '2': 'Si sposta assistito', '3': 'Non si sposta'},
}

/** 1234.5 → 1.234,5 (what Italian Excel shows and writes) */
export function italianNumber(v: string): string {
  const [int, dec] = v.split('.')
  const grouped = int.replace(/\B(?=(\d{3})+(?!\d))/g, '.')
  return dec === undefined ? grouped : `${grouped},${dec}`
}

/** The same row as an Italian Excel export: dd/mm/yyyy, 1.234,56, labels instead of codes. */
export function toExcelItalian(row: PsRow): PsRow {
  const out: PsRow = {...row}
  for (const f of DATE_FIELDS) if (out[f]) out[f] = out[f].split('-').reverse().join('/')
  for (const f of MONEY_FIELDS) if (out[f]) out[f] = italianNumber(out[f])
  for (const [f, labels] of Object.entries(LABELS)) if (out[f]) out[f] = labels[out[f]] ?? out[f]
  return out
}

/** Writes rows as Italian Excel saves "CSV (separato da punto e virgola)": Windows-1252, `;`, CRLF. */
export function writeExcelItalianCsv(path: string, rows: Iterable<PsRow>, headersByField: Record<string, string>): void {
  const fields = Object.keys(headersByField)
  const cell = (v: string): string => (/[;"\r\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v)
  const lines = [fields.map((f) => cell(headersByField[f])).join(';')]
  for (const row of rows) {
    const it = toExcelItalian(row)
    lines.push(fields.map((f) => cell(it[f] ?? '')).join(';'))
  }
  // latin1 = Windows-1252 for every character the synthetic data uses (à è é ì ò ù)
  const fd = openSync(path, 'w', 0o600)
  writeSync(fd, Buffer.from(lines.join('\r\n') + '\r\n', 'latin1'))
  closeSync(fd)
}
