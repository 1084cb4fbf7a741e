/**
 * The SIUSS prestazioni nomenclatore: the project's own table.
 *
 * The official list is Tabella 1 of DM 16 dicembre 2014 n. 206, extended by INPS messaggi; its full
 * text was not found in any public source (domain-notes §1.1, §8). This table holds every code we
 * found, each with where it was found. It is deliberately partial: a code that is not here may
 * still be valid, so callers should treat "unknown code" as a warning, not an error.
 *
 * Built-in entries can be overlaid later by user entries (e.g. a nomenclatore CSV from the ente):
 * see mergePrestazioni in ./index.ts. Keep this array free of logic so it can be reviewed as data.
 */

export interface Prestazione {
  /** e.g. 'A1.04' or a third-level code such as 'A1.05.01' (the XSD allows 5–10 characters). */
  code: string;
  /** Official description; '' when the code is attested but its description was not found. */
  denominazione: string;
  /** Where the code (and its description) was found. */
  source: string;
  /** Extra facts worth showing to a user (SINA eligibility, mandatory fields, ...). */
  notes?: string;
  /**
   * The code itself was not seen in a source: its existence follows from one that was (A1.23
   * implies A1.21–A1.22), or from a range a source names (A2.16–A2.29). Shown by `tables status`.
   */
  inferred?: boolean;
}

// Sources, cited once and referred to below.
const ISEE_WS =
  'ISEE web-service PrestazioneDaErogare list: lsantalu/OpenMSP OpenMSP/inps.py @7f8333b (codes also in RegioneUmbria-RCB/SISO PrestazioneDaErogare.java)';
const MSG_1244 = 'INPS messaggio 1244 del 18/03/2022 (summaries: consulenza.it, synergia-net.it mag434, enasc.it)';
const SISO_SINA = 'RegioneUmbria-RCB/SISO AccessTableSinaSessionBean.java @9d6082e (list of SINA-linkable codes; no description)';
const SINA_ELIGIBLE = 'can be linked to a SINA assessment (SISO)';
const OPENAPI_EXAMPLE =
  "INPS-it/WaaS.Comuni '002 - OpenAPI/api-comuni.yaml' = waas-api-comuni.yaml (decoded example flusso, SINA NecessitaInterventiSociali)";
const SISO_RANGE =
  'RegioneUmbria-RCB/SISO webredcs/pnlFglIntervento/erogazioni.xhtml @9d6082e: "i servizi classificati con codice da A2.16 a A2.29" (range named, code not listed)';
const INFERRED_A1_2X = 'inferred: A1.23 is attested (SISO AccessTableSinaSessionBean.java), so A1.21 and A1.22 precede it';
const INFERRED_A1_04 = 'inferred: A1.04.03 is attested (INPS messaggio 1244/2022), so A1.04.01 and A1.04.02 precede it';
const INFERRED_A2_1X = 'inferred: A2.12, A2.14 and A2.16 are attested, so the numbering includes this code';
const PRESA_IN_CARICO = 'A2.16–A2.29: only with presa in carico by the servizio sociale professionale (SISO erogazioni.xhtml)';

