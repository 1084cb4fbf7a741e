import {spawn} from 'node:child_process'

import {BIN, ROOT} from './cli.js'
import {queryStore} from './stores.js'

/**
 * A client's store (SQLite or PostgreSQL) read the way any other process would (read-only, never created): its flussi
 * counted by `key`, an SQL expression over the flussi table (`state`, `operation`, …); {} while
 * the store does not exist yet.
 */
export function countFlussi(store: string, key = 'state', submission?: string): Record<string, number> {
  const where = submission === undefined ? '' : 'WHERE submission_id = ?'
  const rows = queryStore<{k: string; n: number}>(store, `SELECT ${key} AS k, count(*) AS n FROM flussi ${where} GROUP BY 1`, ...(submission === undefined ? [] : [submission]))
  return Object.fromEntries((rows ?? []).map((r) => [r.k, r.n]))
}

/**
 * Starts `submit FILE` and SIGKILLs it as soon as `when` holds for the store's flussi counted by
 * `key` (or lets it end by itself); `seen` is the last count read.
 */
export function submitKilledWhen(
  file: string,
  env: Record<string, string>,
  when: (counts: Record<string, number>) => boolean,
  key = 'state',
): Promise<{killed: boolean; seen: Record<string, number>}> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, 'submit', file, '--json'], {env, cwd: ROOT, stdio: 'ignore'})
    let killed = false
    let seen: Record<string, number> = {}
    const poll = setInterval(() => {
      seen = countFlussi(env.CASELLARIO_STORE, key)
      if (!killed && when(seen)) killed = child.kill('SIGKILL')
    }, 10)
    child.on('exit', () => {
      clearInterval(poll)
      resolve({killed, seen})
    })
  })
}
