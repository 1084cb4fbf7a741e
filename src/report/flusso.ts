import {count, NOUNS, say, stateLabel} from '../i18n/messages.js'
import {engineNow} from '../clock/index.js'
import {colourer} from './terminal.js'
import {UsageError} from '../errors/index.js'
import type {FlussoRow, FlussoState, Store} from '../store/sqlite.js'

/** One flusso as `status ID_FLUSSO` shows it: state, esito, spreadsheet rows, history. */

export interface FlussoDocument {
  id_flusso: string
  submission: string | null
  ente: string
  state: FlussoState
  flow: string
  packaging: string
  file: string | null
  sha256: string | null
  beneficiari: number
  prestazioni: number
  attempts: number
  ricevuta: string | null
  esito: string | null
  descrizione_esito: string | null
  id_acquisizione_siuss: string | null
  ts_acquisizione: string | null
  rows: number[]
  events: Array<{at: string; event: string; detail: unknown}>
}

export function flussoDocument(store: Store, idFlusso: string): FlussoDocument {
  const f = store.flusso(idFlusso) as FlussoRow
  const rows = store.rowsOf(idFlusso)
  return {
    id_flusso: f.idFlusso,
    submission: f.submissionId,
    ente: f.ente,
    state: f.state,
    flow: f.flow,
    packaging: f.packaging,
    file: f.file,
    sha256: f.sha256,
    beneficiari: f.beneficiari,
    prestazioni: f.prestazioni,
    attempts: f.attempts,
    ricevuta: f.ricevuta,
    esito: f.esito,
    descrizione_esito: f.esitoDescrizione,
    id_acquisizione_siuss: f.idAcquisizione,
    ts_acquisizione: f.tsAcquisizione === null ? null : new Date(f.tsAcquisizione).toISOString(),
    rows,
    events: store.events(idFlusso),
  }
}

export function describeFlusso(doc: FlussoDocument): string {
  const c = colourer()
  const colour = doc.state === 'accepted' ? 'green' : doc.state === 'rejected' || doc.state === 'conflict' ? 'red' : 'yellow'
  const lines = [
    `${c(doc.id_flusso, 'bold')}: ${c(stateLabel(doc.state), colour)}${doc.esito ? ` (${doc.esito}${doc.descrizione_esito ? ` — ${doc.descrizione_esito}` : ''})` : ''}`,
    say({
      it: `  invio ${doc.submission ?? '-'}, ${count(doc.beneficiari, NOUNS.beneficiario)}, ${count(doc.prestazioni, NOUNS.prestazione)}, righe ${doc.rows.join(', ') || '-'}`,
      en: `  submission ${doc.submission ?? '-'}, ${count(doc.beneficiari, NOUNS.beneficiario)}, ${count(doc.prestazioni, NOUNS.prestazione)}, rows ${doc.rows.join(', ') || '-'}`,
    }),
  ]
  if (doc.id_acquisizione_siuss) {
    lines.push(say({
      it: `  acquisizione SIUSS ${doc.id_acquisizione_siuss} del ${doc.ts_acquisizione}`,
      en: `  SIUSS acquisition ${doc.id_acquisizione_siuss} of ${doc.ts_acquisizione}`,
    }))
  }
  if (doc.file) lines.push(`  file ${doc.file}`)
  for (const e of doc.events) lines.push(`  ${e.at}  ${e.event}`)
  return lines.join('\n')
}

/** The file transport: the operator records what the INPS portal said about a flusso. */
export function recordManualEsito(store: Store, idFlusso: string, esito: string, reason?: string): void {
  const f = store.flusso(idFlusso)
  if (!f) throw new UsageError('NOT_FOUND', {it: `Nessun flusso ${idFlusso} in questo store.`, en: `No flusso ${idFlusso} in this store.`})
  if (f.packaging !== 'upload') {
    throw new UsageError('ESITO_FROM_ENDPOINT', {
      it: `Il flusso ${idFlusso} è stato inviato a un endpoint: il suo esito arriva da lì.`,
      en: `The flusso ${idFlusso} was sent to an endpoint: its esito comes from there.`,
    }, {suggestions: ['casellario sync']})
  }
  store.applyEsiti([{idFlusso, codiceEsito: esito, descrizione: reason, tsAcquisizione: engineNow().getTime()}])
}
