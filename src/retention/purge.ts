import {engineNow} from '../clock/index.js'
import {UsageError} from '../errors/index.js'
import type {Store} from '../store/sqlite.js'

/**
 * `purge` (DESIGN §13): flussi whose esito is final and older than the retention period lose
 * their payloads and personal fields; what tracking, delta detection and the DPO need stays.
 * Work goes in batches (short write transactions: a `serve` on the same store keeps answering).
 */

export interface PurgeOptions {
  store: Store
  /** e.g. 13m, 400d, 2y, 0d */
  olderThan: string
  ente?: string
  dryRun?: boolean
  /** the process's private folder (runtime/private-temp.ts): where the rewrite of the file spills */
  workDir: string
}

export interface PurgeResult {
  older_than: string
  /** flussi whose last change is before this instant were taken */
  before: string
  ente?: string
  dry_run: boolean
  flussi: number
  records: number
  /** after reducing: the file rewritten and the WAL folded into it; false if a reader kept the WAL (absent when nothing was reduced) */
  checkpointed?: boolean
}

const BATCH = 500

export function purge(opts: PurgeOptions): PurgeResult {
  const before = cutoff(opts.olderThan, engineNow()).toISOString()
  const base = {older_than: opts.olderThan, before, ...(opts.ente ? {ente: opts.ente} : {}), dry_run: opts.dryRun === true}
  if (opts.dryRun) return {...base, ...opts.store.purgeable(before, opts.ente)}
  let flussi = 0
  let records = 0
  for (;;) {
    const batch = opts.store.purgeBatch(before, opts.ente, BATCH)
    flussi += batch.flussi
    records += batch.records
    if (batch.flussi < BATCH) break
  }
  return {...base, flussi, records, ...(flussi > 0 ? {checkpointed: opts.store.compact(opts.workDir)} : {})}
}

/** `now` minus an age: days, weeks, calendar months or years. */
export function cutoff(age: string, now: Date): Date {
  const m = /^(\d{1,4})([dwmy])$/.exec(age.trim())
  if (!m) {
    throw new UsageError('PURGE_AGE_INVALID', {
      it: `Età non valida: "${age}". Usa un numero seguito da d (giorni), w (settimane), m (mesi) o y (anni), es. 13m.`,
      en: `Invalid age: "${age}". Use a number followed by d (days), w (weeks), m (months) or y (years), e.g. 13m.`,
    }, {
      suggestions: ['casellario purge --older-than 13m --dry-run'],
    })
  }
  const n = Number(m[1])
  const at = new Date(now)
  if (m[2] === 'd') at.setUTCDate(at.getUTCDate() - n)
  else if (m[2] === 'w') at.setUTCDate(at.getUTCDate() - 7 * n)
  else if (m[2] === 'm') at.setUTCMonth(at.getUTCMonth() - n)
  else at.setUTCFullYear(at.getUTCFullYear() - n)
  return at
}
