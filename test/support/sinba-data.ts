import {romeCalendar} from '../../src/clock/index.js'
import {SINBA} from '../../src/flows/sinba.js'
import {mulberry32, pick, randomInt, type Rng} from './synthetic.js'

/**
 * Synthetic SINBA rows (canonical columns), one per minor: valid by construction and
 * deterministic for a seed. Invented identifiers, never codici fiscali.
 */

export type SinbaRow = Record<string, string>

export const SINBA_HEADERS = SINBA.fields.map((f) => f.column)

/** dates run up to this month of the engine clock (CASELLARIO_NOW in reproducible runs), never after it */
const TODAY = romeCalendar()
const YEAR = TODAY.year
const CITIZENSHIP = ['380', '380', '380', '008', '642', '504', '990']
const REGIONS = ['01', '03', '05', '08', '09', '12', '15', '19']
const PRESTAZIONI = ['A2.02', 'A1.04', 'A2.11', 'A3.02', 'A1.09', 'Z9.99']

function monthYear(rng: Rng, fromYear: number, toYear = YEAR, toMonth = TODAY.month + 1): string {
  const year = randomInt(rng, fromYear, toYear)
  const month = randomInt(rng, 1, year === toYear ? toMonth : 12)
  return `${String(month).padStart(2, '0')}/${year}`
}

export function sinbaRow(rng: Rng, seq: number): SinbaRow {
  const born = randomInt(rng, YEAR - 17, YEAR - 1)
  const age = YEAR - born
  const band = String(Math.min(6, Math.floor(age / 3) + 1))
  const disabled = rng() < 0.15
  const referral = rng() < 0.4
  const measure = rng() < 0.3
  const measureType = measure ? pick(rng, ['1', '4', '5', '7']) : ''
  const foster = measureType === '4'
  const residential = !foster && rng() < 0.15
  const italian = rng() < 0.9
  const firstYear = Math.max(born, YEAR - 11)
  const prima = monthYear(rng, firstYear)
  const later = (): string => monthYear(rng, Number(prima.slice(3)))
  return {
    IDBeneficiario: `MIN-${String(seq).padStart(6, '0')}`,
    MinoreStranieroNoAcc: italian ? '2' : pick(rng, ['1', '2']),
    CondizioneMinore: pick(rng, ['1', '1', '1', '3', '4']),
    LuogoVita: foster ? '3' : residential ? pick(rng, ['4', '5']) : pick(rng, ['1', '1', '2']),
    ScuolaFrequentata: age < 3 ? '3' : age < 6 ? '4' : age < 11 ? '5' : age < 14 ? '6' : '7',
    CondizioneLavoro: '1',
    Disabilita: disabled ? '1' : '2',
    TipoDisabilita: disabled ? pick(rng, ['1', '2', '3', '4']) : '',
    InvCivCertificazioni: disabled && rng() < 0.5 ? pick(rng, ['4', '5']) : '',
    CodiceCittadinanzaPadre: pick(rng, CITIZENSHIP),
    CodiceCittadinanzaMadre: pick(rng, CITIZENSHIP),
    CodiceRegioneResidenzaPadre: rng() < 0.7 ? pick(rng, REGIONS) : '',
    CodiceRegioneResidenzaMadre: rng() < 0.8 ? pick(rng, REGIONS) : '',
    TitoloStudioPadre: rng() < 0.6 ? pick(rng, ['2', '3', '4', '5', '6']) : '',
    TitoloStudioMadre: rng() < 0.7 ? pick(rng, ['2', '3', '4', '5', '6']) : '',
    OccupazionePadre: rng() < 0.6 ? pick(rng, ['1', '2', '3', '8']) : '',
    OccupazioneMadre: rng() < 0.7 ? pick(rng, ['1', '2', '4', '8']) : '',
    DataPrimaSegnalazione: prima,
    FonteSegnalazione: String(randomInt(rng, 1, 14)),
    ValutazioneMinore: String(randomInt(rng, 1, 13)),
    ValutazioneFamigliaMinore: String(randomInt(rng, 1, 13)),
    SegnalazioneAutoritaGiudiziaria: referral ? '1' : '2',
    DataSegnalazione: referral ? later() : '',
    ProvvedimentoGiudiziario: measure ? '1' : '2',
    DataProvvedimentoGiudiziario: measure ? later() : '',
    AutoritaProvvedimento: measure ? pick(rng, ['1', '2', '4']) : '',
    PotestaTutela: measure && rng() < 0.3 ? pick(rng, ['1', '3', '4']) : '',
    TipoProvvedimentoGiudiziario: measureType,
    FormaInterventoAffido: foster ? pick(rng, ['1', '2']) : '',
    TipoInterventoAffido: foster ? pick(rng, ['1', '2']) : '',
    DurataAffido: foster ? pick(rng, ['1', '2']) : '',
    CarattereAffido: foster ? pick(rng, ['1', '2']) : '',
    EsitoAffido: '',
    CarattereInserimentoResidenziale: residential ? String(randomInt(rng, 1, 10)) : '',
    FormaInserimentoResidenziale: residential ? pick(rng, ['1', '2']) : '',
    TipoInserimentoResidenziale: residential ? pick(rng, ['1', '2']) : '',
    EsitoInserimentoStruttura: '',
    MotivazioneChiusuraCarico: '',
    SituazioneChiusuraCarico: '',
    CollaborazioniInterventi: rng() < 0.5 ? String(randomInt(rng, 1, 9)) : '',
    NumeroComponentiISEE: rng() < 0.6 ? String(randomInt(rng, 2, 7)) : '',
    FasciaEtaBeneficiario: band,
    FasciaISEEBeneficiario: rng() < 0.6 ? String(randomInt(rng, 1, 8)) : '',
    AnnoNascita: String(born),
    CodiceRegioneResidenza: italian ? pick(rng, REGIONS) : '',
    CodiceNazioneResidenza: italian ? '380' : pick(rng, ['756', '250', '008']),
    Prestazioni: [...new Set([pick(rng, PRESTAZIONI), pick(rng, PRESTAZIONI)])].join('|'),
    ComposizioneFamiglia: [...new Set(['1', pick(rng, ['2', '3', '4', '6'])])].join('|'),
  }
}

export function* sinbaRows(seed: number, count: number): Generator<SinbaRow> {
  const rng = mulberry32(seed)
  for (let i = 0; i < count; i++) yield sinbaRow(rng, i + 1)
}
