import type {SheetRow} from '../input/types.js'

/**
 * A batch of spreadsheet rows as a worker thread is sent it: the cells' texts as one string, cut
 * by their lengths. Structured cloning a hundred thousand small strings one by one costs more
 * than the validation it hands off; one string and three number arrays are copied at memory speed.
 * Lengths, not separators, so that any cell text travels unchanged.
 */
export interface PackedRows {
  /** each row's number, as the spreadsheet shows it */
  rows: Int32Array
  /** each row's cell count */
  widths: Int32Array
  /** each cell's length in UTF-16 units, row after row */
  lengths: Int32Array
  text: string
}

export function packRows(batch: readonly SheetRow[]): PackedRows {
  let cells = 0
  for (const r of batch) cells += r.cells.length
  const rows = new Int32Array(batch.length)
  const widths = new Int32Array(batch.length)
  const lengths = new Int32Array(cells)
  const texts = new Array<string>(cells)
  let c = 0
  for (let i = 0; i < batch.length; i++) {
    const {row, cells: values} = batch[i]
    rows[i] = row
    widths[i] = values.length
    for (const value of values) {
      lengths[c] = value.length
      texts[c++] = value
    }
  }
  return {rows, widths, lengths, text: texts.join('')}
}

export function unpackRows({rows, widths, lengths, text}: PackedRows): SheetRow[] {
  const batch = new Array<SheetRow>(rows.length)
  let c = 0
  let at = 0
  for (let i = 0; i < rows.length; i++) {
    const cells = new Array<string>(widths[i])
    for (let j = 0; j < cells.length; j++) {
      const end = at + lengths[c++]
      cells[j] = text.slice(at, end)
      at = end
    }
    batch[i] = {row: rows[i], cells}
  }
  return batch
}

/** The arrays to transfer rather than copy. */
export function packedBuffers(p: PackedRows): ArrayBuffer[] {
  return [p.rows.buffer as ArrayBuffer, p.widths.buffer as ArrayBuffer, p.lengths.buffer as ArrayBuffer]
}
