import {closeSync, openSync, readSync} from 'node:fs'

import type {EnteIdentity} from '../flows/ente.js'
import {ByteSink} from './files.js'
import type {SpoolLine} from './lines.js'

const TAB = 9
const NL = 10

/**
 * A run's rendered records in file order, in the private folder: what a submission queues in one
 * transaction once reading is over, and what delta detection reads twice. Written and read
 * sequentially, never re-ordered. Lines are `group TAB row TAB ente TAB header TAB record LF`:
 * rendered XML never contains a raw tab or newline (the writer escapes them), so the framing is
 * unambiguous, and the records are copied out without decoding them again. `ente` is 0 for the
 * run's ente, n for the n-th ente named by the rows.
 */
export class Spool {
  private readonly sink: ByteSink
  private readonly enti: EnteIdentity[] = []
  private readonly enteIndex = new Map<string, number>()
  private readonly number = Buffer.allocUnsafe(64)

  constructor(readonly path: string) {
    this.sink = new ByteSink(path)
  }

  add(group: number, row: number, ente: EnteIdentity | undefined, src: Buffer, headerStart: number, headerEnd: number, recordStart: number, recordEnd: number): void {
    let e = 0
    if (ente) {
      e = this.enteIndex.get(ente.codice) ?? 0
      if (e === 0) {
        this.enti.push(ente)
        this.enteIndex.set(ente.codice, (e = this.enti.length))
      }
    }
    const n = this.number.write(`${group}\t${row}\t${e}\t`, 'latin1')
    this.sink.writeRange(this.number, 0, n)
    this.sink.writeRange(src, headerStart, headerEnd)
    this.sink.writeRange(TAB_BYTES, 0, 1)
    this.sink.writeRange(src, recordStart, recordEnd)
    this.sink.writeRange(NL_BYTES, 0, 1)
  }

  close(): void {
    this.sink.close()
  }

  /**
   * The lines back, in the order written: views into one buffer, overwritten when the next lines
   * are read — a consumer copies what it keeps before asking for the next line. (A new buffer per
   * read would be a gigabyte of garbage over a million rows, freed only as V8 gets round to it.)
   */
  *lines(): Generator<SpoolLine> {
    const fd = openSync(this.path, 'r')
    try {
      let buf = Buffer.allocUnsafe(4 << 20)
      let filled = 0
      for (;;) {
        const n = readSync(fd, buf, filled, buf.length - filled, null)
        filled += n
        let start = 0
        for (let nl = buf.indexOf(NL, start); nl >= 0 && nl < filled; nl = buf.indexOf(NL, start)) {
          const g = buf.indexOf(TAB, start)
          const r = buf.indexOf(TAB, g + 1)
          const a = buf.indexOf(TAB, r + 1)
          const b = buf.indexOf(TAB, a + 1)
          let group = 0
          let negative = false
          for (let i = start; i < g; i++) {
            if (buf[i] === 45) negative = true
            else group = group * 10 + buf[i] - 48
          }
          let row = 0
          for (let i = g + 1; i < r; i++) row = row * 10 + buf[i] - 48
          let e = 0
          for (let i = r + 1; i < a; i++) e = e * 10 + buf[i] - 48
          yield {group: negative ? -group : group, row, header: buf.subarray(a + 1, b), record: buf.subarray(b + 1, nl), ...(e > 0 ? {ente: this.enti[e - 1]} : {})}
          start = nl + 1
        }
        if (n === 0) return
        // the incomplete line moves to the start (a bigger buffer only for a line that fills this one)
        const rest = filled - start
        if (start === 0 && rest === buf.length) {
          const bigger = Buffer.allocUnsafe(buf.length * 2)
          buf.copy(bigger, 0, 0, filled)
          buf = bigger
        } else buf.copy(buf, 0, start, filled)
        filled = rest
      }
    } finally {
      closeSync(fd)
    }
  }
}

const TAB_BYTES = Buffer.from('\t')
const NL_BYTES = Buffer.from('\n')