export const BUILTIN_PRESTAZIONI: readonly Prestazione[] = [
  { code: 'A1.01', denominazione: 'Assegno per il nucleo familiare erogati dai comuni', source: ISEE_WS },
  { code: 'A1.02', denominazione: 'Assegno Maternità erogato dai Comuni', source: ISEE_WS },
  { code: 'A1.03', denominazione: 'Carta acquisti', source: ISEE_WS },
  { code: 'A1.04', denominazione: 'Contributi economici a integrazione del reddito Familiare', source: ISEE_WS, notes: SINA_ELIGIBLE },
  {
    code: 'A1.04.03',
    denominazione:
      'Misure delle Province autonome con finalità analoghe al Reddito di cittadinanza (art. 13 c.2 DL 4/2019)',
    source: MSG_1244,
    notes: 'third-level code',
  },
  { code: 'A1.04.01', denominazione: '', source: INFERRED_A1_04, inferred: true },
  { code: 'A1.04.02', denominazione: '', source: INFERRED_A1_04, inferred: true },
  { code: 'A1.05', denominazione: 'Contributi economici per alloggio', source: ISEE_WS },
  {
    code: 'A1.05.01',
    denominazione:
      'Contributi economici per affitti erogati dai Comuni a valere sulle risorse del Fondo nazionale a sostegno delle locazioni (L.431/98) non cumulabili con la quota b del Reddito di Cittadinanza',
    source: `${MSG_1244}; INPS messaggio 3782/2022 (lavorofisco.it)`,
    notes: 'periodic: DataInizio, DataFine and ImportoMensile required; SISO also requires DataEvento',
  },
  { code: 'A1.06', denominazione: 'Buoni spesa o buoni pasto', source: ISEE_WS },
  { code: 'A1.07', denominazione: 'Contributi e integrazioni a rette per asili nido', source: ISEE_WS },
  {
    code: 'A1.08',
    denominazione: 'Contributi e integrazioni a rette per servizi integrativi o innovativi per la prima infanzia',
    source: ISEE_WS,
  },
  { code: 'A1.09', denominazione: 'Contributi economici per i servizi scolastici', source: ISEE_WS },
  {
    code: 'A1.10',
    denominazione: 'Contributi economici per cure o prestazioni sociali a rilevanza sanitaria',
    source: ISEE_WS,
    notes: SINA_ELIGIBLE,
  },
  {
    code: 'A1.11',
    denominazione: "Assegnazioni economiche per il sostegno della domiciliarità e dell'autonomia personale",
    source: ISEE_WS,
    notes: SINA_ELIGIBLE,
  },
  { code: 'A1.12', denominazione: 'Contributi e integrazioni a rette per accesso a centri Diurni', source: ISEE_WS, notes: SINA_ELIGIBLE },
  {
    code: 'A1.13',
    denominazione: 'Contributi e integrazioni a rette per accesso ai servizi semi-residenziali',
    source: ISEE_WS,
    notes: SINA_ELIGIBLE,
  },
  {
    code: 'A1.14',
    denominazione: 'Contributi e integrazioni a rette per accesso a servizi Residenziali',
    source: ISEE_WS,
    notes: SINA_ELIGIBLE,
  },
  { code: 'A1.15', denominazione: 'Contributi per servizi alla persona', source: ISEE_WS, notes: SINA_ELIGIBLE },
  { code: 'A1.16', denominazione: 'Contributi economici per servizio trasporto e mobilità', source: ISEE_WS, notes: SINA_ELIGIBLE },
  { code: 'A1.17', denominazione: "Contributi economici erogati a titolo di prestito/prestiti d'onore", source: ISEE_WS },
  { code: 'A1.18', denominazione: "Contributi economici per l'inserimento lavorativo", source: ISEE_WS },
  { code: 'A1.19', denominazione: 'Borse di studio', source: ISEE_WS },
  { code: 'A1.20', denominazione: 'Buono vacanze', source: ISEE_WS },
  { code: 'A1.21', denominazione: '', source: INFERRED_A1_2X, inferred: true },
  { code: 'A1.22', denominazione: '', source: INFERRED_A1_2X, inferred: true },
  { code: 'A1.23', denominazione: '', source: SISO_SINA, notes: SINA_ELIGIBLE },
  { code: 'A2.01', denominazione: 'Mensa sociale', source: ISEE_WS },
  { code: 'A2.02', denominazione: 'Sostegno socio-educativo territoriale o domiciliare', source: ISEE_WS },
  { code: 'A2.03', denominazione: 'Prestazioni del diritto allo studio universitario', source: ISEE_WS },
  { code: 'A2.04', denominazione: 'Agevolazioni per tasse universitarie', source: ISEE_WS },
  { code: 'A2.05', denominazione: 'Agevolazioni per i servizi di pubblica utilità (telefono, luce, gas)', source: ISEE_WS },
  { code: 'A2.06', denominazione: 'Agevolazioni tributarie comunali (nettezza urbana, ecc.)', source: ISEE_WS },
  { code: 'A2.07', denominazione: 'Assistenza domiciliare socio-assistenziale', source: ISEE_WS, notes: SINA_ELIGIBLE },
  {
    code: 'A2.08',
    denominazione: 'A.D.I.- Assistenza domiciliare integrata con servizi Sanitari',
    source: ISEE_WS,
    notes: SINA_ELIGIBLE,
  },
  { code: 'A2.09', denominazione: "Supporto all'inserimento lavorativo", source: ISEE_WS },
  { code: 'A2.10', denominazione: 'Servizi integrativi per la prima infanzia', source: ISEE_WS },
  { code: 'A2.11', denominazione: 'Sostegno socio-educativo scolastico', source: ISEE_WS },
  { code: 'A2.12', denominazione: 'Mensa scolastica', source: ISEE_WS },
  { code: 'A2.13', denominazione: '', source: INFERRED_A2_1X, inferred: true },
  { code: 'A2.14', denominazione: '', source: SISO_SINA, notes: SINA_ELIGIBLE },
  { code: 'A2.15', denominazione: '', source: INFERRED_A2_1X, inferred: true },
  {
    code: 'A2.16',
    denominazione: 'Interventi di supporto per reperimento alloggi',
    source: "INPS-it/WaaS.Comuni '002 - OpenAPI/api-comuni.yaml' (decoded example flusso)",
    notes: PRESA_IN_CARICO,
  },
  { code: 'A2.17', denominazione: '', source: OPENAPI_EXAMPLE, notes: PRESA_IN_CARICO },
  { code: 'A2.18', denominazione: '', source: OPENAPI_EXAMPLE, notes: PRESA_IN_CARICO },
  { code: 'A2.19', denominazione: '', source: SISO_RANGE, inferred: true, notes: PRESA_IN_CARICO },
  { code: 'A2.20', denominazione: '', source: SISO_SINA, notes: `${SINA_ELIGIBLE}; ${PRESA_IN_CARICO}` },
  { code: 'A2.21', denominazione: '', source: SISO_SINA, notes: `${SINA_ELIGIBLE}; ${PRESA_IN_CARICO}` },
  { code: 'A2.22', denominazione: '', source: SISO_RANGE, inferred: true, notes: PRESA_IN_CARICO },
  { code: 'A2.23', denominazione: '', source: SISO_RANGE, inferred: true, notes: PRESA_IN_CARICO },
  { code: 'A2.24', denominazione: '', source: SISO_RANGE, inferred: true, notes: PRESA_IN_CARICO },
  { code: 'A2.25', denominazione: '', source: SISO_RANGE, inferred: true, notes: PRESA_IN_CARICO },
  { code: 'A2.26', denominazione: '', source: SISO_RANGE, inferred: true, notes: PRESA_IN_CARICO },
  { code: 'A2.27', denominazione: '', source: SISO_RANGE, inferred: true, notes: PRESA_IN_CARICO },
  { code: 'A2.28', denominazione: '', source: SISO_RANGE, inferred: true, notes: PRESA_IN_CARICO },
  { code: 'A2.29', denominazione: '', source: SISO_RANGE, inferred: true, notes: PRESA_IN_CARICO },
  { code: 'A3.01', denominazione: 'Strutture semiresidenziali', source: ISEE_WS },
  { code: 'A3.02', denominazione: 'Strutture residenziali', source: ISEE_WS, notes: SINA_ELIGIBLE },
  { code: 'A3.03', denominazione: 'Asilo Nido', source: ISEE_WS },
  {
    code: 'A3.04',
    denominazione: 'Edilizia residenziale pubblica',
    source: 'RegioneUmbria-RCB/SISO EsportaCasellarioUtils.java @9d6082e (example in a comment)',
  },
  { code: 'Z9.99', denominazione: 'Altro', source: ISEE_WS },
];

/** When this table was last reviewed against the sources (shown by tablesInfo()). */
export const PRESTAZIONI_TABLE_DATE = '2026-12-06';
