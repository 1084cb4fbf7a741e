import {defineFlow, field, type ElementInit} from './model.js'
import {psRules} from './ps-rules.js'

/**
 * The PS / PSA / SINA flow (INPS schema PS_PSA_SINA201812.xsd, spec v2.0.1 tables 1–11),
 * one spreadsheet row per prestazione. Described from the schema's facts in our own words.
 */

const SI_NO = {'1': 'Sì', '2': 'No'}

const beneficiario: ElementInit = {
  name: 'Beneficiario',
  attributes: [field('CodiceFiscale', {kind: 'codiceFiscale'}, true, 'Codice fiscale del beneficiario (16 caratteri, o 11 cifre se provvisorio)')],
  children: [
    {
      name: 'Anagrafica',
      attributes: [
        field('Cognome', {kind: 'text', min: 1, max: 36}, true, 'Cognome'),
        field('Nome', {kind: 'text', min: 1, max: 36}, true, 'Nome'),
        field('AnnoNascita', {kind: 'year'}, true, 'Anno di nascita (AAAA)'),
        field('LuogoNascita', {kind: 'belfiore'}, true, 'Codice Belfiore del comune o dello stato estero (Zxxx) di nascita'),
        field('Genere', {kind: 'enum', values: {'1': 'Maschio', '2': 'Femmina'}}, true, 'Genere'),
        field('CodiceCittadinanza', {kind: 'digits', length: 3}, true, 'Cittadinanza, codice ISO 3166-1 numerico (380 Italia; 990 non disponibile)'),
        field('CodiceSecondaCittadinanza', {kind: 'digits', length: 3}, false, 'Seconda cittadinanza, codice ISO 3166-1 numerico'),
      ],
    },
    {
      name: 'Indirizzo',
      attributes: [
        field('CodiceRegione', {kind: 'digits', length: 2}, false, 'Regione di residenza (obbligatoria se CodiceNazione è 380)'),
        field('CodiceComune', {kind: 'digits', length: 6}, false, 'Comune di residenza, codice ISTAT a 6 cifre (obbligatorio se CodiceNazione è 380)'),
        field('CodiceNazione', {kind: 'digits', length: 3}, true, 'Nazione di residenza, codice ISO 3166-1 numerico (380 Italia)'),
      ],
    },
  ],
}

