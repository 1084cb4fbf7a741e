import {looksLikeCodiceFiscale} from './codice-fiscale.js'
import {ITALIA, isoCountryRule, missingFields, unknownInList} from './common-rules.js'
import type {FlowSpec, Rule, RuleContext, RuleFinding} from './model.js'

/**
 * Semantic rules of the SINBA flow: the requirements the spec states (region with Italian
 * residence) and those that follow from what each field means (a judicial measure has a date
 * and an authority; foster-care fields describe a foster care). Schema rules come from the model.
 */

const SI = '1'
const NO = '2'
const FOSTER_FAMILY = '3' // LuogoVita: in famiglia affidataria
const RESIDENTIAL = ['4', '5'] // LuogoVita: in struttura residenziale sociale / sanitaria
const FOSTER_MEASURE = '4' // TipoProvvedimentoGiudiziario: affidamento familiare

/** MM/YYYY → a number that sorts like the date */
function monthIndex(v: string): number {
  return Number(v.slice(3, 7)) * 12 + Number(v.slice(0, 2)) - 1
}

export function sinbaRules(flow: Omit<FlowSpec, 'rules' | 'delta'>): Rule[] {
  const i = (column: string): number => flow.field(column).index
  const ID = i('IDBeneficiario')
  const DISABILITA = i('Disabilita')
  const TIPO_DISABILITA = i('TipoDisabilita')
  const INVCIV = i('InvCivCertificazioni')
  const SEGNALAZIONE = i('SegnalazioneAutoritaGiudiziaria')
  const PROVVEDIMENTO = i('ProvvedimentoGiudiziario')
  const TIPO_PROVVEDIMENTO = i('TipoProvvedimentoGiudiziario')
  const LUOGO_VITA = i('LuogoVita')
  const ANNO = i('AnnoNascita')
  const FASCIA = i('FasciaEtaBeneficiario')
  const PRIMA = i('DataPrimaSegnalazione')
  const NAZIONE = i('CodiceNazioneResidenza')
  const PRESTAZIONI = i('Prestazioni')
  const DATES = ['DataPrimaSegnalazione', 'DataSegnalazione', 'DataProvvedimentoGiudiziario'].map((c) => [i(c), c] as const)
  const JUDICIAL = ['DataProvvedimentoGiudiziario', 'AutoritaProvvedimento', 'PotestaTutela', 'TipoProvvedimentoGiudiziario']
  const FOSTER = ['FormaInterventoAffido', 'TipoInterventoAffido', 'DurataAffido', 'CarattereAffido', 'EsitoAffido']
  const RESIDENCE = ['CarattereInserimentoResidenziale', 'FormaInserimentoResidenziale', 'TipoInserimentoResidenziale', 'EsitoInserimentoStruttura']
  const presentOf = (columns: string[]): ((v: readonly string[]) => string | undefined) => {
    const fields = columns.map((c) => [i(c), c] as const)
    return (v) => fields.find(([index]) => v[index] !== '')?.[1]
  }
  const firstJudicial = presentOf(JUDICIAL)
  const firstFoster = presentOf(FOSTER)
  const firstResidence = presentOf(RESIDENCE)
  const judicialMissing = missingFields(flow, 'JUDICIAL_MEASURE_INCOMPLETE', ['DataProvvedimentoGiudiziario', 'AutoritaProvvedimento', 'TipoProvvedimentoGiudiziario'])
  const segnalazioneMissing = missingFields(flow, 'REFERRAL_DATE_REQUIRED', ['DataSegnalazione'])
  const regioneMissing = missingFields(flow, 'RESIDENCE_ITALY_INCOMPLETE', ['CodiceRegioneResidenza'])

  return [
    {
      code: 'PRESTAZIONE_UNKNOWN',
      severity: 'warning',
      description: 'Codice prestazione nella lista Prestazioni non presente nel nomenclatore incluso (la lista pubblica è parziale: si può estendere)',
      check: (v) => {
        const unknown = unknownInList(v[PRESTAZIONI])
        if (unknown) return {field: 'Prestazioni', code: 'PRESTAZIONE_UNKNOWN', params: {valore: unknown}}
      },
    },
    {
      code: 'ID_LOOKS_LIKE_CF',
      severity: 'warning',
      description: "IDBeneficiario sembra un codice fiscale: SINBA vuole un identificativo dell'ente, mai il codice fiscale del minore",
      check: (v) => (looksLikeCodiceFiscale(v[ID]) ? {field: 'IDBeneficiario', code: 'ID_LOOKS_LIKE_CF'} : undefined),
    },
    {
      code: 'DISABILITY_TYPE_REQUIRED',
      severity: 'error',
      description: 'Con Disabilita 1 (sì) serve TipoDisabilita',
      check: (v) => (v[DISABILITA] === SI && v[TIPO_DISABILITA] === '' ? {field: 'TipoDisabilita', code: 'DISABILITY_TYPE_REQUIRED'} : undefined),
    },
    {
      code: 'DISABILITY_FIELDS_WITHOUT_DISABILITY',
      severity: 'error',
      description: 'Con Disabilita 2 (no) TipoDisabilita e InvCivCertificazioni vanno lasciati vuoti',
      check: (v) => {
        if (v[DISABILITA] !== NO) return
        if (v[TIPO_DISABILITA] !== '') return {field: 'TipoDisabilita', code: 'DISABILITY_FIELDS_WITHOUT_DISABILITY'}
        if (v[INVCIV] !== '') return {field: 'InvCivCertificazioni', code: 'DISABILITY_FIELDS_WITHOUT_DISABILITY'}
      },
    },
    {
      code: 'REFERRAL_DATE_REQUIRED',
      severity: 'error',
      description: "Con SegnalazioneAutoritaGiudiziaria 1 (sì) serve DataSegnalazione",
      check: (v) => (v[SEGNALAZIONE] === SI ? segnalazioneMissing(v) : undefined),
    },
    {
      code: 'JUDICIAL_MEASURE_INCOMPLETE',
      severity: 'error',
      description: 'Con ProvvedimentoGiudiziario 1 (sì) servono DataProvvedimentoGiudiziario, AutoritaProvvedimento e TipoProvvedimentoGiudiziario',
      check: (v) => (v[PROVVEDIMENTO] === SI ? judicialMissing(v) : undefined),
    },
    {
      code: 'JUDICIAL_FIELDS_WITHOUT_MEASURE',
      severity: 'error',
      description: 'Con ProvvedimentoGiudiziario 2 (no) i campi del provvedimento vanno lasciati vuoti',
      check: (v) => {
        const field = v[PROVVEDIMENTO] === NO ? firstJudicial(v) : undefined
        return field ? {field, code: 'JUDICIAL_FIELDS_WITHOUT_MEASURE'} : undefined
      },
    },
    {
      code: 'FOSTER_FIELDS_WITHOUT_FOSTER_CARE',
      severity: 'warning',
      description: 'Campi sull\'affido compilati ma il minore non vive in famiglia affidataria né ha un provvedimento di affidamento familiare',
      check: (v) => {
        if (v[LUOGO_VITA] === FOSTER_FAMILY || v[TIPO_PROVVEDIMENTO] === FOSTER_MEASURE) return
        const field = firstFoster(v)
        // an EsitoAffido alone describes a foster care that has ended: that is fine
        return field && field !== 'EsitoAffido' ? {field, code: 'FOSTER_FIELDS_WITHOUT_FOSTER_CARE'} : undefined
      },
    },
    {
      code: 'RESIDENTIAL_FIELDS_WITHOUT_PLACEMENT',
      severity: 'warning',
      description: 'Campi sull\'inserimento in struttura compilati ma il minore non vive in una struttura residenziale',
      check: (v) => {
        if (RESIDENTIAL.includes(v[LUOGO_VITA])) return
        const field = firstResidence(v)
        return field && field !== 'EsitoInserimentoStruttura' ? {field, code: 'RESIDENTIAL_FIELDS_WITHOUT_PLACEMENT'} : undefined
      },
    },
    {
      code: 'DATE_IN_FUTURE',
      severity: 'error',
      description: 'Le date (mese/anno) non possono essere nel futuro né precedere l\'anno di nascita',
      check: (v, ctx) => {
        const now = currentMonthIndex(ctx)
        let out: RuleFinding[] | undefined
        for (const [index, column] of DATES) {
          const d = v[index]
          if (d === '') continue
          if (monthIndex(d) > now) (out ??= []).push({field: column, code: 'DATE_IN_FUTURE'})
          else if (v[ANNO] !== '' && Number(d.slice(3, 7)) < Number(v[ANNO])) (out ??= []).push({field: column, code: 'DATE_BEFORE_BIRTH', params: {anno: v[ANNO]}})
        }
        return out
      },
    },
    {
      code: 'AGE_BAND_MISMATCH',
      severity: 'warning',
      description: "FasciaEtaBeneficiario non compatibile con l'anno di nascita tra la prima segnalazione e oggi",
      check: (v, ctx) => {
        if (v[ANNO] === '' || v[FASCIA] === '' || v[PRIMA] === '') return
        const born = Number(v[ANNO])
        const band = Number(v[FASCIA])
        // ages the minor had between the first referral and today (the year of birth is all we know)
        const youngest = Number(v[PRIMA].slice(3, 7)) - born - 1
        const oldest = ctx.currentYear - born
        const [from, to] = [(band - 1) * 3, band * 3]
        if (oldest < from || youngest >= to) return {field: 'FasciaEtaBeneficiario', code: 'AGE_BAND_MISMATCH', params: {anno: v[ANNO]}}
      },
    },
    isoCountryRule(flow, ['CodiceCittadinanzaPadre', 'CodiceCittadinanzaMadre', 'CodiceNazioneResidenza']),
    {
      code: 'RESIDENCE_ITALY_INCOMPLETE',
      severity: 'error',
      description: 'Con CodiceNazioneResidenza 380 (Italia) serve CodiceRegioneResidenza',
      check: (v) => (v[NAZIONE] === ITALIA ? regioneMissing(v) : undefined),
    },
  ]
}

function currentMonthIndex(ctx: RuleContext): number {
  return ctx.currentYear * 12 + (ctx.currentMonth ?? 11)
}
