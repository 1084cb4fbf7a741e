import assert from 'node:assert/strict'

import {Store} from '../src/store/sqlite.js'
import {syncEsiti} from '../src/transport/deliver.js'
import type {EsitoFlusso, PushClient} from '../src/transport/push.js'
import {tempDir} from './support/cli.js'
import {STORE_BACKENDS, storeFor} from './support/stores.js'

/**
 * Reading esiti by `since` (DESIGN §8.2) when the endpoint gives many the same millisecond, as
 * real date-times with whole seconds do: no esito may be skipped, and paging must end.
 * The endpoint here is the contract's paging rule itself (strictly after `since`, oldest first).
 */
for (const backend of STORE_BACKENDS)
describe(`sync pages esiti by since without skipping those that share a millisecond (${backend})`, function () {
  this.timeout(60_000)
  const esiti: EsitoFlusso[] = []
  // 250 esiti in three distinct seconds, all at whole seconds
  for (let i = 0; i < 250; i++) {
    esiti.push({id_flusso: `H501.PS.20261126.${String(i + 1).padStart(7, '0')}`, ts_acquisizione: new Date(Date.UTC(2026, 10, 26, 10, 0, Math.floor(i / 90))).toISOString(), codice_esito: 'OK'})
  }
  const endpoint = {
    pages: 0,
    esiti: async (since: number, limit: number): Promise<EsitoFlusso[]> => {
      endpoint.pages++
      return esiti.filter((e) => Date.parse(String(e.ts_acquisizione)) > since).slice(0, limit)
    },
  }

  it('applies all 250 and stops', async () => {
    const store = Store.open(storeFor(backend, tempDir()))
    store.transaction(() => {
      store.insertSubmission({id: 's', flow: 'ps', ente: 'H501', codiceEnte: 'H501', transport: 'push', endpoint: 'https://hub.example', rows: 250, valid: 250, errors: 0})
      for (const e of esiti) store.insertFlusso({idFlusso: e.id_flusso, submissionId: 's', ente: 'H501', flow: 'ps', packaging: 'cooperazione', state: 'sent', xml: Buffer.from('x'), sha256: '-', tsFlusso: 1, beneficiari: 1, prestazioni: 1, rows: [1]})
    })
    const report = await syncEsiti(store, endpoint as unknown as PushClient, 'https://hub.example')
    assert.equal(report.accepted.length, 250)
    assert.deepEqual(store.submission('s')!.states, {accepted: 250})
    assert.ok(endpoint.pages < 10, `${endpoint.pages} pages`)
    store.close()
  })
})
