import {existsSync, mkdirSync, readFileSync, renameSync, writeFileSync} from 'node:fs'
import {basename, dirname, join} from 'node:path'

import {engineNow} from '../clock/index.js'
import {UsageError} from '../errors/index.js'
import {say} from '../i18n/messages.js'
import {openSheet} from '../input/index.js'
import {normalizeHeader} from '../input/header.js'
import type {ComuneRow} from './format.js'
import {mergeComuni} from './index.js'

/**
 * The user's refresh of the comuni table (`casellario tables update --comuni FILE`), from the files
 * ISTAT and ANPR publish: ISTAT's "Elenco comuni italiani" (current comuni, `;`, Windows-1252) or
 * ANPR's "archivio comuni" (every comune with its validity dates). Kept as JSON in the user data
 * dir and merged over the shipped table wherever validation runs, so comuni created after this
 * release are known without waiting for a new version.
 */

export function userComuniPath(dataDir: string): string {
  return join(dataDir, 'comuni.json')
}

interface UserComuniFile {
  source: string
  imported: string
  rows: ComuneRow[]
}

export function applyUserComuni(path: string): void {
  if (!existsSync(path)) return
  try {
    const file = JSON.parse(readFileSync(path, 'utf8')) as UserComuniFile
    mergeComuni(file.rows)
  } catch (error) {
    throw new UsageError('COMUNI_FILE_INVALID', {
      it: `La tabella dei comuni locale ${path} è illeggibile: ${(error as Error).message}`,
      en: `The local comuni table ${path} cannot be read: ${(error as Error).message}`,
    }, {
      suggestions: [{it: 'Rigenerala con: casellario tables update --comuni FILE', en: 'Build it again with: casellario tables update --comuni FILE'}],
    })
  }
}

/** Column names of both publications, normalised (lower case, no spaces or underscores). */
const COLUMNS = {
  istat: ['codicecomuneformatoalfanumerico', 'codistat', 'codiceistat', 'codicecomune'],
  belfiore: ['codicecatastaledelcomune', 'codcatastale', 'codicecatastale', 'codicebelfiore'],
  name: ['denominazioneinitaliano', 'denominazioneit', 'denominazione(italianaestraniera)', 'denominazione'],
  province: ['siglaautomobilistica', 'siglaprovincia'],
  region: ['codiceregione', 'idregione'],
  from: ['dataistituzione'],
  to: ['datacessazione'],
}

export interface ComuniImport {
  file: string
  source: string
  rows: number
  /** pairs (ISTAT, Belfiore) the shipped table did not have */
  added: number
  rejected: {row: number; reason: string}[]
}

export async function importComuni(source: string, path: string): Promise<ComuniImport> {
  const sheet = await openSheet(source, {onIssue: () => {}})
  try {
    const headers = sheet.header.map((h) => normalizeHeader(h ?? ''))
    const at = Object.fromEntries(Object.entries(COLUMNS).map(([k, names]) => [k, headers.findIndex((h) => names.includes(h))])) as Record<keyof typeof COLUMNS, number>
    const missing = (['istat', 'belfiore', 'name', 'region'] as const).filter((k) => at[k] < 0)
    if (missing.length > 0) {
      throw new UsageError('COMUNI_COLUMNS_MISSING', {
        it: `Il file ${source} non sembra l'elenco dei comuni di ISTAT né l'archivio di ANPR: mancano le colonne ${missing.join(', ')}.`,
        en: `The file ${source} does not look like ISTAT's list of comuni nor ANPR's archive: the columns ${missing.join(', ')} are missing.`,
      }, {
        suggestions: [{
          it: 'Scarica "Elenco-comuni-italiani.csv" da istat.it o "ANPR_archivio_comuni.csv" da github.com/italia/anpr',
          en: 'Download "Elenco-comuni-italiani.csv" from istat.it or "ANPR_archivio_comuni.csv" from github.com/italia/anpr',
        }],
      })
    }
    const rows: ComuneRow[] = []
    const rejected: ComuniImport['rejected'] = []
    const cell = (cells: string[], k: keyof typeof COLUMNS): string => (at[k] >= 0 ? (cells[at[k]] ?? '').trim() : '')
    for await (const batch of sheet.batches) {
      for (const {row, cells} of batch) {
        const istat = cell(cells, 'istat').padStart(6, '0')
        const belfiore = cell(cells, 'belfiore').toUpperCase()
        const region = cell(cells, 'region').padStart(2, '0')
        if (!/^\d{6}$/.test(istat) || !/^[A-Z]\d{3}$/.test(belfiore) || !/^\d{2}$/.test(region)) {
          if (cells.some((c) => c.trim() !== '')) rejected.push({row, reason: say({it: 'codice ISTAT, codice catastale o regione non validi', en: 'invalid ISTAT code, cadastral code or region'})})
          continue
        }
        const to = cell(cells, 'to')
        rows.push([istat, belfiore, cell(cells, 'name'), cell(cells, 'province').toUpperCase(), region, dateOf(cell(cells, 'from')), to.startsWith('9999') ? '' : dateOf(to)])
      }
    }
    if (rows.length === 0) throw new UsageError('COMUNI_EMPTY', {it: `Il file ${source} non contiene comuni leggibili.`, en: `The file ${source} holds no readable comuni.`})
    const added = mergeComuni(rows)
    const file: UserComuniFile = {source: basename(source), imported: engineNow().toISOString().slice(0, 10), rows}
    mkdirSync(dirname(path), {recursive: true, mode: 0o700})
    writeFileSync(`${path}.tmp`, `${JSON.stringify(file)}\n`, {mode: 0o600})
    renameSync(`${path}.tmp`, path)
    return {file: path, source: file.source, rows: rows.length, added, rejected: rejected.slice(0, 100)}
  } finally {
    await sheet.close()
  }
}

/** YYYY-MM-DD from YYYY-MM-DD or DD/MM/YYYY ('' when absent or unreadable). */
function dateOf(v: string): string {
  if (/^\d{4}-\d{2}-\d{2}$/.test(v)) return v
  const m = /^(\d{2})\/(\d{2})\/(\d{4})$/.exec(v)
  return m ? `${m[3]}-${m[2]}-${m[1]}` : ''
}
