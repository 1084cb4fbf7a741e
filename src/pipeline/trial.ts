import type {FlowSpec} from '../flows/model.js'
import {openSheet} from '../input/index.js'
import type {Template} from '../mapping/index.js'
import {validateFile} from './read.js'

/** The first `count` data rows of a spreadsheet (cells by header position), for the mapping wizard. */
export async function firstRows(source: string, sheet: string | undefined, count: number): Promise<string[][]> {
  if (source === '-') return []
  const opened = await openSheet(source, {sheet, onIssue: () => {}})
  const rows: string[][] = []
  try {
    for await (const batch of opened.batches) {
      for (const r of batch) {
        rows.push([...r.cells])
        if (rows.length >= count) return rows
      }
    }
    return rows
  } finally {
    await opened.close()
  }
}

/** How the first `count` rows fare with a candidate template: rows, valid rows, errors by code. */
export async function trialValidation(source: string, opts: {flow: FlowSpec; template: Template; sheet?: string}, count: number): Promise<{rows: number; valid: number; errors: Record<string, number>}> {
  const errors: Record<string, number> = {}
  const failed = new Set<number>()
  // a row split per year comes back once per part: count rows, not records
  const valid = new Set<number>()
  try {
    await validateFile(source, {
      flow: opts.flow,
      template: opts.template,
      sheet: opts.sheet,
      onFinding: (f) => {
        // rows come in order: past the trial, stop reading (even when no row is valid to stop on)
        if (f.row > count + 1) throw new TrialOver()
        if (f.severity !== 'error' || f.row === 0) return
        errors[f.code] = (errors[f.code] ?? 0) + 1
        failed.add(f.row)
      },
      onRecord: (r) => {
        if (r.row > count + 1) return false
        valid.add(r.row)
      },
    })
  } catch (error) {
    if (!(error instanceof TrialOver)) throw error
  }
  return {rows: valid.size + failed.size, valid: valid.size, errors}
}

/** Thrown from a finding past the trial's rows: reading stops there (the run closes its reader). */
class TrialOver extends Error {}
