import {Flags} from '@oclif/core'

import {DEFAULT_MAX_FINDINGS} from '../report/findings.js'
import {parseDuration} from './terminal.js'

/** Flags shared by several commands, defined once. */

export const flowFlag = Flags.option({
  options: ['ps', 'sinba'] as const,
  default: 'ps' as const,
  description: 'Tracciato: ps (PS/PSA/SINA) o sinba (minori)',
})()

export const templateFlag = Flags.string({
  char: 't',
  description: 'Modello di mappatura: nome di un modello incluso o percorso di un file YAML',
  helpValue: 'NOME|FILE',
})

export const sheetFlag = Flags.string({description: 'Foglio da leggere in un XLSX/ODS (nome o numero, predefinito il primo)'})

/** Which spreadsheet and how to read it: the flags of every command that reads one. */
export const spreadsheetFlags = {flow: flowFlag, template: templateFlag, sheet: sheetFlag}

export const maxSizeFlag = Flags.integer({description: 'Dimensione massima di un file in upload, in KB', default: 5120, min: 16, max: 65536})

export const storeFlag = Flags.string({description: 'Store locale: file SQLite (predefinito nella cartella dati utente); anche CASELLARIO_STORE'})

export const profileFlag = Flags.string({description: 'Profilo di configurazione (una Regione che gestisce più enti)', default: 'default'})

export const enteFlags = {
  'ente-codice': Flags.string({description: "Codice dell'ente (anche CASELLARIO_ENTE_CODICE)"}),
  'ente-belfiore': Flags.string({description: "Codice Belfiore del comune sede dell'ente (anche CASELLARIO_ENTE_BELFIORE)"}),
  'ente-denominazione': Flags.string({description: "Denominazione dell'ente (anche CASELLARIO_ENTE_DENOMINAZIONE)"}),
  'cf-operatore': Flags.string({description: "Codice fiscale dell'operatore (anche CASELLARIO_CF_OPERATORE)"}),
}

export const endpointFlag = Flags.string({description: 'URL base dell’endpoint push, o "sandbox" per quello incorporato (anche CASELLARIO_ENDPOINT)', helpValue: 'URL|sandbox'})

/** "30s", "5m", "1h": how long to wait for esiti. */
export const waitFlag = Flags.custom<number>({
  description: 'Attende gli esiti fino a questa durata (es. 30s, 5m); i flussi ancora in attesa non sono un errore',
  helpValue: 'DURATA',
  parse: async (input) => {
    const ms = parseDuration(input)
    if (ms === undefined) throw new Error(`Durata non valida: ${input} (es. 30s, 5m, 1h)`)
    return ms
  },
})()

export const maxFindingsFlag = Flags.integer({
  description: 'Problemi elencati al più (testo, --json, --report); gli altri sono solo contati (findings_total, truncated)',
  default: DEFAULT_MAX_FINDINGS,
  min: 0,
  helpValue: 'N',
})
