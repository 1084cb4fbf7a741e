import {existsSync, mkdirSync, readFileSync, renameSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'

import {UsageError} from '../errors/index.js'
import {openSheet} from '../input/index.js'
import {normalizeHeader} from '../mapping/index.js'
import {isPrestazioneCodeFormat, mergePrestazioni, prestazioneByCode} from './index.js'
import type {Prestazione} from './prestazioni.js'

/**
 * The ente's own extension of the nomenclatore: INPS adds categories by message and the public
 * list is partial, so users can add codes (`casellario tables update --from FILE`). Kept as a
 * JSON file in the user data dir, merged over the built-in table wherever validation runs.
 */

export function userNomenclatorePath(dataDir: string): string {
  return join(dataDir, 'nomenclatore.json')
}

export function readUserNomenclatore(path: string): Prestazione[] {
  if (!existsSync(path)) return []
  try {
    const entries = JSON.parse(readFileSync(path, 'utf8')) as Prestazione[]
    if (!Array.isArray(entries)) throw new Error('not a list')
    return entries
  } catch (error) {
    throw new UsageError('NOMENCLATORE_INVALID', `Il nomenclatore locale ${path} è illeggibile: ${(error as Error).message}`, {
      suggestions: ['Rigeneralo con: casellario tables update --from FILE'],
    })
  }
}

/** Merges the user's entries into the tables of this thread (a no-op without a file). */
export function applyUserNomenclatore(path: string | undefined): void {
  if (path) mergePrestazioni(readUserNomenclatore(path))
}

export interface NomenclatoreImport {
  added: string[]
  updated: string[]
  rejected: {row: number; value: string}[]
  total: number
}

const CODE_HEADERS = ['codice', 'code', 'codiceprestazione']
const NAME_HEADERS = ['denominazione', 'descrizione', 'denominazioneprestazione', 'description']

/** Reads codes and denominations from a spreadsheet (CSV, XLSX, ODS) and adds them to the user's file. */
export async function importNomenclatore(source: string, path: string): Promise<NomenclatoreImport> {
  const sheet = await openSheet(source, {onIssue: () => {}})
  try {
    const headers = sheet.header.map(normalizeHeader)
    const codeAt = headers.findIndex((h) => CODE_HEADERS.includes(h))
    const nameAt = headers.findIndex((h) => NAME_HEADERS.includes(h))
    if (codeAt < 0) {
      throw new UsageError('NOMENCLATORE_NO_CODE_COLUMN', `Il file ${source} non ha una colonna "codice".`, {
        suggestions: ['Intestazioni attese: codice;denominazione (es. A1.04;Contributi economici a integrazione del reddito familiare)'],
      })
    }
    const existing = new Map(readUserNomenclatore(path).map((e) => [e.code, e]))
    const result: NomenclatoreImport = {added: [], updated: [], rejected: [], total: 0}
    for await (const batch of sheet.batches) {
      for (const {row, cells} of batch) {
        const code = (cells[codeAt] ?? '').trim().toUpperCase()
        if (code === '') continue
        if (!isPrestazioneCodeFormat(code)) {
          result.rejected.push({row, value: code})
          continue
        }
        const entry: Prestazione = {code, denominazione: nameAt >= 0 ? (cells[nameAt] ?? '').trim() : '', source: `casellario tables update --from ${source}`}
        if (existing.has(code) || prestazioneByCode(code)) result.updated.push(code)
        else result.added.push(code)
        existing.set(code, entry)
      }
    }
    const entries = [...existing.values()].sort((a, b) => a.code.localeCompare(b.code))
    result.total = entries.length
    mkdirSync(dirname(path), {recursive: true, mode: 0o700})
    writeFileSync(`${path}.tmp`, `${JSON.stringify(entries, null, 2)}\n`, {mode: 0o600})
    renameSync(`${path}.tmp`, path)
    return result
  } finally {
    await sheet.close()
  }
}
