import {spawn} from 'node:child_process'

import Database from 'better-sqlite3'

import {BIN, ROOT} from './cli.js'

/**
 * A client's store read the way any other process would (read-only, never created): its flussi
 * counted by `key`, an SQL expression over the flussi table (`state`, `operation`, …); {} while
 * the store does not exist yet.
 */
export function countFlussi(store: string, key = 'state', submission?: string): Record<string, number> {
  let db: Database.Database
  try {
    db = new Database(store, {readonly: true, fileMustExist: true})
  } catch {
    return {}
  }
  try {
    const where = submission === undefined ? '' : 'WHERE submission_id = ?'
    const rows = db.prepare(`SELECT ${key} AS k, count(*) AS n FROM flussi ${where} GROUP BY k`).all(...(submission === undefined ? [] : [submission])) as Array<{k: string; n: number}>
    return Object.fromEntries(rows.map((r) => [r.k, r.n]))
  } catch {
    return {} // the schema is being created
  } finally {
    db.close()
  }
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
