import {closeSync, fchmodSync, openSync, writeSync} from 'node:fs'

import {UsageError} from '../errors/index.js'
import {openSheet} from '../input/index.js'
import {sha256OfFile} from '../input/digest.js'
import type {RowOutcome, Store, Submission} from '../store/sqlite.js'
import {csvCell} from './findings.js'

/**
 * `report --rejected FILE.csv`: the rejected rows back as a spreadsheet the operator can correct
 * and submit again — the original columns and cells, exactly as in the source file, plus INPS's
 * outcome and reason. The source is read again (streamed) and matched to the store's rejected rows
 * by row number; its SHA-256 must be the one submitted, or the rows would not be the same.
 */

export const OUTCOME_COLUMNS = ['esito_inps', 'motivo_inps', 'id_flusso', 'riga_originale'] as const

export async function writeRejectedRows(store: Store, submission: Submission, out: string, opts: {source?: string; sheet?: string}): Promise<{rows: number}> {
  const source = opts.source ?? submission.sourceFile
  if (!source) throw new UsageError('SOURCE_UNKNOWN', {
      it: `L'invio ${submission.id} non ha un file di origine registrato.`,
      en: `The submission ${submission.id} has no recorded source file.`,
    }, {suggestions: [{it: 'Indica il file con --source FILE', en: 'Give the file with --source FILE'}]})
  const sha = await sha256OfFile(source)
  if (submission.sourceSha256 && sha !== submission.sourceSha256) {
    throw new UsageError('SOURCE_CHANGED', {
      it: `Il file ${source} non è più quello inviato con ${submission.id} (il contenuto è cambiato): le righe non corrisponderebbero.`,
      en: `The file ${source} is no longer the one sent with ${submission.id} (its content changed): the rows would not match.`,
    }, {
      suggestions: [{it: 'Indica la copia inviata con --source FILE', en: 'Give the copy that was sent with --source FILE'}],
    })
  }
  const rejected = store.rowOutcomes(submission.id, ['rejected', 'conflict'])[Symbol.iterator]()
  let next: IteratorResult<RowOutcome> = rejected.next()
  const sheet = await openSheet(source, {sheet: opts.sheet, onIssue: () => {}})
  const fd = openSync(out, 'w', 0o600)
  // an existing file keeps its mode when opened: the rows are personal data
  fchmodSync(fd, 0o600)
  let rows = 0
  try {
    writeSync(fd, `\uFEFF${[...sheet.header, ...OUTCOME_COLUMNS].map(csvCell).join(';')}\r\n`)
    for await (const batch of sheet.batches) {
      for (const r of batch) {
        while (!next.done && next.value.row < r.row) next = rejected.next()
        if (next.done) break
        if (next.value.row !== r.row) continue
        const o = next.value
        const cells = [...r.cells, ...new Array<string>(Math.max(0, sheet.header.length - r.cells.length)).fill('')]
        writeSync(fd, `${[...cells, o.esito ?? '', o.esitoDescrizione ?? '', o.idFlusso, String(r.row)].map(csvCell).join(';')}\r\n`)
        rows++
      }
      if (next.done) break
    }
  } finally {
    closeSync(fd)
    await sheet.close()
    rejected.return?.()
  }
  return {rows}
}
