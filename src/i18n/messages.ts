/**
 * Messages a user reads, Italian first (DESIGN §1); English with LANG=en* or --lang en.
 * One entry per stable finding code; params carry codes and numbers, never personal data.
 */

export type Lang = 'it' | 'en'
type Params = Record<string, string | number | undefined>
type Catalog = Record<string, (p: Params) => string>

let current: Lang = detectLang()

export function detectLang(env: NodeJS.ProcessEnv = process.env): Lang {
  const lang = env.CASELLARIO_LANG ?? env.LC_ALL ?? env.LC_MESSAGES ?? env.LANG ?? ''
  return /^en/i.test(lang) ? 'en' : 'it'
}

export function setLang(lang: Lang | undefined): void {
  if (lang) current = lang
}

export function lang(): Lang {
  return current
}

/** A sentence outside the finding catalogue (errors, notes, summaries), in the user's language. */
export function say(text: Record<Lang, string>): string {
  return text[current]
}

/** `n` with its noun in the user's language, singular for 1: `count(1, NOUNS.row)` → "1 riga". */
export function count(n: number, noun: Record<Lang, readonly [one: string, many: string]>): string {
  const [one, many] = noun[current]
  return `${n} ${n === 1 ? one : many}`
}

/** A flusso's state as a person reads it (the JSON keeps the code). */
export function stateLabel(state: string): string {
  return STATE_LABELS[current][state] ?? state
}

const STATE_LABELS: Record<Lang, Record<string, string>> = {
  it: {
    built: 'generato', signed: 'firmato', queued: 'in coda per INPS', delivered: 'prelevato da INPS', sending: 'in invio', sent: 'inviato, in attesa di esito',
    exported: 'esportato per il portale', accepted: 'accettato', rejected: 'respinto', conflict: 'in conflitto', cancelled: 'annullato',
  },
  en: {
    built: 'built', signed: 'signed', queued: 'queued for INPS', delivered: 'pulled by INPS', sending: 'sending', sent: 'sent, awaiting esito',
    exported: 'exported for the portal', accepted: 'accepted', rejected: 'rejected', conflict: 'in conflict', cancelled: 'cancelled',
  },
}

/** Nouns the summaries count. */
export const NOUNS = {
  row: {it: ['riga', 'righe'], en: ['row', 'rows']},
  record: {it: ['record', 'record'], en: ['record', 'records']},
  valid: {it: ['valido', 'validi'], en: ['valid', 'valid']},
  validRecord: {it: ['record valido', 'record validi'], en: ['valid record', 'valid records']},
  /** records that do not go through: what "errori" alone would wrongly suggest it counts */
  invalidRecord: {it: ['record con errori', 'record con errori'], en: ['record with errors', 'records with errors']},
  error: {it: ['errore', 'errori'], en: ['error', 'errors']},
  warning: {it: ['avviso', 'avvisi'], en: ['warning', 'warnings']},
  flusso: {it: ['flusso', 'flussi'], en: ['flusso', 'flussi']},
  beneficiario: {it: ['beneficiario', 'beneficiari'], en: ['beneficiary', 'beneficiaries']},
  prestazione: {it: ['prestazione', 'prestazioni'], en: ['prestazione', 'prestazioni']},
  validRow: {it: ['riga valida', 'righe valide'], en: ['valid row', 'valid rows']},
  rejectedRow: {it: ['riga respinta', 'righe respinte'], en: ['rejected row', 'rejected rows']},
  cancellation: {it: ['cancellazione', 'cancellazioni'], en: ['cancellation', 'cancellations']},
  insertion: {it: ['inserimento', 'inserimenti'], en: ['insertion', 'insertions']},
  accepted: {it: ['accettato', 'accettati'], en: ['accepted', 'accepted']},
  rejected: {it: ['respinto', 'respinti'], en: ['rejected', 'rejected']},
  deliveredNow: {it: ['consegnato ora', 'consegnati ora'], en: ['delivered now', 'delivered now']},
  esitoRead: {it: ['esito letto', 'esiti letti'], en: ['esito read', 'esiti read']},
} as const

