import {defineFlow, field, type ElementInit} from './model.js'
import {psRules} from './ps-rules.js'

/**
 * The PS / PSA / SINA flow (INPS schema PS_PSA_SINA201812.xsd, spec v2.0.1 tables 1–11),
 * one spreadsheet row per prestazione. Described from the schema's facts in our own words.
 */

const SI_NO = {'1': 'Sì', '2': 'No'}

const beneficiario: ElementInit = {
  name: 'Beneficiario',
  attributes: [field('CodiceFiscale', {kind: 'codiceFiscale'}, true, {it: 'Codice fiscale del beneficiario (16 caratteri, o 11 cifre se provvisorio)', en: "The beneficiary's codice fiscale (16 characters, or 11 digits if provisional)"})],
  children: [
    {
      name: 'Anagrafica',
      attributes: [
        field('Cognome', {kind: 'text', min: 1, max: 36}, true, {it: 'Cognome', en: 'Surname'}),
        field('Nome', {kind: 'text', min: 1, max: 36}, true, {it: 'Nome', en: 'First name'}),
        field('AnnoNascita', {kind: 'year'}, true, {it: 'Anno di nascita (AAAA)', en: 'Year of birth (YYYY)'}),
        field('LuogoNascita', {kind: 'belfiore'}, true, {it: 'Codice Belfiore del comune o dello stato estero (Zxxx) di nascita', en: 'Belfiore code of the comune or foreign state (Zxxx) of birth'}),
        field('Genere', {kind: 'enum', values: {'1': 'Maschio', '2': 'Femmina'}}, true, {it: 'Genere', en: 'Sex'}),
        field('CodiceCittadinanza', {kind: 'digits', length: 3}, true, {it: 'Cittadinanza, codice ISO 3166-1 numerico (380 Italia; 990 non disponibile)', en: 'Citizenship, numeric ISO 3166-1 code (380 Italy; 990 not available)'}),
        field('CodiceSecondaCittadinanza', {kind: 'digits', length: 3}, false, {it: 'Seconda cittadinanza, codice ISO 3166-1 numerico', en: 'Second citizenship, numeric ISO 3166-1 code'}),
      ],
    },
    {
      name: 'Indirizzo',
      attributes: [
        field('CodiceRegione', {kind: 'digits', length: 2}, false, {it: 'Regione di residenza (obbligatoria se CodiceNazione è 380)', en: 'Region of residence (required when CodiceNazione is 380)'}),
        field('CodiceComune', {kind: 'digits', length: 6}, false, {it: 'Comune di residenza, codice ISTAT a 6 cifre (obbligatorio se CodiceNazione è 380)', en: 'Comune of residence, 6-digit ISTAT code (required when CodiceNazione is 380)'}),
        field('CodiceNazione', {kind: 'digits', length: 3}, true, {it: 'Nazione di residenza, codice ISO 3166-1 numerico (380 Italia)', en: 'Country of residence, numeric ISO 3166-1 code (380 Italy)'}),
      ],
    },
  ],
}

