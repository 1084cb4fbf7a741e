import {parentPort, workerData} from 'node:worker_threads'

import {Store, type Actor} from '../store/sqlite.js'

/**
 * `serve`'s writer of delivery marks, on its own thread with its own connection: marking thousands
 * of pulled flussi `delivered` must never stall the thread that answers INPS (SQLite in WAL mode lets
 * that thread read while this one writes).
 */

type Message = {pages: Array<{since: number; last: number; ente: string}>} | {flush: true}

const {store: storePath, actor} = workerData as {store: string; actor?: Actor}
const store = Store.open(storePath)
// the marks are the service's transitions: the audit trail names serve and its operator
if (actor) store.setActor(actor)
let pending: Array<{since: number; last: number; ente: string}> = []
let timer: NodeJS.Timeout | undefined

/** pages written per tick: a burst of pulls is absorbed gradually, the CPU stays with the answers */
const PAGES_PER_TICK = 10

function write(all = false): void {
  clearTimeout(timer)
  timer = undefined
  if (pending.length === 0) return
  pending = coalesced(pending)
  const batch = all ? pending : pending.slice(0, PAGES_PER_TICK)
  try {
    store.markDelivered(batch)
    pending = pending.slice(batch.length)
    if (pending.length > 0) timer = setTimeout(write, 100)
  } catch {
    // the store is busy (a long submit holds the write lock): try again shortly
    timer = setTimeout(write, 2000)
  }
}

/**
 * The pages of one ente that overlap or follow one another, as one range: INPS pages on from where
 * it stopped, so a burst of its pulls is written as one statement (and one event) per ente, not one
 * per page. Pages with a gap between them stay apart (the gap's flussi were never handed out).
 */
function coalesced(pages: Array<{since: number; last: number; ente: string}>): Array<{since: number; last: number; ente: string}> {
  const sorted = [...pages].sort((a, b) => (a.ente < b.ente ? -1 : a.ente > b.ente ? 1 : a.since - b.since))
  const ranges: Array<{since: number; last: number; ente: string}> = []
  for (const page of sorted) {
    const previous = ranges.at(-1)
    if (previous && previous.ente === page.ente && page.since <= previous.last) previous.last = Math.max(previous.last, page.last)
    else ranges.push({...page})
  }
  return ranges
}

parentPort!.on('message', (message: Message) => {
  if ('pages' in message) {
    pending.push(...message.pages)
    timer ??= setTimeout(write, 100)
    return
  }
  write(true)
  store.close()
  parentPort!.postMessage('flushed')
})
