import {belfioreYearCheck, comuneByIstat, type BelfioreYearCheck, type Comune} from '../tables/index.js'
import {ITALIA, isKnownPrestazione, isoCountryRule, missingFields, sameYear, unknownInList} from './common-rules.js'
import {analyzeCodiceFiscale} from './codice-fiscale.js'
import type {FlowSpec, Rule, RuleFinding} from './model.js'

/**
 * Semantic rules of the PS/PSA/SINA flow: the cross-field requirements of spec v2.0.1 table 9
 * plus the checks that catch what INPS would refuse or mis-file. Schema rules (required,
 * lengths, codes, date syntax) come from the model itself; these run only on values that
 * already passed them, so each rule may trust the syntax of what it reads.
 */

/** Codes for which SIUSS wants a presa in carico (spec practice, see domain notes §1.2). */
const PRESA_IN_CARICO_CODES = /^A2\.(1[6-9]|2\d)$/i
const CENTS = 0.01 + 1e-9

// Lookups repeated on every row, memoised (bounded: a file has few distinct places and codes).
// Two rules of a row ask the same question, and so do the rows of one beneficiary: the last
// answer is kept too, which spares hashing the row's fresh strings for a map.
const birthplaceMemo = new Map<string, (BelfioreYearCheck | undefined)[]>()
let lastBirthplace = {code: '', year: 0, check: 'unknown' as BelfioreYearCheck}
function birthplaceCheck(code: string, year: number): BelfioreYearCheck {
  if (code === lastBirthplace.code && year === lastBirthplace.year) return lastBirthplace.check
  lastBirthplace = {code, year, check: birthplaceLookup(code, year)}
  return lastBirthplace.check
}
function birthplaceLookup(code: string, year: number): BelfioreYearCheck {
  let byYear = birthplaceMemo.get(code)
  if (byYear === undefined) {
    byYear = []
    if (birthplaceMemo.size < 20_000) birthplaceMemo.set(code, byYear)
  }
  return (byYear[year - 1800] ??= belfioreYearCheck(code, year))
}
/** The year in a DSU protocol number as INPS issues them (INPS-ISEE-2025-00012345X-00), if it has one. */
function dsuProtocolYear(numero: string): string | undefined {
  return /^INPS-ISEE-(\d{4})-/i.exec(numero)?.[1]
}

let lastComune: {istat: string; comune: Comune | undefined} = {istat: '', comune: undefined}
/** The comune that exists today with this ISTAT code (two rules ask for it). */
function comuneToday(istat: string): Comune | undefined {
  if (istat !== lastComune.istat) lastComune = {istat, comune: comuneByIstat(istat)}
  return lastComune.comune
}