const it: Catalog = {
  // reader
  FILE_EMPTY: () => 'Il file è vuoto: nessuna riga di intestazione né di dati.',
  FILE_BINARY: () => 'Il file non è un testo CSV (contiene byte binari): salvalo come CSV, XLSX o ODS.',
  FILE_UNREADABLE: (p) =>
    p.reason === 'truncated'
      ? `Il file ${p.format} è incompleto (troncato: copia o download interrotti): copialo di nuovo dall'originale.`
      : Number(p.afterRow) > 0
        ? `Il file ${p.format} è danneggiato dopo la riga ${p.afterRow}: le righe fino a quella sono state lette, le altre no. Aprilo e salvalo di nuovo come XLSX, ODS o CSV.`
        : `Il file non è un ${p.format ?? 'foglio di calcolo'} leggibile (danneggiato o di un altro formato): aprilo e salvalo di nuovo come XLSX, ODS o CSV.`,
  ZIP_BOMB: (p) => `Il file ${p.format} si decomprime in modo abnorme (parte ${p.part}): non è un foglio di calcolo normale ed è stato rifiutato senza leggerlo.`,
  FILE_TOO_LARGE: (p) => `Il file ${p.format} supera i limiti di lettura (parte ${p.part}): dividilo in più file o salvalo come CSV.`,
  SHEET_NOT_FOUND: (p) => `Il foglio "${p.sheet}" non esiste nel file; fogli presenti: ${p.sheets}.`,
  ROW_TOO_LONG: (p) => `Riga troppo lunga (oltre ${p.max} caratteri): ignorata. Controlla che non ci siano virgolette non chiuse.`,
  UNTERMINATED_QUOTE: () => 'Virgolette aperte e mai chiuse: la riga è stata letta prendendo le virgolette alla lettera.',
  INVALID_CHARACTER: (p) => `Caratteri non validi nella colonna ${p.column} (byte nulli o codifica errata).`,
  ROW_EXTRA_CELLS: (p) => `La riga ha ${p.cells} celle ma l'intestazione ne ha ${p.header}: i dati potrebbero essere spostati di colonna.`,
  ROW_MISSING_CELLS: (p) => `La riga ha ${p.cells} celle ma l'intestazione ne ha ${p.header}: quelle mancanti sono lette come vuote (riga tagliata?).`,
  // header
  HEADER_MISSING_COLUMN: (p) => `Manca la colonna obbligatoria "${p.column}" (campo ${p.field}). Aggiungila, oppure usa un modello di mappatura (--template).`,
  HEADER_DUPLICATE: (p) => `La colonna "${p.column}" compare più volte per il campo ${p.field}: lasciane una sola.`,
  TEMPLATE_UNKNOWN_FIELD: (p) => `Il modello cita il campo ${p.field}, che il tracciato non prevede.`,
  TEMPLATE_COLUMN_NOT_FOUND: (p) => `Il modello associa ${p.field} alla colonna "${p.column}", che nel file non c'è.`,
  // schema rules
  REQUIRED: () => 'Campo obbligatorio mancante.',
  TOO_SHORT: (p) => `Valore troppo corto: almeno ${p.min} caratteri (ne ha ${p.length}).`,
  TOO_LONG: (p) => `Valore troppo lungo: al massimo ${p.max} caratteri (ne ha ${p.length}).`,
  NOT_DIGITS: (p) => `Deve essere di esattamente ${p.length} cifre (trovato${q(p.valore)})${p.hint === 'leading-zeros' ? ': forse Excel ha tolto gli zeri iniziali' : ''}.`,
  NOT_IN_LIST: (p) => `Valore${q(p.valore)} non ammesso: valori possibili ${p.allowed}.`,
  INVALID_DATE: (p) =>
    p.hint === 'pattern'
      ? `Data non valida${q(p.valore)}: scrivila nel formato ${p.pattern} del tuo modello, con una data che esiste.`
      : `Data non valida${q(p.valore)}: usa il formato AAAA-MM-GG con una data esistente${p.hint === 'template' ? ' (per date come 31/12/2024 usa un modello con date: dd/MM/yyyy)' : ''}.`,
  DATE_IMPLAUSIBLE: (p) => `Anno ${p.anno} non plausibile (ammesso dal ${p.min} al ${p.max}).`,
  INVALID_MONTH_YEAR: (p) => `Mese/anno non valido${q(p.valore)}: usa il formato MM/AAAA.`,
  INVALID_YEAR: (p) => `Anno non valido${q(p.valore)}: usa quattro cifre (AAAA).`,
  INVALID_DECIMAL: (p) =>
    p.hint === 'it'
      ? `Numero non valido${q(p.valore)}: scrivi gli importi come 1.234,56 (virgola per i decimali), come dice il tuo modello.`
      : `Numero non valido${q(p.valore)}: usa il punto per i decimali (1234.56)${p.hint === 'comma' ? ', oppure un modello con decimal: it' : ''}.`,
  NOT_POSITIVE: () => "L'importo deve essere maggiore di 0.",
  NEGATIVE: () => 'Il valore non può essere negativo.',
  INVALID_INTEGER: (p) => `Deve essere un numero intero da ${p.min} a ${p.max} (trovato${q(p.valore)}).`,
  HOURS_MINUTES: () => 'Ore di servizio nel formato ore.minuti: i minuti devono essere due cifre minori di 60 (es. 12.30).',
  ENTE_CODE_INVALID: (p) => `Codice dell'ente non valido${q(p.valore)}: solo lettere e cifre, al più 20 (es. H501); diventa l'inizio di ogni id_flusso.`,
  ENTE_BELFIORE_UNKNOWN: (p) => `${p.valore} non è il codice Belfiore di un comune italiano: la sede dell'ente deve essere un comune esistente.`,
  ENTE_ROW_INCOMPLETE: () => "Con le colonne dell'ente, una riga indica sia Ente_Codice sia Ente_Belfiore (Ente_Denominazione è facoltativa); vuote tutte e tre, vale l'ente configurato.",
  CONTROL_CHARACTER: () => 'Il testo contiene caratteri di controllo che un XML non può contenere (copiati da un altro programma?).',
  CF_MALFORMED: () => 'Codice fiscale non valido: 16 caratteri (6 lettere, 2 cifre, lettera, 2 cifre, lettera, 3 caratteri, lettera) o 11 cifre.',
  BELFIORE_MALFORMED: (p) => `Codice Belfiore non valido${q(p.valore)}: una lettera e tre cifre (es. H501, Z100 per uno stato estero).`,
  // PS semantic rules
  CF_CHECK_CHARACTER: () => 'Il carattere di controllo del codice fiscale non è corretto: verifica il codice sulla tessera sanitaria.',
  CF_OMOCODIA_NOT_ACCEPTED: () =>
    "Codice fiscale omocodico con lettere al posto delle cifre dell'anno o del giorno: è corretto, ma lo schema INPS non lo accetta. Contatta INPS per l'invio di questo beneficiario.",
  CF_BIRTH_YEAR_MISMATCH: (p) => `L'anno di nascita non corrisponde al codice fiscale (che indica un anno che finisce con ${p.yy}).`,
  CF_GENDER_MISMATCH: (p) => `Il genere non corrisponde al codice fiscale (che indica ${p.genere === '2' ? '2 - femmina' : '1 - maschio'}).`,
  CF_BIRTHPLACE_MISMATCH: (p) => `Il luogo di nascita non corrisponde al codice fiscale (che indica ${p.belfiore}).`,
  BIRTHPLACE_UNKNOWN: () => 'Luogo di nascita sconosciuto: non è il codice Belfiore di un comune italiano o di uno stato estero.',
  BIRTHPLACE_NOT_VALID_IN_YEAR: (p) => `Il codice Belfiore del luogo di nascita non era in uso nel ${p.anno}.`,
  CITIZENSHIP_NOT_ISO: (p) =>
    `${q(p.valore).trim() || 'Il valore'} non è un codice ISO 3166-1 numerico di stato; usa 990 se non disponibile (l'Italia è 380).`,
  CITIZENSHIP_ISTAT_ITALY: () => "Cittadinanza 100 per una persona nata in Italia: 100 è il codice ISTAT dell'Italia, ma il tracciato vuole l'ISO 3166, dove 100 è la Bulgaria e l'Italia è 380.",
  RESIDENCE_ITALY_INCOMPLETE: () => 'Residenza in Italia (CodiceNazione 380): servono CodiceRegione e CodiceComune.',
  COMUNE_UNKNOWN: (p) => `Il comune ISTAT${q(p.valore)} non esiste (o non esisteva alla data della prestazione).`,
  COMUNE_REGION_MISMATCH: (p) => `Il comune indicato è nella regione ${p.regione} (codifica ISTAT), non in quella indicata.`,
  DSU_INCOMPLETE: () => 'Dati DSU incompleti: NumeroProtocolloDSU, AnnoProtocolloDSU e DataDSU vanno compilati tutti o nessuno.',
  PERIODIC_REQUIREMENTS: () => 'Prestazione periodica (CaratterePrestazione 1): campo obbligatorio.',
  OCCASIONAL_REQUIREMENTS: () => 'Prestazione occasionale (CaratterePrestazione 2): campo obbligatorio.',
  END_DATE_OTHER_YEAR: (p) => `La data di fine deve essere nello stesso anno della data di inizio (${p.anno}).`,
  END_DATE_BEFORE_START: () => 'La data di fine precede la data di inizio.',
  SHARES_SUM_MISMATCH: (p) => `Le quote ente + utente + SSN sommano a ${p.somma}, ma ${p.campo} è ${p.importo}.`,
  AREA_REQUIRED_WITH_PRESA_IN_CARICO: () => 'Con presa in carico (PresaCarico 1) va indicata AreaUtenza.',
  A1_05_01_REQUIRES_EVENT_DATE: () => 'La prestazione A1.05.01 (contributo affitto L.431/98) richiede DataEvento.',
  PRESTAZIONE_UNKNOWN: (p) => `Codice prestazione${q(p.valore)} non presente nel nomenclatore incluso: verifica il codice (o estendi il nomenclatore).`,
  PRESTAZIONE_NEEDS_PRESA_IN_CARICO: (p) => `La prestazione${q(p.valore)} va inviata solo con presa in carico del servizio sociale professionale (PresaCarico 1).`,
  SPLIT_BY_YEAR: (p) => `Prestazione periodica a cavallo di anni: inviata come ${p.parti} prestazioni, una per anno (${p.periodi}).`,
  PSA_WITHOUT_DSU: () => 'Prestazione soggetta a ISEE (PresenzaProvaMezzi 1) ma senza i dati della DSU: indica NumeroProtocolloDSU, AnnoProtocolloDSU e DataDSU, o correggi PresenzaProvaMezzi.',
  DSU_YEAR_MISMATCH: (p) => `AnnoProtocolloDSU non coincide con l'anno ${p.anno} indicato da ${p.campo}: i dati della DSU devono riferirsi alla stessa dichiarazione.`,
  SINA_MISSING_FOR_DISABILITY: () => 'Presa in carico nell’area disabilità e non autosufficienza (AreaUtenza 2) senza la valutazione SINA: compila le colonne SINA_ (mobilità, attività quotidiane, …).',
  DUPLICATE_KEY: (p) => `Questo identificativo compare già alla riga ${p.riga}: ogni minore va indicato una sola volta.`,
  BENEFICIARY_INCONSISTENT: (p) => `Dati del beneficiario diversi da quelli della riga ${p.riga} con lo stesso codice fiscale.`,
  TOO_MANY_ADDRESSES: (p) => `Il beneficiario della riga ${p.riga} ha già ${p.max} indirizzi diversi, il massimo dello schema INPS: correggi l'indirizzo o uniformalo a uno già usato.`,
  DUPLICATE_IN_EXPORT: (p) => `La stessa prestazione (beneficiario, codice, protocollo domanda e data) è già alla riga ${p.riga}: inviata una volta sola.`,
  CANCEL_NOT_ACCEPTED: () => 'Cancellazione di una prestazione che INPS non ha accettato: non c’è nulla da cancellare.',
  PREVIOUS_AWAITING_ESITO: (p) => `La versione precedente (flusso ${p.flusso}) attende ancora l'esito: la modifica partirà dopo. Rilancia dopo "casellario sync".`,
  FINDINGS_TRUNCATED: (p) => `… oltre ${p.max} problemi: i successivi non sono elencati, solo contati nel riepilogo (--max-findings per cambiare il limite).`,
  FINDINGS_OMITTED: (p) => `Elencati i primi ${p.listed} problemi su ${p.total}.`,
  PURGED_NOT_CANCELLABLE: (p) =>
    `La versione che INPS ha (flusso ${p.flusso}) è stata ridotta da "casellario purge": lo store non ha più i dati esatti inviati, che una cancellazione deve ripetere. Cancellala sul portale INPS, poi invia di nuovo la riga.`,
  // SINBA rules
  ID_LOOKS_LIKE_CF: () => "IDBeneficiario sembra un codice fiscale: per i minori SINBA vuole un identificativo interno dell'ente, mai il codice fiscale. Usa il codice della cartella del minore.",
  DISABILITY_TYPE_REQUIRED: () => 'Con Disabilita 1 (sì) serve anche TipoDisabilita: indica il tipo di disabilità del minore.',
  DISABILITY_FIELDS_WITHOUT_DISABILITY: () => 'Il tipo di disabilità o la certificazione di invalidità sono compilati ma Disabilita non è 1 (sì): correggi Disabilita o svuota queste colonne.',
  REFERRAL_DATE_REQUIRED: () => "Con SegnalazioneAutoritaGiudiziaria 1 (sì) serve DataSegnalazione (MM/AAAA): indica quando il caso è stato segnalato all'autorità giudiziaria.",
  JUDICIAL_MEASURE_INCOMPLETE: () => 'Con ProvvedimentoGiudiziario 1 (sì) servono la data (MM/AAAA), l’autorità e il tipo del provvedimento: compila la colonna indicata.',
  JUDICIAL_FIELDS_WITHOUT_MEASURE: () => 'Dati di un provvedimento giudiziario compilati ma ProvvedimentoGiudiziario non è 1 (sì): correggi ProvvedimentoGiudiziario o svuota queste colonne.',
  FOSTER_FIELDS_WITHOUT_FOSTER_CARE: () => "Dati dell'affido compilati ma il luogo di vita non è l'affido familiare (LuogoVita 3): controlla LuogoVita, altrimenti questi dati non saranno considerati.",
  RESIDENTIAL_FIELDS_WITHOUT_PLACEMENT: () => "Dati dell'inserimento in struttura compilati ma il luogo di vita non è una struttura (LuogoVita 4 o 5): controlla LuogoVita, altrimenti questi dati non saranno considerati.",
  DATE_IN_FUTURE: () => 'La data (mese/anno) è nel futuro: indica il mese in cui il fatto è avvenuto, non uno previsto.',
  DATE_BEFORE_BIRTH: (p) => `La data (mese/anno) è precedente all'anno di nascita ${p.anno}: controlla la data o AnnoNascita.`,
  AGE_BAND_MISMATCH: (p) => `FasciaEtaBeneficiario non corrisponde all'età che un minore nato nel ${p.anno} ha avuto dalla prima segnalazione a oggi: controlla la fascia o AnnoNascita.`,
  // import (file-level outcomes)
  IMPORT_NOT_A_FLUSSO: () => 'Il file non è un flusso XML, uno zip né una busta firmata .p7m: non è stato importato.',
  IMPORT_SIGNATURE_INVALID: () => 'La firma del .p7m non corrisponde al suo contenuto (file alterato?): non è stato importato.',
  IMPORT_NOT_CONFORMING: () => 'Il flusso non supera i controlli dello schema INPS (struttura, nome, ente o valori): non è stato importato.',
  IMPORT_CONFLICT: () => 'Lo store ha già un flusso con questo nome e un contenuto diverso: non è stato importato. Controlla quale dei due è quello inviato a INPS.',
}

