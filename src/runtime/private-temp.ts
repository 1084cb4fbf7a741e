import {createHash} from 'node:crypto'
import {chmodSync, closeSync, copyFileSync, existsSync, fsyncSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, renameSync, rmSync, writeSync} from 'node:fs'
import {homedir, hostname} from 'node:os'
import {basename, dirname, join} from 'node:path'

import {onInterrupt} from './interrupt.js'

/**
 * Where a process keeps its temporary files — build spools, flussi being written, the sort of a
 * scattered export — all full of personal data: a private folder inside the 0700 data folder,
 * `tmp/<host>-<pid>-<random>/` (0700, files 0600), never `$TMPDIR` nor the user's output folder.
 * It is removed when the process ends, on Ctrl-C and on SIGTERM; what a kill -9 or a power cut
 * leaves is removed by the next command of any kind (`sweepPrivateTemp`, from the base command),
 * which can tell a dead owner from a live one by the host and pid in the folder's name.
 */

/** this machine, as a short hash of its name (several machines may share a data folder) */
const HOST = createHash('sha256').update(hostname()).digest('hex').slice(0, 8)
/** who writes a temporary file: this machine and this process */
export const OWNER = `${HOST}-${process.pid}`
const ROOT = 'tmp'
/** moves into the output folder decided by a committed store transaction (see commitMoves) */
const MOVES = 'moves'

let mine: string | undefined
/** the data folder the command runs with (set at start-up by the sweep), for stages that do not know it */
let knownDataDir: string | undefined

/** This process's private temporary folder, created at the first call. */
export function privateTempDir(dataDir: string): string {
  if (mine && existsSync(mine)) return mine
  const root = join(dataDir, ROOT)
  mkdirSync(root, {recursive: true, mode: 0o700})
  chmodSync(dataDir, 0o700)
  chmodSync(root, 0o700)
  const dir = mkdtempSync(join(root, `${OWNER}-`))
  chmodSync(dir, 0o700)
  mine = dir
  const remove = (): void => {
    // moves the store has committed but that failed (a full disk): the files stay for the next sweep
    if (existsSync(join(dir, MOVES))) return
    rmSync(dir, {recursive: true, force: true})
  }
  onInterrupt(remove)
  process.once('exit', remove)
  return dir
}

/**
 * Removes what dead processes of this machine left in the data folder (their private folders, and
 * spools of versions that kept them in `spool/`); a folder whose process had committed moves into
 * the output folder has them completed first. Cheap when there is nothing: one readdir.
 */
export function sweepPrivateTemp(dataDir: string): string[] {
  knownDataDir = dataDir
  const removed: string[] = []
  const root = join(dataDir, ROOT)
  for (const name of list(root)) {
    const m = /^([0-9a-f]{8})-(\d+)-/.exec(name)
    // a folder of another machine sharing the data folder: its process cannot be checked from here
    if (!m || m[1] !== HOST || isRunning(Number(m[2]))) continue
    const dir = join(root, name)
    try {
      completeMoves(dir)
    } catch {
      // still cannot move them (the output disk is full or gone): keep them for a later command
      continue
    }
    rmSync(dir, {recursive: true, force: true})
    removed.push(name)
  }
  removed.push(...removeLeftovers(join(dataDir, 'spool')))
  return removed
}

/**
 * Files a build killed with SIGKILL left in an output folder (a copy across file systems in
 * progress, or older versions' spools and partial flussi): only those of dead processes of this machine.
 */
export function removeLeftovers(dir: string): string[] {
  const removed: string[] = []
  for (const name of list(dir)) {
    const m = /^\.casellario-build-([0-9a-f]{8})-(\d+)-[0-9a-f]+\.spool(\.sqlite)?$/.exec(name) ?? /\.(?:PS|SINBA)\.\d{8}\.\d{7}\.xml\.([0-9a-f]{8})-(\d+)\.part$/.exec(name)
    if (!m || m[1] !== HOST || isRunning(Number(m[2]))) continue
    rmSync(join(dir, name), {force: true})
    removed.push(name)
  }
  return removed
}

/**
 * Moves finished files from the private folder to where the store says they are, once the store
 * has committed them: the list is written first, so that if the process dies half-way the next
 * sweep completes the moves instead of deleting files the store already knows.
 */
export function commitMoves(workDir: string, moves: Array<{from: string; to: string}>): void {
  if (moves.length === 0) return
  const manifest = join(workDir, MOVES)
  const fd = openSync(manifest, 'w', 0o600)
  writeSync(fd, moves.map((m) => `${m.from}\t${m.to}\n`).join(''))
  fsyncSync(fd)
  closeSync(fd)
  for (const m of moves) moveFile(m.from, m.to)
  rmSync(manifest, {force: true})
}

function completeMoves(dir: string): void {
  const manifest = join(dir, MOVES)
  if (!existsSync(manifest)) return
  for (const line of readFileSync(manifest, 'utf8').split('\n')) {
    const [from, to] = line.split('\t')
    if (from && to && existsSync(from) && existsSync(dirname(to)) && !existsSync(to)) moveFile(from, to)
  }
}

/**
 * A rename; across file systems (data folder and output folder on different disks) a copy to a
 * partial name in the destination, renamed when complete (a kill leaves only a `.part` that the
 * next build into that folder removes).
 */
function moveFile(from: string, to: string): void {
  try {
    renameSync(from, to)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error
    const part = join(dirname(to), `${basename(to)}.${OWNER}.part`)
    try {
      copyFileSync(from, part)
      chmodSync(part, 0o600)
      renameSync(part, to)
    } catch (copyError) {
      // no truncated copy left behind: the source stays complete in the private folder
      rmSync(part, {force: true})
      throw copyError
    }
    rmSync(from, {force: true})
  }
}

/**
 * SQLite's own temporary files (sorts that spill, VACUUM's copy) in `dir` instead of $TMPDIR.
 * The setting is process-wide in SQLite, which suits a process whose temporary files all belong here.
 */
export function privateSqliteTemp(db: {pragma: (source: string) => unknown}, dir: string): void {
  db.pragma(`temp_store_directory = '${dir.replaceAll("'", "''")}'`)
}

function list(dir: string): string[] {
  try {
    return readdirSync(dir)
  } catch {
    return []
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * A folder of its own inside this process's private folder, for a stage that does not know the
 * data folder (a workbook on stdin is copied there, still compressed): removed by `remove`, and
 * with the process's folder at exit, on interruption, or by the next command's sweep after a kill.
 */
export async function privateWorkFolder(): Promise<{path: string; remove: () => Promise<void>}> {
  const dataDir = knownDataDir ?? join(process.env.XDG_DATA_HOME || join(homedir(), '.local', 'share'), 'casellario')
  const path = mkdtempSync(join(privateTempDir(dataDir), 'work-'))
  chmodSync(path, 0o700)
  return {path, remove: async () => rmSync(path, {recursive: true, force: true})}
}