export function psRules(flow: Omit<FlowSpec, 'rules' | 'delta'>): Rule[] {
  const i = (column: string): number => flow.field(column).index
  const CF = i('CodiceFiscale')
  const ANNO = i('AnnoNascita')
  const LUOGO = i('LuogoNascita')
  const GENERE = i('Genere')
  const REGIONE = i('CodiceRegione')
  const COMUNE = i('CodiceComune')
  const NAZIONE = i('CodiceNazione')
  const DSU = [i('NumeroProtocolloDSU'), i('AnnoProtocolloDSU'), i('DataDSU')]
  const CARATTERE = i('CaratterePrestazione')
  const CODICE = i('CodicePrestazione')
  const EVENTO = i('DataEvento')
  const INIZIO = i('DataInizioPrestazione')
  const FINE = i('DataFinePrestazione')
  const EROGAZIONE = i('DataErogazionePrestazione')
  const CITTADINANZA = i('CodiceCittadinanza')
  const IMPORTO = i('ImportoPrestazione')
  const MENSILE = i('ImportoMensile')
  const QUOTE = [i('ImportoQuotaEnte'), i('ImportoQuotaUtente'), i('ImportoQuotaSSN')]
  const PRESA = i('PresaCarico')
  const AREA = i('AreaUtenza')
  const PROVA_MEZZI = i('PresenzaProvaMezzi')
  const NECESSITA = i('SINA_NecessitaInterventiSociali')
  const SINA = flow.fields.filter((f) => f.column.startsWith('SINA_')).map((f) => f.index)
  const residenzaMissing = missingFields(flow, 'RESIDENCE_ITALY_INCOMPLETE', ['CodiceRegione', 'CodiceComune'])
  const periodicaMissing = missingFields(flow, 'PERIODIC_REQUIREMENTS', ['DataInizioPrestazione', 'ImportoMensile'])
  const occasionaleMissing = missingFields(flow, 'OCCASIONAL_REQUIREMENTS', ['DataErogazionePrestazione', 'ImportoPrestazione'])
  const dsuMissing = missingFields(flow, 'DSU_INCOMPLETE', ['NumeroProtocolloDSU', 'AnnoProtocolloDSU', 'DataDSU'])

  const cfRules: Rule[] = [
    {
      code: 'CF_CHECK_CHARACTER',
      severity: 'error',
      description: 'Il carattere di controllo del codice fiscale (16 caratteri, omocodia compresa) o la cifra di controllo (11 cifre) è errato',
      check: (v) => {
        const cf = analyzeCodiceFiscale(v[CF])
        if (cf.kind !== 'malformed' && !cf.valid) return {field: 'CodiceFiscale', code: 'CF_CHECK_CHARACTER'}
      },
    },
    {
      code: 'CF_OMOCODIA_NOT_ACCEPTED',
      severity: 'error',
      description: "Codice fiscale omocodico con lettere nelle posizioni dell'anno o del giorno: lo schema INPS non lo accetta",
      check: (v) => {
        const cf = analyzeCodiceFiscale(v[CF])
        if (cf.kind === 'personal' && cf.valid && !cf.xsdCompatible) return {field: 'CodiceFiscale', code: 'CF_OMOCODIA_NOT_ACCEPTED'}
      },
    },
    {
      code: 'CF_BIRTH_YEAR_MISMATCH',
      severity: 'warning',
      description: "L'anno di nascita non corrisponde a quello nel codice fiscale",
      check: (v) => {
        const cf = analyzeCodiceFiscale(v[CF])
        if (cf.kind === 'personal' && cf.valid && Number(v[ANNO]) % 100 !== cf.yy) {
          return {field: 'AnnoNascita', code: 'CF_BIRTH_YEAR_MISMATCH', params: {yy: String(cf.yy).padStart(2, '0')}}
        }
      },
    },
    {
      code: 'CF_GENDER_MISMATCH',
      severity: 'warning',
      description: 'Il genere non corrisponde a quello nel codice fiscale',
      check: (v) => {
        const cf = analyzeCodiceFiscale(v[CF])
        if (cf.kind === 'personal' && cf.valid && v[GENERE] !== cf.genere) return {field: 'Genere', code: 'CF_GENDER_MISMATCH', params: {genere: cf.genere}}
      },
    },
    {
      code: 'CF_BIRTHPLACE_MISMATCH',
      severity: 'warning',
      description: 'Il luogo di nascita non corrisponde a quello nel codice fiscale',
      check: (v) => {
        const cf = analyzeCodiceFiscale(v[CF])
        if (cf.kind === 'personal' && cf.valid && v[LUOGO] !== cf.belfiore && v[LUOGO].toUpperCase() !== cf.belfiore) {
          return {field: 'LuogoNascita', code: 'CF_BIRTHPLACE_MISMATCH', params: {belfiore: cf.belfiore}}
        }
      },
    },
  ]

  const anagraficaRules: Rule[] = [
    {
      code: 'BIRTHPLACE_UNKNOWN',
      severity: 'warning',
      description: 'Il luogo di nascita non è il codice Belfiore di un comune italiano o di uno stato estero',
      check: (v) => (v[LUOGO] !== '' && birthplaceCheck(v[LUOGO], Number(v[ANNO])) === 'unknown' ? {field: 'LuogoNascita', code: 'BIRTHPLACE_UNKNOWN'} : undefined),
    },
    {
      code: 'BIRTHPLACE_NOT_VALID_IN_YEAR',
      severity: 'warning',
      description: "Il codice Belfiore del luogo di nascita era già cessato nell'anno di nascita",
      // 'not-yet' is not reported: the tables' start dates are unreliable for comuni that changed province
      check: (v) =>
        v[LUOGO] !== '' && birthplaceCheck(v[LUOGO], Number(v[ANNO])) === 'ceased' ? {field: 'LuogoNascita', code: 'BIRTHPLACE_NOT_VALID_IN_YEAR', params: {anno: v[ANNO]}} : undefined,
    },
    isoCountryRule(flow, ['CodiceCittadinanza', 'CodiceSecondaCittadinanza', 'CodiceNazione']),
    {
      code: 'CITIZENSHIP_ISTAT_ITALY',
      severity: 'warning',
      description: "Cittadinanza 100 (Bulgaria in ISO 3166) per una persona nata in Italia: 100 è il codice ISTAT dell'Italia, che in ISO è 380",
      check: (v) => (v[CITTADINANZA] === '100' && v[LUOGO] !== '' && !v[LUOGO].startsWith('Z') ? {field: 'CodiceCittadinanza', code: 'CITIZENSHIP_ISTAT_ITALY'} : undefined),
    },
    {
      code: 'RESIDENCE_ITALY_INCOMPLETE',
      severity: 'error',
      description: 'Con CodiceNazione 380 (Italia) servono CodiceRegione e CodiceComune',
      check: (v) => (v[NAZIONE] === ITALIA ? residenzaMissing(v) : undefined),
    },
    {
      code: 'COMUNE_UNKNOWN',
      severity: 'error',
      description: 'Il codice ISTAT del comune di residenza non esiste',
      check: (v) => {
        if (v[COMUNE] === '' || comuneToday(v[COMUNE]) !== undefined) return
        // a comune merged since then still counts on the prestazione's own date
        const at = v[INIZIO] || v[EROGAZIONE] || v[EVENTO]
        if (at !== '' && comuneByIstat(v[COMUNE], at) !== undefined) return
        return {field: 'CodiceComune', code: 'COMUNE_UNKNOWN', params: {valore: v[COMUNE]}}
      },
    },
    {
      code: 'COMUNE_REGION_MISMATCH',
      severity: 'warning',
      description: 'Il comune di residenza non appartiene alla regione indicata (codifica ISTAT delle regioni)',
      check: (v) => {
        if (v[COMUNE] === '' || v[REGIONE] === '') return
        const comune = comuneToday(v[COMUNE])
        if (comune && comune.region !== v[REGIONE]) {
          return {field: 'CodiceRegione', code: 'COMUNE_REGION_MISMATCH', params: {regione: comune.region}}
        }
      },
    },
  ]

  const prestazioneRules: Rule[] = [
    {
      code: 'DSU_INCOMPLETE',
      severity: 'error',
      description: 'NumeroProtocolloDSU, AnnoProtocolloDSU e DataDSU: tutti o nessuno',
      check: (v) => {
        const empty = (v[DSU[0]] === '' ? 1 : 0) + (v[DSU[1]] === '' ? 1 : 0) + (v[DSU[2]] === '' ? 1 : 0)
        if (empty === 0 || empty === 3) return
        return dsuMissing(v)
      },
    },
    {
      code: 'PERIODIC_REQUIREMENTS',
      severity: 'error',
      description: 'Prestazione periodica (CaratterePrestazione 1): servono DataInizioPrestazione e ImportoMensile',
      check: (v) => (v[CARATTERE] === '1' ? periodicaMissing(v) : undefined),
    },
    {
      code: 'OCCASIONAL_REQUIREMENTS',
      severity: 'error',
      description: 'Prestazione occasionale (CaratterePrestazione 2): servono DataErogazionePrestazione e ImportoPrestazione',
      check: (v) => (v[CARATTERE] === '2' ? occasionaleMissing(v) : undefined),
    },
    {
      code: 'END_DATE_OTHER_YEAR',
      severity: 'error',
      description: 'DataFinePrestazione deve essere nello stesso anno di DataInizioPrestazione (una prestazione periodica a cavallo di anni è divisa per anno)',
      check: (v) => {
        // a periodic service across 31 December is split per year (DESIGN §5), unless it ends before it starts
        if (v[FINE] !== '' && v[INIZIO] !== '' && !sameYear(v[FINE], v[INIZIO]) && (v[CARATTERE] !== '1' || v[FINE] < v[INIZIO])) {
          return {field: 'DataFinePrestazione', code: 'END_DATE_OTHER_YEAR', params: {anno: v[INIZIO].slice(0, 4)}}
        }
      },
    },
    {
      code: 'END_DATE_BEFORE_START',
      severity: 'error',
      description: 'DataFinePrestazione non può precedere DataInizioPrestazione',
      check: (v) => {
        // an end in an earlier year is already END_DATE_OTHER_YEAR: one mistake, one finding
        if (v[FINE] !== '' && v[INIZIO] !== '' && sameYear(v[FINE], v[INIZIO]) && v[FINE] < v[INIZIO]) {
          return {field: 'DataFinePrestazione', code: 'END_DATE_BEFORE_START'}
        }
      },
    },
    {
      code: 'SHARES_SUM_MISMATCH',
      severity: 'error',
      description: "Le quote (ente + utente + SSN), se presenti, devono sommare all'importo mensile o della prestazione (±0,01)",
      check: (v, _ctx, invalid) => {
        if (v[QUOTE[0]] === '' && v[QUOTE[1]] === '' && v[QUOTE[2]] === '') return
        // a share or an amount that is itself wrong is reported where it is, not summed as 0
        if (invalid && [...QUOTE, IMPORTO, MENSILE].some((q) => invalid.has(q))) return
        const total = v[CARATTERE] === '2' ? v[IMPORTO] : v[MENSILE]
        if (total === '') return
        const sum = QUOTE.reduce((acc, q) => acc + (v[q] === '' ? 0 : Number(v[q])), 0)
        if (Math.abs(sum - Number(total)) > CENTS) {
          return {
            field: 'ImportoQuotaEnte',
            code: 'SHARES_SUM_MISMATCH',
            params: {somma: sum.toFixed(2), importo: total, campo: v[CARATTERE] === '2' ? 'ImportoPrestazione' : 'ImportoMensile'},
          }
        }
      },
    },
    {
      code: 'AREA_REQUIRED_WITH_PRESA_IN_CARICO',
      severity: 'error',
      description: 'Con PresaCarico 1 (sì) serve AreaUtenza',
      check: (v) => {
        if (v[PRESA] === '1' && v[AREA] === '') return {field: 'AreaUtenza', code: 'AREA_REQUIRED_WITH_PRESA_IN_CARICO'}
      },
    },
    {
      code: 'A1_05_01_REQUIRES_EVENT_DATE',
      severity: 'error',
      description: 'La prestazione A1.05.01 (contributo affitto, L.431/98) richiede DataEvento',
      check: (v) => {
        if (v[EVENTO] === '' && v[CODICE].length === 8 && v[CODICE].toUpperCase() === 'A1.05.01') return {field: 'DataEvento', code: 'A1_05_01_REQUIRES_EVENT_DATE'}
      },
    },
    {
      code: 'PRESTAZIONE_UNKNOWN',
      severity: 'warning',
      description: 'Codice prestazione (anche nella lista SINA NecessitaInterventiSociali o SINBA Prestazioni) non presente nel nomenclatore incluso (la lista pubblica è parziale: si può estendere)',
      check: (v) => {
        const found: RuleFinding[] = []
        if (!isKnownPrestazione(v[CODICE])) found.push({field: 'CodicePrestazione', code: 'PRESTAZIONE_UNKNOWN', params: {valore: v[CODICE]}})
        const inList = unknownInList(v[NECESSITA])
        if (inList) found.push({field: 'SINA_NecessitaInterventiSociali', code: 'PRESTAZIONE_UNKNOWN', params: {valore: inList}})
        return found.length > 0 ? found : undefined
      },
    },
    {
      code: 'PRESTAZIONE_NEEDS_PRESA_IN_CARICO',
      severity: 'warning',
      description: 'Le prestazioni da A2.16 a A2.29 vanno inviate solo con presa in carico del servizio sociale professionale',
      check: (v) => {
        if (v[PRESA] === '2' && PRESA_IN_CARICO_CODES.test(v[CODICE])) {
          return {field: 'PresaCarico', code: 'PRESTAZIONE_NEEDS_PRESA_IN_CARICO', params: {valore: v[CODICE]}}
        }
      },
    },
  ]

  const meansTestRules: Rule[] = [
    {
      code: 'PSA_WITHOUT_DSU',
      severity: 'warning',
      description: 'Prestazione soggetta a ISEE (PresenzaProvaMezzi 1) senza i dati della DSU',
      check: (v) => {
        if (v[PROVA_MEZZI] === '1' && v[DSU[0]] === '' && v[DSU[1]] === '' && v[DSU[2]] === '') return {field: 'NumeroProtocolloDSU', code: 'PSA_WITHOUT_DSU'}
      },
    },
    {
      code: 'DSU_YEAR_MISMATCH',
      severity: 'error',
      description: "L'anno nel protocollo DSU (INPS-ISEE-AAAA-…), AnnoProtocolloDSU e l'anno di DataDSU non coincidono",
      check: (v) => {
        const anno = v[DSU[1]]
        if (anno === '') return
        const fromNumber = dsuProtocolYear(v[DSU[0]])
        if (fromNumber !== undefined && fromNumber !== anno) return {field: 'AnnoProtocolloDSU', code: 'DSU_YEAR_MISMATCH', params: {anno: fromNumber, campo: 'NumeroProtocolloDSU'}}
        if (v[DSU[2]] !== '' && v[DSU[2]].slice(0, 4) !== anno) return {field: 'AnnoProtocolloDSU', code: 'DSU_YEAR_MISMATCH', params: {anno: v[DSU[2]].slice(0, 4), campo: 'DataDSU'}}
      },
    },
    {
      code: 'SINA_MISSING_FOR_DISABILITY',
      severity: 'warning',
      description: 'Presa in carico nell’area disabilità e non autosufficienza (AreaUtenza 2) senza la valutazione SINA',
      check: (v) => {
        if (v[AREA] !== '2' || v[PRESA] !== '1') return
        for (const s of SINA) if (v[s] !== '') return
        return {field: 'SINA_Mobilita', code: 'SINA_MISSING_FOR_DISABILITY'}
      },
    },
  ]

  return [...cfRules, ...anagraficaRules, ...prestazioneRules, ...meansTestRules]
}