const prestazione: ElementInit = {
  name: 'PrestazioniSociali',
  attributes: [
    field('TipoOperazione', {kind: 'enum', values: {I: 'Inserimento', C: 'Cancellazione'}}, false, {it: 'I inserimento (predefinito), C cancellazione', en: 'I insertion (default), C cancellation'}),
    field(
      'PresenzaProvaMezzi',
      {
        kind: 'enum',
        values: {
          '1': 'Prestazione soggetta a ISEE',
          '2': 'Soggetta a prova dei mezzi, ma non attraverso ISEE',
          '3': 'In generale soggetta a ISEE, ma non per questo beneficiario per altri criteri di bisogno',
          '4': 'Non soggetta a prova dei mezzi',
        },
      },
      true,
      {it: 'Prova dei mezzi (1 ISEE … 4 nessuna)', en: 'Means test (1 ISEE … 4 none)'},
    ),
    // The XSD leaves it optional, but the spec (table 9) makes it mandatory: INPS needs it to know which dates and amounts apply.
    field('CaratterePrestazione', {kind: 'enum', values: {'1': 'Periodica', '2': 'Occasionale (unica soluzione)'}}, true, {it: 'Carattere: 1 periodica, 2 occasionale', en: 'Nature: 1 periodic, 2 one-off'}),
    field('NumeroProtocolloDSU', {kind: 'text', min: 0, max: 30}, false, {it: 'Numero di protocollo della DSU (tutti i campi DSU o nessuno)', en: 'Protocol number of the DSU (all DSU fields or none)'}),
    field('AnnoProtocolloDSU', {kind: 'year'}, false, {it: 'Anno del protocollo DSU', en: 'Year of the DSU protocol'}),
    field('DataDSU', {kind: 'date'}, false, {it: 'Data della DSU', en: 'Date of the DSU'}),
    {...field('CodicePrestazione', {kind: 'text', min: 5, max: 10}, true, {it: 'Codice della prestazione nel nomenclatore SIUSS (es. A1.04)', en: 'Code of the prestazione in the SIUSS nomenclature (e.g. A1.04)'}), upper: true},
    field('DenominazionePrestazione', {kind: 'text', min: 10, max: 200}, true, {it: 'Denominazione della prestazione (10–200 caratteri)', en: 'Name of the prestazione (10–200 characters)'}),
    field('ProtocolloDomanda', {kind: 'text', min: 1, max: 32}, true, {it: "Protocollo della domanda presso l'ente", en: 'Protocol number of the application at the ente'}),
    field('DataEvento', {kind: 'date'}, false, {it: "Data dell'evento (obbligatoria per A1.05.01)", en: 'Date of the event (required for A1.05.01)'}),
    field('DataInizioPrestazione', {kind: 'date'}, false, {it: 'Data di inizio (obbligatoria per le prestazioni periodiche)', en: 'Start date (required for periodic prestazioni)'}),
    field('DataFinePrestazione', {kind: 'date'}, false, {it: 'Data di fine, nello stesso anno della data di inizio', en: 'End date, in the same year as the start date'}),
    field('DataErogazionePrestazione', {kind: 'date'}, false, {it: 'Data di erogazione (obbligatoria per le prestazioni occasionali)', en: 'Payment date (required for one-off prestazioni)'}),
    field('ImportoPrestazione', {kind: 'decimal', sign: 'positive'}, false, {it: 'Importo della prestazione occasionale, maggiore di 0', en: 'Amount of the one-off prestazione, greater than 0'}),
    field('PeriodoErogazione', {kind: 'int', min: 1, max: 12}, false, {it: 'Numero di mesi di erogazione (1–12)', en: 'Number of months paid (1–12)'}),
    field('ImportoMensile', {kind: 'decimal', sign: 'positive'}, false, {it: 'Importo mensile della prestazione periodica, maggiore di 0', en: 'Monthly amount of the periodic prestazione, greater than 0'}),
    // spec table 9: quota ente and quota SSN "maggiore 0", quota utente "maggiore o uguale a 0"
    field('ImportoQuotaEnte', {kind: 'decimal', sign: 'positive'}, false, {it: "Quota a carico dell'ente (maggiore di 0)", en: 'Share paid by the ente (greater than 0)'}),
    field('ImportoQuotaUtente', {kind: 'decimal', sign: 'nonNegative'}, false, {it: "Quota a carico dell'utente", en: 'Share paid by the user'}),
    field('ImportoQuotaSSN', {kind: 'decimal', sign: 'positive'}, false, {it: 'Quota a carico del Servizio sanitario nazionale (maggiore di 0)', en: 'Share paid by the national health service (SSN) (greater than 0)'}),
    field('ImportoQuotaRichiesta', {kind: 'decimal'}, false, {it: "Importo massimo richiesto all'utente generico (dato statistico)", en: 'Maximum amount asked of a generic user (statistical data)'}),
    field('ImportoSogliaISEE', {kind: 'decimal'}, false, {it: 'Soglia ISEE di accesso (dato statistico)', en: 'ISEE threshold for access (statistical data)'}),
    field('OreServizioMensile', {kind: 'decimal', sign: 'nonNegative', hoursMinutes: true}, false, {it: 'Ore di servizio al mese, HH.MM (minuti < 60)', en: 'Hours of service per month, HH.MM (minutes < 60)'}),
    field('PresaCarico', {kind: 'enum', values: SI_NO}, true, {it: 'Presa in carico del servizio sociale: 1 sì, 2 no', en: 'Taken into care by social services: 1 yes, 2 no'}),
    field(
      'AreaUtenza',
      {kind: 'enum', values: {'1': 'Famiglia e minori', '2': 'Disabilità e non autosufficienza', '3': 'Povertà ed esclusione sociale'}},
      false,
      {it: 'Area di utenza (obbligatoria con presa in carico)', en: 'User area (required when taken into care)'},
    ),
  ],
  children: [
    {
      name: 'SINA',
      optional: true,
      attributes: [
        field('SINA_Mobilita', {kind: 'enum', values: {'1': 'Si sposta da solo', '2': 'Si sposta assistito', '3': 'Non si sposta'}}, true, {it: 'SINA: mobilità', en: 'SINA: mobility'}, 'Mobilita'),
        field(
          'SINA_AttivitaVitaQuotidiana',
          {kind: 'enum', values: {'1': 'Autonomo', '2': 'Parzialmente dipendente', '3': 'Totalmente dipendente'}},
          true,
          {it: 'SINA: attività della vita quotidiana', en: 'SINA: activities of daily living'},
          'AttivitaVitaQuotidiana',
        ),
        field('SINA_DisturbiAreaCognitiva', {kind: 'enum', values: {'1': 'Lievi', '2': 'Moderati', '3': 'Gravi'}}, false, {it: 'SINA: disturbi area cognitiva', en: 'SINA: cognitive disorders'}, 'DisturbiAreaCognitiva'),
        field('SINA_DisturbiComportamentali', {kind: 'enum', values: {'1': 'Assenti', '2': 'Presenti'}}, true, {it: 'SINA: disturbi comportamentali', en: 'SINA: behavioural disorders'}, 'DisturbiComportamentali'),
        field('SINA_NecessitaCureSanitarie', {kind: 'enum', values: {'1': 'Bassa', '2': 'Media', '3': 'Alta'}}, false, {it: 'SINA: necessità di cure sanitarie', en: 'SINA: need for health care'}, 'NecessitaCureSanitarie'),
        field(
          'SINA_AreaReddituale',
          {
            kind: 'enum',
            values: {
              '1': 'Autonomo e in equilibrio finanziario',
              '2': 'Riceve aiuto da parenti e/o da altre persone',
              '3': 'In condizione di bisogno economico e senza aiuti',
            },
          },
          true,
          {it: 'SINA: area reddituale', en: 'SINA: income'},
          'AreaReddituale',
        ),
        field(
          'SINA_AreaSupporto',
          {
            kind: 'enum',
            values: {
              '1': 'Presenza della rete familiare o informale',
              '2': 'Presenza parziale e/o temporanea della rete',
              '3': 'Assenza della rete familiare o informale',
            },
          },
          true,
          {it: 'SINA: area supporto', en: 'SINA: support network'},
          'AreaSupporto',
        ),
        field(
          'SINA_FonteDerivazioneValutazione',
          {kind: 'enum', values: {'1': 'UVM', '2': 'Cartella sociale', '3': 'Altra documentazione', '4': 'Raccolta diretta'}},
          true,
          {it: 'SINA: fonte della valutazione', en: 'SINA: source of the assessment'},
          'FonteDerivazioneValutazione',
        ),
        field(
          'SINA_StrumentoValutazione',
          {kind: 'enum', values: {'1': 'SVAMA', '2': 'AGED', '3': 'RUG', '4': 'SOSIA', '5': 'Schema polare', '6': 'VALGRAF', '7': 'Altro sistema di codifica'}},
          true,
          {it: 'SINA: strumento di valutazione', en: 'SINA: assessment tool'},
          'StrumentoValutazione',
        ),
        field(
          'SINA_FonteDerivazioneInvalidita',
          {kind: 'enum', values: {'1': 'Certificazione verificata on line o cartacea', '2': 'Dichiarazione della persona'}},
          false,
          {it: "SINA: fonte dell'invalidità", en: 'SINA: source of the disability certification'},
          'FonteDerivazioneInvalidita',
        ),
      ],
      lists: [
        {
          ...field('SINA_NecessitaInterventiSociali', {kind: 'text', min: 5, max: 10}, false, {it: 'SINA: codici delle prestazioni necessarie, separati da |', en: 'SINA: codes of the prestazioni needed, separated by |'}, 'CodicePrestazione'),
          list: {wrapper: 'NecessitaInterventiSociali'},
          upper: true,
        },
        {
          ...field(
            'SINA_InvaliditaCivile',
            {
              kind: 'enum',
              values: {
                '1': 'Invalidità civile parziale non inferiore al 75%',
                '2': 'Invalidità civile totale (100%) con indennità di accompagnamento',
                '3': 'Invalidità civile totale (100%) senza indennità di accompagnamento',
                '4': 'Certificazione NPI',
                '5': 'L.104 art.3 comma 1',
                '6': 'L.104 art.3 comma 3',
                '7': 'L.104 art.12',
                '8': 'L.104 art.13',
              },
            },
            false,
            {it: 'SINA: certificazioni di invalidità, separate da |', en: 'SINA: civil disability certifications, separated by |'},
            'InvCiv',
          ),
          list: {wrapper: 'InvaliditaCivile'},
        },
      ],
    },
  ],
}