const en: Catalog = {
  FILE_EMPTY: () => 'The file is empty: no header and no data rows.',
  FILE_BINARY: () => 'The file is not CSV text (it contains binary bytes): save it as CSV, XLSX or ODS.',
  FILE_UNREADABLE: (p) =>
    p.reason === 'truncated'
      ? `The ${p.format} file is incomplete (truncated: an interrupted copy or download): copy it again from the original.`
      : Number(p.afterRow) > 0
        ? `The ${p.format} file is damaged after row ${p.afterRow}: the rows up to it were read, the others were not. Open it and save it again as XLSX, ODS or CSV.`
        : `The file is not a readable ${p.format ?? 'spreadsheet'} (damaged or another format): open it and save it again as XLSX, ODS or CSV.`,
  ZIP_BOMB: (p) => `The ${p.format} file inflates abnormally (part ${p.part}): it is not a normal spreadsheet and was refused without reading it.`,
  FILE_TOO_LARGE: (p) => `The ${p.format} file exceeds the reading limits (part ${p.part}): split it into several files or save it as CSV.`,
  SHEET_NOT_FOUND: (p) => `Sheet "${p.sheet}" is not in the file; sheets: ${p.sheets}.`,
  ROW_TOO_LONG: (p) => `Row too long (over ${p.max} characters): skipped. Check for unclosed quotes.`,
  UNTERMINATED_QUOTE: () => 'A quote was opened and never closed: the row was read taking quotes literally.',
  INVALID_CHARACTER: (p) => `Invalid characters in column ${p.column} (NUL bytes or wrong encoding).`,
  ROW_EXTRA_CELLS: (p) => `The row has ${p.cells} cells but the header has ${p.header}: data may be shifted.`,
  ROW_MISSING_CELLS: (p) => `The row has ${p.cells} cells but the header has ${p.header}: the missing ones are read as empty.`,
  HEADER_MISSING_COLUMN: (p) => `Required column "${p.column}" (field ${p.field}) is missing. Add it, or use a mapping template (--template).`,
  HEADER_DUPLICATE: (p) => `Column "${p.column}" appears more than once for field ${p.field}.`,
  TEMPLATE_UNKNOWN_FIELD: (p) => `The template names field ${p.field}, which the record layout does not have.`,
  TEMPLATE_COLUMN_NOT_FOUND: (p) => `The template maps ${p.field} to column "${p.column}", which is not in the file.`,
  REQUIRED: () => 'Required field is missing.',
  TOO_SHORT: (p) => `Too short: at least ${p.min} characters (has ${p.length}).`,
  TOO_LONG: (p) => `Too long: at most ${p.max} characters (has ${p.length}).`,
  NOT_DIGITS: (p) => `Must be exactly ${p.length} digits (found${q(p.valore)}).`,
  NOT_IN_LIST: (p) => `Value${q(p.valore)} not allowed: allowed values ${p.allowed}.`,
  INVALID_DATE: (p) =>
    p.hint === 'pattern'
      ? `Invalid date${q(p.valore)}: write it in your template's format ${String(p.pattern).replace('gg', 'dd').replace('aaaa', 'yyyy')}, with a real date.`
      : `Invalid date${q(p.valore)}: use YYYY-MM-DD with a real date.`,
  DATE_IMPLAUSIBLE: (p) => `Year ${p.anno} is not plausible (${p.min}–${p.max}).`,
  INVALID_MONTH_YEAR: (p) => `Invalid month/year${q(p.valore)}: use MM/YYYY.`,
  INVALID_YEAR: (p) => `Invalid year${q(p.valore)}: use four digits.`,
  INVALID_DECIMAL: (p) =>
    p.hint === 'it' ? `Invalid number${q(p.valore)}: write amounts as 1.234,56 (comma for decimals), as your template says.` : `Invalid number${q(p.valore)}: use a dot for decimals (1234.56).`,
  NOT_POSITIVE: () => 'The amount must be greater than 0.',
  NEGATIVE: () => 'The value cannot be negative.',
  INVALID_INTEGER: (p) => `Must be a whole number from ${p.min} to ${p.max} (found${q(p.valore)}).`,
  HOURS_MINUTES: () => 'Hours as hours.minutes: minutes must be two digits below 60 (e.g. 12.30).',
  ENTE_CODE_INVALID: (p) => `Invalid ente code${q(p.valore)}: letters and digits only, at most 20 (e.g. H501); it starts every id_flusso.`,
  ENTE_BELFIORE_UNKNOWN: (p) => `${p.valore} is not the Belfiore code of an Italian comune: the ente's seat must be an existing comune.`,
  ENTE_ROW_INCOMPLETE: () => "With the ente columns, a row gives both Ente_Codice and Ente_Belfiore (Ente_Denominazione is optional); with all three empty, the configured ente applies.",
  CONTROL_CHARACTER: () => 'The text contains control characters that XML cannot carry.',
  CF_MALFORMED: () => 'Invalid codice fiscale: 16 characters in the official layout, or 11 digits.',
  BELFIORE_MALFORMED: (p) => `Invalid Belfiore code${q(p.valore)}: one letter and three digits.`,
  CF_CHECK_CHARACTER: () => 'The codice fiscale check character is wrong.',
  CF_OMOCODIA_NOT_ACCEPTED: () => 'Omocodic codice fiscale with letters in the year or day positions: correct, but the INPS schema refuses it.',
  CF_BIRTH_YEAR_MISMATCH: (p) => `Birth year does not match the codice fiscale (year ending in ${p.yy}).`,
  CF_GENDER_MISMATCH: (p) => `Gender does not match the codice fiscale (${p.genere}).`,
  CF_BIRTHPLACE_MISMATCH: (p) => `Birthplace does not match the codice fiscale (${p.belfiore}).`,
  BIRTHPLACE_UNKNOWN: () => 'Unknown birthplace: not the Belfiore code of an Italian comune or a foreign state.',
  BIRTHPLACE_NOT_VALID_IN_YEAR: (p) => `The birthplace Belfiore code was not in use in ${p.anno}.`,
  CITIZENSHIP_NOT_ISO: (p) => `${q(p.valore).trim() || 'The value'} is not an ISO 3166-1 numeric country code; use 990 if not available.`,
  CITIZENSHIP_ISTAT_ITALY: () => 'Citizenship 100 for a person born in Italy: 100 is the ISTAT code of Italy; in ISO 3166 it is Bulgaria and Italy is 380.',
  RESIDENCE_ITALY_INCOMPLETE: () => 'Residence in Italy (CodiceNazione 380): CodiceRegione and CodiceComune are required.',
  COMUNE_UNKNOWN: (p) => `ISTAT comune${q(p.valore)} does not exist.`,
  COMUNE_REGION_MISMATCH: (p) => `The comune is in region ${p.regione} (ISTAT coding), not in the one given.`,
  DSU_INCOMPLETE: () => 'Incomplete DSU data: fill all of NumeroProtocolloDSU, AnnoProtocolloDSU, DataDSU or none.',
  PERIODIC_REQUIREMENTS: () => 'Periodic prestazione (CaratterePrestazione 1): required field.',
  OCCASIONAL_REQUIREMENTS: () => 'One-off prestazione (CaratterePrestazione 2): required field.',
  END_DATE_OTHER_YEAR: (p) => `The end date must be in the same year as the start date (${p.anno}).`,
  END_DATE_BEFORE_START: () => 'The end date is before the start date.',
  SHARES_SUM_MISMATCH: (p) => `Shares sum to ${p.somma}, but ${p.campo} is ${p.importo}.`,
  AREA_REQUIRED_WITH_PRESA_IN_CARICO: () => 'With PresaCarico 1, AreaUtenza is required.',
  A1_05_01_REQUIRES_EVENT_DATE: () => 'Prestazione A1.05.01 requires DataEvento.',
  PRESTAZIONE_UNKNOWN: (p) => `Prestazione code${q(p.valore)} is not in the shipped nomenclatore: check it (or extend the nomenclatore with tables update).`,
  PRESTAZIONE_NEEDS_PRESA_IN_CARICO: (p) => `Prestazione${q(p.valore)} is sent only with PresaCarico 1.`,
  SPLIT_BY_YEAR: (p) => `Periodic prestazione across years: sent as ${p.parti} prestazioni, one per year (${p.periodi}).`,
  PSA_WITHOUT_DSU: () => 'Means-tested prestazione (PresenzaProvaMezzi 1) without DSU data: give NumeroProtocolloDSU, AnnoProtocolloDSU and DataDSU, or correct PresenzaProvaMezzi.',
  DSU_YEAR_MISMATCH: (p) => `AnnoProtocolloDSU differs from the year ${p.anno} given by ${p.campo}: the DSU fields must describe the same declaration.`,
  SINA_MISSING_FOR_DISABILITY: () => 'Taken in charge in the disability and non-self-sufficiency area (AreaUtenza 2) without a SINA assessment: fill the SINA_ columns.',
  DUPLICATE_KEY: (p) => `This identifier already appears at row ${p.riga}: each minor goes in once.`,
  BENEFICIARY_INCONSISTENT: (p) => `Beneficiary data differ from row ${p.riga} with the same codice fiscale.`,
  TOO_MANY_ADDRESSES: (p) => `The beneficiary of row ${p.riga} already has ${p.max} different addresses, the INPS schema's maximum: correct the address or use one already given.`,
  DUPLICATE_IN_EXPORT: (p) => `The same prestazione (beneficiary, code, application and date) is already at row ${p.riga}: sent once.`,
  CANCEL_NOT_ACCEPTED: () => 'Cancellation of a prestazione INPS has not accepted: there is nothing to cancel.',
  PREVIOUS_AWAITING_ESITO: (p) => `The previous version (flusso ${p.flusso}) is still waiting for its esito: the change goes later. Run again after "casellario sync".`,
  FINDINGS_TRUNCATED: (p) => `… more than ${p.max} findings: the rest are not listed, only counted in the summary (--max-findings to change the limit).`,
  FINDINGS_OMITTED: (p) => `Listed the first ${p.listed} findings of ${p.total}.`,
  PURGED_NOT_CANCELLABLE: (p) =>
    `The version INPS holds (flusso ${p.flusso}) was reduced by "casellario purge": the store no longer has the exact data sent, which a cancellation must repeat. Cancel it on the INPS portal, then send the row again.`,
  // SINBA rules
  ID_LOOKS_LIKE_CF: () => "IDBeneficiario looks like a codice fiscale: SINBA wants the ente's internal identifier for a minor, never the codice fiscale. Use the case file's code.",
  DISABILITY_TYPE_REQUIRED: () => 'With Disabilita 1 (yes), TipoDisabilita is required too: give the type of disability.',
  DISABILITY_FIELDS_WITHOUT_DISABILITY: () => 'The disability type or invalidity certification is filled in but Disabilita is not 1 (yes): fix Disabilita or empty these columns.',
  REFERRAL_DATE_REQUIRED: () => 'With SegnalazioneAutoritaGiudiziaria 1 (yes), DataSegnalazione (MM/YYYY) is required: give when the case was reported to the judicial authority.',
  JUDICIAL_MEASURE_INCOMPLETE: () => 'With ProvvedimentoGiudiziario 1 (yes), the measure’s date (MM/YYYY), authority and type are required: fill in the column named.',
  JUDICIAL_FIELDS_WITHOUT_MEASURE: () => 'Judicial measure data are filled in but ProvvedimentoGiudiziario is not 1 (yes): fix ProvvedimentoGiudiziario or empty these columns.',
  FOSTER_FIELDS_WITHOUT_FOSTER_CARE: () => 'Foster-care data are filled in but the minor does not live in foster care (LuogoVita 3): check LuogoVita, or these data will not count.',
  RESIDENTIAL_FIELDS_WITHOUT_PLACEMENT: () => 'Residential placement data are filled in but the minor does not live in a facility (LuogoVita 4 or 5): check LuogoVita, or these data will not count.',
  DATE_IN_FUTURE: () => 'The date (month/year) is in the future: give the month the event happened, not a planned one.',
  DATE_BEFORE_BIRTH: (p) => `The date (month/year) is before the year of birth ${p.anno}: check the date or AnnoNascita.`,
  AGE_BAND_MISMATCH: (p) => `FasciaEtaBeneficiario does not match the ages a minor born in ${p.anno} has had from the first referral until today: check the band or AnnoNascita.`,
  // import (file-level outcomes)
  IMPORT_NOT_A_FLUSSO: () => 'The file is not an XML flusso, a zip or a signed .p7m envelope: it was not imported.',
  IMPORT_SIGNATURE_INVALID: () => 'The .p7m signature does not match its content (altered file?): it was not imported.',
  IMPORT_NOT_CONFORMING: () => 'The flusso fails the INPS schema checks (structure, name, ente or values): it was not imported.',
  IMPORT_CONFLICT: () => 'The store already has a flusso with this name and different content: it was not imported. Check which one was sent to INPS.',
}

const catalogs: Record<Lang, Catalog> = {it, en}

/**
 * A cell value is quoted back only when it looks like a code, a date or a number: a shifted
 * column can put a surname or a codice fiscale in any field, and messages go to logs and
 * reports (DESIGN §13).
 */
function q(value: string | number | undefined): string {
  const v = value === undefined ? '' : String(value)
  return /^[0-9A-Za-z.,/:+ -]{1,12}$/.test(v) && !/[A-Za-z]{4,}/.test(v) ? ` "${v}"` : ''
}

export function message(code: string, params: Params = {}): string {
  const template = catalogs[current][code] ?? it[code]
  return template ? template(params) : code
}

/** Every documented finding code (for the README and a completeness test). */
export function messageCodes(): string[] {
  return Object.keys(it)
}

export function hasMessage(code: string): boolean {
  return code in it && code in en
}
