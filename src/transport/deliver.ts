import {createHash} from 'node:crypto'

import {BugError, TransportError} from '../errors/index.js'
import {flowById} from '../flows/index.js'
import type {Store, Submission} from '../store/sqlite.js'
import {ESITI, esitoTime, MAX_BATCH, type FlussoEntry, type PushClient} from './push.js'

/**
 * Hands a submission's flussi to a push endpoint, in batches of up to 100, so that a kill or a
 * lost answer at any instant never sends a flusso twice with different content and never loses
 * one: each batch is marked `sending` before the request (its content is fixed in the store),
 * receipts move flussi to `sent`, and `sending` ones are sent again on the next run — the
 * endpoint answers DUPLICATO for those it already has.
 */

export interface DeliveryReport {
  /** flussi the endpoint acknowledged in this run (RICEVUTO or DUPLICATO) */
  sent: number
  duplicates: number
  /** 409: already at the endpoint with different content — a person must look */
  conflicts: string[]
  /** 400 on the flusso alone */
  refused: string[]
}

export function emptyDelivery(): DeliveryReport {
  return {sent: 0, duplicates: 0, conflicts: [], refused: []}
}

/** Adds one delivery's figures to another's (a run that resumes earlier submissions). */
export function addDelivery(total: DeliveryReport, more: DeliveryReport): void {
  total.sent += more.sent
  total.duplicates += more.duplicates
  total.conflicts.push(...more.conflicts)
  total.refused.push(...more.refused)
}

export async function deliverPush(store: Store, submission: Submission, client: PushClient, onProgress?: (done: number) => void): Promise<DeliveryReport> {
  const flow = flowById(submission.flow as 'ps' | 'sinba')
  const report = emptyDelivery()
  const entry = (f: {idFlusso: string; xml: Buffer; sha256: string; tsFlusso: number}): FlussoEntry => {
    // the store is the source of truth: what leaves is exactly what was recorded
    if (createHash('sha256').update(f.xml).digest('hex') !== f.sha256) throw new BugError('STORE_CONTENT_CHANGED', {
      it: `Il contenuto del flusso ${f.idFlusso} nello store non corrisponde al suo SHA-256.`,
      en: `The content of flusso ${f.idFlusso} in the store does not match its SHA-256.`,
    })
    return {
      codice_ente: submission.codiceEnte,
      ...(submission.denominazioneEnte ? {denominazione_ente: submission.denominazioneEnte.slice(0, 256)} : {}),
      id_flusso: f.idFlusso,
      tipo: flow.waasTipo,
      ts_flusso: new Date(f.tsFlusso).toISOString(),
      flusso: f.xml.toString('base64'),
    }
  }
  const sendBatch = async (entries: FlussoEntry[]): Promise<void> => {
    store.markSending(entries.map((e) => e.id_flusso))
    const outcome = await client.send(entries)
    if (outcome.kind === 'received') {
      store.markReceived(outcome.receipts)
      report.sent += outcome.receipts.length
      report.duplicates += outcome.receipts.filter((r) => r.stato === 'DUPLICATO').length
      onProgress?.(report.sent)
      return
    }
    // a refused batch is sent again one flusso at a time, to find which one the endpoint refuses
    if (entries.length > 1) {
      for (const e of entries) await sendBatch([e])
      return
    }
    const id = entries[0].id_flusso
    if (outcome.kind === 'conflict') {
      store.markRefused(id, 'conflict', 'CONFLITTO', outcome.detail)
      report.conflicts.push(id)
    } else {
      store.markRefused(id, 'rejected', 'RICHIESTA_RIFIUTATA', outcome.detail)
      report.refused.push(id)
    }
  }
  // a receipt missing from an answer leaves its flusso `sending`: one more pass sends it again
  // cancellations first, never in the same request as insertions: INPS must take back the old
  // version of a prestazione before it receives the new one
  for (let pass = 0; pass < 3; pass++) {
    let any = false
    for (const operation of ['C', 'I'] as const) {
      let after = ''
      for (;;) {
        const batch = store.flussiToSend(submission.id, operation, after, MAX_BATCH)
        if (batch.length === 0) break
        any = true
        after = batch.at(-1)!.idFlusso
        await sendBatch(batch.map(entry))
      }
    }
    if (!any) return report
  }
  throw new TransportError(
    'ENDPOINT_RECEIPTS_MISSING',
    {it: `L'endpoint non ha dato ricevuta di alcuni flussi dell'invio ${submission.id}.`, en: `The endpoint gave no receipt for some flussi of submission ${submission.id}.`},
    {
      suggestions: [
        {
          it: 'Rilancia lo stesso comando: i flussi senza ricevuta sono reinviati con lo stesso id_flusso (nessun duplicato).',
          en: 'Run the same command again: the flussi without a receipt are sent again with the same id_flusso (no duplicates).',
        },
      ],
    },
  )
}

export interface SyncReport {
  /** esiti read from the endpoint */
  read: number
  /** of which for flussi of this store */
  applied: number
  /** id_flusso accepted / rejected by the esiti read */
  accepted: string[]
  rejected: string[]
}

const ESITI_PAGE = 100

/**
 * Reads esiti after the cursor of this endpoint, page by page, applying each page with the new
 * cursor in one transaction (a kill between pages loses nothing: applying an esito twice changes
 * nothing). After a full page the next one starts one millisecond before the last esito read, so
 * esiti sharing that millisecond beyond the page are not skipped.
 */
export async function syncEsiti(store: Store, client: PushClient, endpointKey: string, ente?: string): Promise<SyncReport> {
  const report: SyncReport = {read: 0, applied: 0, accepted: [], rejected: []}
  // for one ente: its own cursor, and another ente's esiti left alone (its own reading applies them)
  let since = store.esitiCursor(endpointKey, ente)
  for (;;) {
    const page = await client.esiti(since, ESITI_PAGE)
    if (page.length === 0) break
    let last = since
    const updates = []
    for (const e of page) {
      const ts = esitoTime(e)!
      last = Math.max(last, ts)
      if ((ESITI as readonly string[]).includes(e.codice_esito)) {
        updates.push({idFlusso: e.id_flusso, codiceEsito: e.codice_esito, descrizione: e.descrizione_esito, idAcquisizione: e.id_acquisizione_siuss, tsAcquisizione: ts})
      } else store.recordUnknownEsito(e.id_flusso, String(e.codice_esito).slice(0, 40), ente)
    }
    const full = page.length === ESITI_PAGE
    // a full page all in one millisecond cannot be paged by `since`: past it is the only way on
    const next = full && last - 1 > since ? last - 1 : Math.max(last, since + 1)
    const {applied, changed} = store.applyEsiti(updates, {cursor: {endpoint: endpointKey, since: next}, scope: {transport: 'push', endpoint: endpointKey, ...(ente ? {ente} : {})}})
    report.read += page.length
    report.applied += applied
    for (const c of changed) (c.state === 'accepted' ? report.accepted : report.rejected).push(c.idFlusso)
    since = next
    if (!full) break
  }
  return report
}
