import {existsSync, statSync} from 'node:fs'
import {dirname, resolve} from 'node:path'

import {Flags} from '@oclif/core'

import {UsageError} from '../errors/index.js'
import {say} from '../i18n/messages.js'
import {DEFAULT_MAX_FINDINGS} from '../report/findings.js'
import {parseDuration} from './terminal.js'

/** Flags shared by several commands, defined once. */

/** Their English, for `--help` in English (src/cli/help.ts); a command may say a flag its own way in `static english`. */
export const SHARED_FLAGS_EN: Record<string, string> = {
  json: 'Print exactly one JSON document on stdout (for scripts)',
  lang: 'Language of the messages (default: Italian; also LANG=en)',
  quiet: 'No notes or progress on stderr: only the result and the errors (for cron)',
  flow: 'Record layout: ps (PS/PSA/SINA) or sinba (minors)',
  template: 'Mapping template: the name of a bundled template or the path of a YAML file',
  sheet: 'Sheet to read in an XLSX/ODS (name or number, the first by default)',
  'max-size': 'Largest upload file, in KB',
  store: 'Local store: a SQLite file (by default in the user data folder) or postgres://…; also CASELLARIO_STORE',
  profile: 'Settings profile (a Region managing several enti)',
  'ente-codice': "The ente's code (also CASELLARIO_ENTE_CODICE)",
  'ente-belfiore': "Belfiore code of the comune where the ente sits (also CASELLARIO_ENTE_BELFIORE)",
  'ente-denominazione': "The ente's name (also CASELLARIO_ENTE_DENOMINAZIONE)",
  'cf-operatore': "The operator's codice fiscale (also CASELLARIO_CF_OPERATORE)",
  endpoint: 'Base URL of the push endpoint, or "sandbox" for the embedded one (also CASELLARIO_ENDPOINT)',
  wait: 'Wait for esiti up to this long (e.g. 30s, 5m); flussi still awaiting one are not an error',
  ente: 'Only this ente (ente code, e.g. H501): one store may hold the submissions of several enti',
  'max-findings': 'List at most this many problems (text, --json, --report); the others are only counted (findings_total, truncated)',
}

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

/**
 * `--ente CODE`: only this ente's submissions and flussi (the codice ente, as in id_flusso; the
 * command matches it to the store's spelling without regard to case, see Store.enteNamed). A
 * malformed code is a usage error before any work.
 */
export const enteFilterFlag = Flags.custom<string>({
  description: 'Solo questo ente (codice ente, es. H501): uno store può tenere gli invii di più enti',
  helpValue: 'CODICE',
  parse: async (input) => {
    const code = input.trim()
    if (!/^[A-Za-z0-9]{1,20}$/.test(code)) {
      throw new UsageError('ENTE_FILTER_INVALID', say({it: `"${input}" non è un codice ente: solo lettere e cifre, al più 20 (es. H501).`, en: `"${input}" is not an ente code: letters and digits only, at most 20 (e.g. H501).`}))
    }
    return code
  },
})

export const endpointFlag = Flags.string({description: 'URL base dell’endpoint push, o "sandbox" per quello incorporato (anche CASELLARIO_ENDPOINT)', helpValue: 'URL|sandbox'})

/** "30s", "5m", "1h": how long to wait for esiti. */
export const waitFlag = Flags.custom<number>({
  description: 'Attende gli esiti fino a questa durata (es. 30s, 5m); i flussi ancora in attesa non sono un errore',
  helpValue: 'DURATA',
  parse: async (input) => {
    const ms = parseDuration(input)
    if (ms === undefined) throw new Error(say({it: `durata non valida "${input}": usa un numero con s, m o h (es. 30s, 5m, 1h).`, en: `invalid duration "${input}": use a number with s, m or h (e.g. 30s, 5m, 1h).`}))
    return ms
  },
})()

/**
 * A file the command writes: its folder must exist and the path must not be a folder. Checked
 * while parsing, so a typo is a usage error (exit 1) before any work, and no folder is created
 * where the user did not ask for one.
 */
export const outputFileFlag = Flags.custom<string>({
  helpValue: 'FILE',
  parse: async (input) => {
    const path = resolve(input)
    if (existsSync(path) && statSync(path).isDirectory()) {
      throw new UsageError('OUTPUT_IS_DIRECTORY', say({it: `${input} è una cartella: indica il nome di un file da scrivere.`, en: `${input} is a folder: give the name of a file to write.`}))
    }
    if (!existsSync(dirname(path)) || !statSync(dirname(path)).isDirectory()) {
      throw new UsageError('OUTPUT_FOLDER_MISSING', say({it: `La cartella ${dirname(input)} non esiste: creala prima, o scegli un'altra posizione.`, en: `The folder ${dirname(input)} does not exist: create it first, or choose another place.`}))
    }
    return input
  },
})

/** A folder the command writes into: created when missing, but never over a file. */
export const outputFolderFlag = Flags.custom<string>({
  helpValue: 'DIR',
  parse: async (input) => {
    // the nearest part of the path that exists must be a folder (mkdir would fail on a file)
    let at = resolve(input)
    while (!existsSync(at) && dirname(at) !== at) at = dirname(at)
    if (!statSync(at).isDirectory()) {
      throw new UsageError('OUTPUT_NOT_DIRECTORY', say({it: `${at} è un file, non una cartella: indica una cartella per i file da scrivere.`, en: `${at} is a file, not a folder: give a folder for the files to write.`}))
    }
    return input
  },
})

export const maxFindingsFlag = Flags.integer({
  description: 'Problemi elencati al più (testo, --json, --report); gli altri sono solo contati (findings_total, truncated)',
  default: DEFAULT_MAX_FINDINGS,
  min: 0,
  helpValue: 'N',
})
