import {spawn, spawnSync, type ChildProcess} from 'node:child_process'
import {mkdtempSync, readFileSync, readdirSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {SaxesParser} from 'saxes'

/** Runs the real CLI (bin/run.js, built code) the way a user or a cron job would: no TTY, no stdin. */

export const ROOT = fileURLToPath(new URL('../../', import.meta.url))
export const BIN = join(ROOT, 'bin', 'run.js')
export const REFERENCE = join(ROOT, '..', 'shared', 'reference')
export const PS_XSD = join(REFERENCE, 'inps', 'PS_PSA_SINA201812.xsd')

/** A synthetic ente and operator (valid check characters, no real person). */
export const ENTE_ENV = {
  CASELLARIO_ENTE_CODICE: 'H501',
  CASELLARIO_ENTE_BELFIORE: 'H501',
  CASELLARIO_ENTE_DENOMINAZIONE: 'Comune di Prova & Servizi <Sociali>',
  CASELLARIO_CF_OPERATORE: 'PRTPRV80A01H501O',
}

export interface CliResult {
  code: number
  stdout: string
  stderr: string
  json: <T = any>() => T
}

export function tempDir(prefix = 'casellario-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix))
}

/** An isolated user: its own HOME, XDG dirs and store. */
export function userEnv(dir: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    HOME: dir,
    XDG_CONFIG_HOME: join(dir, 'config'),
    XDG_DATA_HOME: join(dir, 'data'),
    XDG_CACHE_HOME: join(dir, 'cache'),
    CASELLARIO_STORE: join(dir, 'store.db'),
    LANG: 'it_IT.UTF-8',
    // the engine clock the suite runs under (npm run test:clock), so the CLI's "today" is the tests'
    ...(process.env.CASELLARIO_NOW ? {CASELLARIO_NOW: process.env.CASELLARIO_NOW, CASELLARIO_NOW_AT: process.env.CASELLARIO_NOW_AT ?? String(Date.now())} : {}),
    ...ENTE_ENV,
    ...extra,
  }
}

function result(code: number | null, stdout: string, stderr: string): CliResult {
  return {
    code: code ?? -1,
    stdout,
    stderr,
    json: () => {
      try {
        return JSON.parse(stdout)
      } catch {
        throw new Error(`stdout is not one JSON document (exit ${code}):\n${stdout.slice(0, 2000)}\nstderr:\n${stderr.slice(0, 2000)}`)
      }
    },
  }
}

export function run(args: string[], opts: {env: Record<string, string>; input?: string | Buffer; cwd?: string}): CliResult {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    env: opts.env,
    cwd: opts.cwd ?? ROOT,
    input: opts.input,
    stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    maxBuffer: 1 << 30,
    timeout: 300_000,
  })
  return result(r.status, r.stdout.toString(), r.stderr.toString())
}

export function runAsync(args: string[], opts: {env: Record<string, string>}): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], {env: opts.env, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe']})
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (err += d))
    child.on('close', (code) => resolve(result(code, out, err)))
  })
}

/** A long-running command (sandbox, serve) started as its own process; resolves with its first JSON line. */
export async function startService<T>(args: string[], env: Record<string, string>): Promise<{doc: T; child: ChildProcess; stderr: () => string}> {
  const child = spawn(process.execPath, [BIN, ...args], {env, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe']})
  let stderr = ''
  child.stderr!.on('data', (d) => (stderr += d))
  const first = await new Promise<string>((resolve, reject) => {
    let out = ''
    child.stdout!.on('data', (d) => {
      out += d
      if (out.includes('\n')) resolve(out)
    })
    child.on('exit', (code) => reject(new Error(`${args[0]} exited ${code}: ${stderr}`)))
  })
  return {doc: JSON.parse(first) as T, child, stderr: () => stderr}
}

/** The official XSD, checked by libxml2's xmllint (an independent validator). */
export function xmllint(files: string[], xsd = PS_XSD): {ok: boolean; output: string} {
  const r = spawnSync('xmllint', ['--noout', '--schema', xsd, ...files], {maxBuffer: 1 << 28})
  return {ok: r.status === 0, output: r.stderr.toString()}
}

export function xmlFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.xml'))
    .sort()
    .map((f) => join(dir, f))
}

/**
 * Reads a PS flusso back into canonical rows (one per PrestazioniSociali), with an independent
 * XML parser, for round-trip checks.
 */
export function readFlussoRows(file: string): Record<string, string>[] {
  const rows: Record<string, string>[] = []
  const parser = new SaxesParser({xmlns: true})
  let person: Record<string, string> = {}
  let current: Record<string, string> | undefined
  let list: string | undefined
  let text = ''
  const LIST_COLUMN: Record<string, string> = {NecessitaInterventiSociali: 'SINA_NecessitaInterventiSociali', InvaliditaCivile: 'SINA_InvaliditaCivile'}
  parser.on('opentag', (tag) => {
    const attrs = Object.fromEntries(Object.entries(tag.attributes).map(([k, a]) => [k, (a as {value: string}).value]))
    switch (tag.local) {
      case 'Beneficiario':
        person = {...attrs}
        break
      case 'Anagrafica':
      case 'Indirizzo':
        Object.assign(person, attrs)
        break
      case 'PrestazioniSociali':
        current = {...person, ...attrs}
        break
      case 'SINA':
        for (const [k, v] of Object.entries(attrs)) current![`SINA_${k}`] = v
        break
      case 'NecessitaInterventiSociali':
      case 'InvaliditaCivile':
        list = LIST_COLUMN[tag.local]
        break
      default:
        text = ''
    }
  })
  parser.on('text', (t) => (text += t))
  parser.on('closetag', (tag) => {
    if ((tag.local === 'CodicePrestazione' || tag.local === 'InvCiv') && list) {
      current![list] = current![list] ? `${current![list]}|${text}` : text
    }
    if (tag.local === 'NecessitaInterventiSociali' || tag.local === 'InvaliditaCivile') list = undefined
    if (tag.local === 'PrestazioniSociali') rows.push(current!)
  })
  parser.write(readFileSync(file, 'utf8')).close()
  return rows
}

/** A flusso's text without its Nome: two builds of the same data differ only there. */
export function withoutNome(file: string): string {
  return readFileSync(file, 'utf8').replace(/Nome="[^"]*"/, '')
}

/** Attribute values of IdentificazioneFlusso and Ente. */
export function flussoHeader(file: string): Record<string, string> {
  const xml = readFileSync(file, 'utf8')
  const nome = /IdentificazioneFlusso Nome="([^"]*)"/.exec(xml)?.[1] ?? ''
  const ente = /<Ente ([^>]*)\/>/.exec(xml)?.[1] ?? ''
  return {Nome: nome, ...Object.fromEntries([...ente.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]))}
}
