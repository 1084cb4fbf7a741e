import {field} from './model.js'

/** Who sends a flusso (Ente in IdentificazioneFlusso), as configured: checked by validate/ente.ts. */
export interface EnteIdentity {
  codice: string
  denominazione?: string
  /** Belfiore code of the ente's comune (Ente/@Indirizzo) */
  belfiore: string
  cfOperatore: string
}

/**
 * IdentificazioneFlusso/Ente (spec table 3, same in SINBA table 14): who sends. Comes from config
 * or CASELLARIO_ENTE_* variables, never from the spreadsheet, so it is checked once per run.
 */
export const ENTE_FIELDS = {
  codice: {...field('Codice', {kind: 'text', min: 1, max: 32}, true, {it: "Codice dell'ente", en: "The ente's code"}), index: 0, env: 'CASELLARIO_ENTE_CODICE', flag: 'ente-codice'},
  denominazione: {...field('Denominazione', {kind: 'text', min: 1, max: 100}, false, {it: "Denominazione dell'ente", en: "The ente's name"}), index: 1, env: 'CASELLARIO_ENTE_DENOMINAZIONE', flag: 'ente-denominazione'},
  belfiore: {...field('Indirizzo', {kind: 'belfiore'}, true, {it: "Codice Belfiore del comune sede dell'ente", en: 'Belfiore code of the comune where the ente has its seat'}), index: 2, env: 'CASELLARIO_ENTE_BELFIORE', flag: 'ente-belfiore'},
  cfOperatore: {...field('CFOperatore', {kind: 'codiceFiscale'}, true, {it: "Codice fiscale dell'operatore che invia", en: "The sending operator's codice fiscale"}), index: 3, env: 'CASELLARIO_CF_OPERATORE', flag: 'cf-operatore'},
} as const

export type EnteField = (typeof ENTE_FIELDS)[keyof typeof ENTE_FIELDS]