const prestazione: ElementInit = {
  name: 'PrestazioniSociali',
  attributes: [
    field('TipoOperazione', {kind: 'enum', values: {I: 'Inserimento', C: 'Cancellazione'}}, false, 'I inserimento (predefinito), C cancellazione'),
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
      'Prova dei mezzi (1 ISEE … 4 nessuna)',
    ),
    // The XSD leaves it optional, but the spec (table 9) makes it mandatory: INPS needs it to know which dates and amounts apply.
    field('CaratterePrestazione', {kind: 'enum', values: {'1': 'Periodica', '2': 'Occasionale (unica soluzione)'}}, true, 'Carattere: 1 periodica, 2 occasionale'),
    field('NumeroProtocolloDSU', {kind: 'text', min: 0, max: 30}, false, 'Numero di protocollo della DSU (tutti i campi DSU o nessuno)'),
    field('AnnoProtocolloDSU', {kind: 'year'}, false, 'Anno del protocollo DSU'),
    field('DataDSU', {kind: 'date'}, false, 'Data della DSU'),
    {...field('CodicePrestazione', {kind: 'text', min: 5, max: 10}, true, 'Codice della prestazione nel nomenclatore SIUSS (es. A1.04)'), upper: true},
    field('DenominazionePrestazione', {kind: 'text', min: 10, max: 200}, true, 'Denominazione della prestazione (10–200 caratteri)'),
    field('ProtocolloDomanda', {kind: 'text', min: 1, max: 32}, true, "Protocollo della domanda presso l'ente"),
    field('DataEvento', {kind: 'date'}, false, "Data dell'evento (obbligatoria per A1.05.01)"),
    field('DataInizioPrestazione', {kind: 'date'}, false, 'Data di inizio (obbligatoria per le prestazioni periodiche)'),
    field('DataFinePrestazione', {kind: 'date'}, false, 'Data di fine, nello stesso anno della data di inizio'),
    field('DataErogazionePrestazione', {kind: 'date'}, false, 'Data di erogazione (obbligatoria per le prestazioni occasionali)'),
    field('ImportoPrestazione', {kind: 'decimal', sign: 'positive'}, false, 'Importo della prestazione occasionale, maggiore di 0'),
    field('PeriodoErogazione', {kind: 'int', min: 1, max: 12}, false, 'Numero di mesi di erogazione (1–12)'),
    field('ImportoMensile', {kind: 'decimal', sign: 'positive'}, false, 'Importo mensile della prestazione periodica, maggiore di 0'),
    // spec table 9: quota ente and quota SSN "maggiore 0", quota utente "maggiore o uguale a 0"
    field('ImportoQuotaEnte', {kind: 'decimal', sign: 'positive'}, false, "Quota a carico dell'ente (maggiore di 0)"),
    field('ImportoQuotaUtente', {kind: 'decimal', sign: 'nonNegative'}, false, "Quota a carico dell'utente"),
    field('ImportoQuotaSSN', {kind: 'decimal', sign: 'positive'}, false, 'Quota a carico del Servizio sanitario nazionale (maggiore di 0)'),
    field('ImportoQuotaRichiesta', {kind: 'decimal'}, false, "Importo massimo richiesto all'utente generico (dato statistico)"),
    field('ImportoSogliaISEE', {kind: 'decimal'}, false, 'Soglia ISEE di accesso (dato statistico)'),
    field('OreServizioMensile', {kind: 'decimal', sign: 'nonNegative', hoursMinutes: true}, false, 'Ore di servizio al mese, HH.MM (minuti < 60)'),
    field('PresaCarico', {kind: 'enum', values: SI_NO}, true, 'Presa in carico del servizio sociale: 1 sì, 2 no'),
    field(
      'AreaUtenza',
      {kind: 'enum', values: {'1': 'Famiglia e minori', '2': 'Disabilità e non autosufficienza', '3': 'Povertà ed esclusione sociale'}},
      false,
      'Area di utenza (obbligatoria con presa in carico)',
    ),
  ],
  children: [
    {
      name: 'SINA',
      optional: true,
      attributes: [
        field('SINA_Mobilita', {kind: 'enum', values: {'1': 'Si sposta da solo', '2': 'Si sposta assistito', '3': 'Non si sposta'}}, true, 'SINA: mobilità', 'Mobilita'),
        field(
          'SINA_AttivitaVitaQuotidiana',
          {kind: 'enum', values: {'1': 'Autonomo', '2': 'Parzialmente dipendente', '3': 'Totalmente dipendente'}},
          true,
          'SINA: attività della vita quotidiana',
          'AttivitaVitaQuotidiana',
        ),
        field('SINA_DisturbiAreaCognitiva', {kind: 'enum', values: {'1': 'Lievi', '2': 'Moderati', '3': 'Gravi'}}, false, 'SINA: disturbi area cognitiva', 'DisturbiAreaCognitiva'),
        field('SINA_DisturbiComportamentali', {kind: 'enum', values: {'1': 'Assenti', '2': 'Presenti'}}, true, 'SINA: disturbi comportamentali', 'DisturbiComportamentali'),
        field('SINA_NecessitaCureSanitarie', {kind: 'enum', values: {'1': 'Bassa', '2': 'Media', '3': 'Alta'}}, false, 'SINA: necessità di cure sanitarie', 'NecessitaCureSanitarie'),
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
          'SINA: area reddituale',
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
          'SINA: area supporto',
          'AreaSupporto',
        ),
        field(
          'SINA_FonteDerivazioneValutazione',
          {kind: 'enum', values: {'1': 'UVM', '2': 'Cartella sociale', '3': 'Altra documentazione', '4': 'Raccolta diretta'}},
          true,
          'SINA: fonte della valutazione',
          'FonteDerivazioneValutazione',
        ),
        field(
          'SINA_StrumentoValutazione',
          {kind: 'enum', values: {'1': 'SVAMA', '2': 'AGED', '3': 'RUG', '4': 'SOSIA', '5': 'Schema polare', '6': 'VALGRAF', '7': 'Altro sistema di codifica'}},
          true,
          'SINA: strumento di valutazione',
          'StrumentoValutazione',
        ),
        field(
          'SINA_FonteDerivazioneInvalidita',
          {kind: 'enum', values: {'1': 'Certificazione verificata on line o cartacea', '2': 'Dichiarazione della persona'}},
          false,
          "SINA: fonte dell'invalidità",
          'FonteDerivazioneInvalidita',
        ),
      ],
      lists: [
        {
          ...field('SINA_NecessitaInterventiSociali', {kind: 'text', min: 5, max: 10}, false, 'SINA: codici delle prestazioni necessarie, separati da |', 'CodicePrestazione'),
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
            'SINA: certificazioni di invalidità, separate da |',
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
