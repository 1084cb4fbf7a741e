import {existsSync, mkdirSync, readFileSync, renameSync, writeFileSync} from 'node:fs'
import {basename, dirname, join} from 'node:path'

import {engineNow} from '../clock/index.js'
import {UsageError} from '../errors/index.js'
import {openSheet} from '../input/index.js'
import {normalizeHeader} from '../input/header.js'
import {isPrestazioneCodeFormat, mergePrestazioni, prestazioneByCode} from './index.js'
import type {Prestazione} from './prestazioni.js'
import {applyUserComuni, userComuniPath} from './user-comuni.js'

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
    throw new UsageError('NOMENCLATORE_INVALID', {
      it: `Il nomenclatore locale ${path} è illeggibile: ${(error as Error).message}`,
      en: `The local nomenclatore ${path} cannot be read: ${(error as Error).message}`,
    }, {
      suggestions: [{it: 'Rigeneralo con: casellario tables update --from FILE', en: 'Build it again with: casellario tables update --from FILE'}],
    })
  }
}

/**
 * Merges the user's entries into the tables of this thread (a no-op without a file), and the
 * user's comuni (tables update --comuni), kept beside it in the same data dir.
 */
export function applyUserNomenclatore(path: string | undefined): void {
  if (!path) return
  mergePrestazioni(readUserNomenclatore(path))
  applyUserComuni(userComuniPath(dirname(path)))
}

export interface NomenclatoreImport {
  added: string[]
  updated: string[]
  rejected: {row: number; value: string}[]
  total: number
}

// Headers as the project's own file has them, and as the INPS portal's table export and the
// management software name them (Italian, any case, spaces and underscores ignored).
const CODE_HEADERS = ['codice', 'code', 'codiceprestazione', 'codprestazione', 'cod.prestazione', 'codicetipologia', 'codicecategoria']
const NAME_HEADERS = ['denominazione', 'descrizione', 'denominazioneprestazione', 'descrizioneprestazione', 'description', 'prestazione', 'tipologiaprestazione', 'categoria']
/** a portal export may open with a title and a blank line: the header is looked for in the first rows */
const HEADER_SEARCH_ROWS = 20

/** Reads codes and denominations from a spreadsheet (CSV, XLSX, ODS) and adds them to the user's file. */
export async function importNomenclatore(source: string, path: string): Promise<NomenclatoreImport> {
  const sheet = await openSheet(source, {onIssue: () => {}})
  try {
    let columns = headerColumns(sheet.header)
    const existing = new Map(readUserNomenclatore(path).map((e) => [e.code, e]))
    const result: NomenclatoreImport = {added: [], updated: [], rejected: [], total: 0}
    const origin = `casellario tables update --from ${basename(source)} (${engineNow().toISOString().slice(0, 10)})`
    let searched = 0
    for await (const batch of sheet.batches) {
      for (const {row, cells} of batch) {
        if (!columns) {
          // still looking for the header below a title
          if (++searched > HEADER_SEARCH_ROWS) break
          columns = headerColumns(cells)
          continue
        }
        const code = (cells[columns.code] ?? '').trim().toUpperCase()
        if (code === '') continue
        if (!isPrestazioneCodeFormat(code)) {
          result.rejected.push({row, value: code})
          continue
        }
        const entry: Prestazione = {code, denominazione: columns.name >= 0 ? (cells[columns.name] ?? '').trim() : '', source: origin}
        if (existing.has(code) || prestazioneByCode(code)) result.updated.push(code)
        else result.added.push(code)
        existing.set(code, entry)
      }
      if (!columns && searched > HEADER_SEARCH_ROWS) break
    }
    if (!columns) {
      throw new UsageError('NOMENCLATORE_NO_CODE_COLUMN', {
        it: `Il file ${source} non ha una colonna "codice" (cercata nelle prime ${HEADER_SEARCH_ROWS} righe).`,
        en: `The file ${source} has no "codice" column (looked for in the first ${HEADER_SEARCH_ROWS} rows).`,
      }, {
        suggestions: [{
          it: 'Intestazioni attese: Codice;Denominazione (o "Codice prestazione", "Descrizione"), come nell’export della tabella dal portale INPS',
          en: 'Expected headers: Codice;Denominazione (or "Codice prestazione", "Descrizione"), as in the table export from the INPS portal',
        }],
      })
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

/** Where the code and the name are in a header row, if it has a code column. */
function headerColumns(header: readonly string[]): {code: number; name: number} | undefined {
  const headers = header.map((h) => normalizeHeader(h ?? ''))
  const code = headers.findIndex((h) => CODE_HEADERS.includes(h))
  if (code < 0) return undefined
  return {code, name: headers.findIndex((h) => NAME_HEADERS.includes(h))}
}
