/**
 * The only place casellario writes temporary copies of input: a private folder inside the user
 * data folder (0700, files 0600), never $TMPDIR. Each run uses `tmp/<pid>-<random>`, removed when
 * the work is done, on exit and on SIGINT/SIGTERM; what a kill -9 leaves behind is swept by the
 * next command of any kind (`sweepPrivateTemp`, called at start-up), since its process is gone.
 */
import {mkdirSync, readdirSync, rmSync} from 'node:fs'
import {chmod, mkdtemp, rm} from 'node:fs/promises'
import {homedir} from 'node:os'
import {join} from 'node:path'

import {onInterrupt} from './interrupt.js'

let root: string | undefined

/** Where the private folders go: `tmp` in the data folder; without one (library use), the XDG default. */
function tempRoot(): string {
  root ??= join(process.env.XDG_DATA_HOME || join(homedir(), '.local', 'share'), 'casellario', 'tmp')
  return root
}

/** Called at start-up with the data folder: removes the folders of runs that are no longer alive. */
export function sweepPrivateTemp(dataDir: string): void {
  root = join(dataDir, 'tmp')
  let names: string[]
  try {
    names = readdirSync(root)
  } catch {
    return // nothing was ever left here
  }
  for (const name of names) {
    const pid = Number.parseInt(name, 10)
    if (Number.isInteger(pid) && pid > 0 && !isAlive(pid)) rmSync(join(root, name), {recursive: true, force: true})
  }
}

function isAlive(pid: number): boolean {
  if (pid === process.pid) return true
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM' // someone else's process: not ours to judge
  }
}

export interface PrivateTemp {
  path: string
  remove: () => Promise<void>
}

/** A fresh private folder for this run, removed by `remove`, on exit and on interruption. */
export async function privateTempDir(): Promise<PrivateTemp> {
  const base = tempRoot()
  mkdirSync(base, {recursive: true, mode: 0o700})
  await chmod(base, 0o700)
  const path = await mkdtemp(join(base, `${process.pid}-`))
  await chmod(path, 0o700)
  const removeSync = (): void => rmSync(path, {recursive: true, force: true})
  const forgetInterrupt = onInterrupt(removeSync)
  process.once('exit', removeSync)
  return {
    path,
    remove: async () => {
      forgetInterrupt()
      process.removeListener('exit', removeSync)
      await rm(path, {recursive: true, force: true})
    },
  }
}