export const PS = defineFlow({
  id: 'ps',
  nameCode: 'PS',
  waasTipo: 'PS_PSA_SINA',
  xsdFile: 'PS_PSA_SINA201812.xsd',
  group: beneficiario,
  groupKey: 'CodiceFiscale',
  record: prestazione,
  // DESIGN §4.2: the canonical template's column order
  columnOrder: [
    'CodiceFiscale', 'Cognome', 'Nome', 'AnnoNascita', 'LuogoNascita', 'Genere', 'CodiceCittadinanza',
    'CodiceSecondaCittadinanza', 'CodiceRegione', 'CodiceComune', 'CodiceNazione', 'TipoOperazione',
    'PresenzaProvaMezzi', 'CaratterePrestazione', 'NumeroProtocolloDSU', 'AnnoProtocolloDSU', 'DataDSU',
    'CodicePrestazione', 'DenominazionePrestazione', 'ProtocolloDomanda', 'DataEvento',
    'DataInizioPrestazione', 'DataFinePrestazione', 'DataErogazionePrestazione', 'ImportoPrestazione',
    'PeriodoErogazione', 'ImportoMensile', 'ImportoQuotaEnte', 'ImportoQuotaUtente', 'ImportoQuotaSSN',
    'ImportoQuotaRichiesta', 'ImportoSogliaISEE', 'OreServizioMensile', 'PresaCarico', 'AreaUtenza',
    'SINA_Mobilita', 'SINA_AttivitaVitaQuotidiana', 'SINA_DisturbiAreaCognitiva',
    'SINA_DisturbiComportamentali', 'SINA_NecessitaCureSanitarie', 'SINA_AreaReddituale',
    'SINA_AreaSupporto', 'SINA_FonteDerivazioneValutazione', 'SINA_StrumentoValutazione',
    'SINA_FonteDerivazioneInvalidita', 'SINA_NecessitaInterventiSociali', 'SINA_InvaliditaCivile',
  ],
  rules: psRules,
  // the same prestazione in a later export: same person, code, application and start (or payment) date
  delta: {
    identity: ['CodiceFiscale', 'CodicePrestazione', 'ProtocolloDomanda', 'DataInizioPrestazione', 'DataErogazionePrestazione'],
    period: ['DataInizioPrestazione', 'DataErogazionePrestazione'],
    operation: 'TipoOperazione',
  },
  // spec: a periodic prestazione's end is in its start's year; a service running across 31
  // December is sent as one record per calendar year (as SISO does)
  // XSD: Indirizzo maxOccurs 5 — rows of one person with different addresses give several
  groupVariant: {element: 'Indirizzo', max: 5},
  yearSplit: {when: 'CaratterePrestazione', is: '1', start: 'DataInizioPrestazione', end: 'DataFinePrestazione', months: 'PeriodoErogazione'},
})
