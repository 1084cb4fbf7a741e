import {closeSync, fchmodSync, openSync, writeSync} from 'node:fs'
import {basename, extname} from 'node:path'

import {UsageError} from '../errors/index.js'
import {csvCell} from '../report/findings.js'
import type {AuditEvent, Store} from '../store/sqlite.js'

/**
 * `audit` (DESIGN §13): the trail for the ente's DPO, from the append-only event log — who (the
 * operator's codice fiscale), when, which command, which source file (name and SHA-256), which
 * flusso, which transition. Ids, codes and hashes only: the log never holds a beneficiary's data.
 * Streamed to a 0600 file, CSV (as Italian Excel opens it) or JSON by the file's extension.
 */

export interface AuditOptions {
  store: Store
  /** YYYY-MM-DD or an ISO instant */
  since: string
  ente?: string
  out: string
}

const COLUMNS = ['id', 'quando', 'operatore', 'comando', 'ente', 'invio', 'id_flusso', 'transizione', 'file_origine', 'sha256_origine', 'dettaglio'] as const

export function exportAudit(opts: AuditOptions): {out: string; format: 'csv' | 'json'; events: number; since: string} {
  const since = sinceInstant(opts.since)
  const format = extname(opts.out).toLowerCase() === '.json' ? 'json' : extname(opts.out).toLowerCase() === '.csv' ? 'csv' : undefined
  if (!format) throw new UsageError('AUDIT_FORMAT', {it: `Il file ${opts.out} deve finire in .csv o .json.`, en: `The file ${opts.out} must end in .csv or .json.`}, {suggestions: ['casellario audit --since 2026-01-01 --out audit.csv']})
  const fd = openSync(opts.out, 'w', 0o600)
  // an existing file keeps its mode on open: the operators' codici fiscali go into a 0600 file
  fchmodSync(fd, 0o600)
  let events = 0
  try {
    writeSync(fd, format === 'csv' ? `\uFEFF${COLUMNS.join(';')}\r\n` : '{"events":[')
    for (const e of opts.store.auditTrail(since, opts.ente)) {
      const row = auditRow(e)
      if (format === 'csv') writeSync(fd, `${COLUMNS.map((c) => csvCell(row[c] ?? '')).join(';')}\r\n`)
      else writeSync(fd, `${events === 0 ? '' : ','}\n${JSON.stringify(row)}`)
      events++
    }
    if (format === 'json') writeSync(fd, '\n]}\n')
  } finally {
    closeSync(fd)
  }
  return {out: opts.out, format, events, since}
}

function auditRow(e: AuditEvent): Record<(typeof COLUMNS)[number], string | number | null> {
  return {
    id: e.id,
    quando: e.at,
    operatore: e.operatore,
    comando: e.command,
    ente: e.ente,
    invio: e.submission,
    id_flusso: e.idFlusso,
    transizione: e.event,
    // the name only: the folders above it say nothing the DPO needs (and may name a person's home)
    file_origine: e.sourceFile === null ? null : basename(e.sourceFile),
    sha256_origine: e.sourceSha256,
    dettaglio: e.detail,
  }
}

function sinceInstant(since: string): string {
  // ISO only: JavaScript would read an Italian 01/02/2026 (1 February) as 2 January
  const iso = /^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(since.trim())
  const at = new Date(/^\d{4}-\d{2}-\d{2}$/.test(since.trim()) ? `${since.trim()}T00:00:00Z` : since.trim())
  if (!iso || Number.isNaN(at.getTime())) {
    throw new UsageError('AUDIT_SINCE_INVALID', {it: `Data non valida: "${since}" (usa AAAA-MM-GG).`, en: `Invalid date: "${since}" (use YYYY-MM-DD).`}, {suggestions: ['casellario audit --since 2026-01-01 --out audit.csv']})
  }
  return at.toISOString()
}
