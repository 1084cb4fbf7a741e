import {readFileSync} from 'node:fs'
import {join} from 'node:path'

import {startService, userEnv} from './cli.js'

/** `casellario sandbox` as its own process, the way a person runs it in another terminal. */
export interface SandboxProcess {
  url: string
  /** the CASELLARIO_* variables that point a client at it */
  env: Record<string, string>
  stats: () => Promise<{received: number; held: number; byEsito: Record<string, number>; counters: Record<string, number>}>
  received: () => Promise<Array<{id_flusso: string; content_sha256: string; codice_esito: string}>>
  stop: () => Promise<void>
}

export async function startSandboxProcess(dir: string, args: string[] = [], opts: {esitiDelayMs?: number} = {}): Promise<SandboxProcess> {
  const {doc, child} = await startService<{url: string; env: Record<string, string>; passphrase_file: string}>(
    ['sandbox', '--port', '0', '--json', '--esiti-delay', String(opts.esitiDelayMs ?? 200), ...args],
    userEnv(join(dir, 'sandbox-home')),
  )
  const get = async <T>(path: string): Promise<T> => (await (await fetch(`${doc.url}${path}`)).json()) as T
  return {
    url: doc.url,
    env: {...doc.env, CASELLARIO_P12_PASSPHRASE: readFileSync(doc.passphrase_file, 'utf8')},
    stats: () => get('/_sandbox/stats'),
    received: async () => (await get<{received: Array<{id_flusso: string; content_sha256: string; codice_esito: string}>}>('/_sandbox/received')).received,
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve())
        child.kill('SIGTERM')
      }),
  }
}
