import {lang, say} from '../i18n/messages.js'

/**
 * What a person at a terminal sees beyond plain text: a progress line (only on a TTY, on stderr).
 * A report's colours and columns are report/terminal.ts.
 */

export interface ProgressLine {
  update: (text: string) => void
  done: () => void
}

export function progressLine(enabled: boolean, stream: NodeJS.WriteStream = process.stderr): ProgressLine {
  if (!enabled || !stream.isTTY) return {update: () => {}, done: () => {}}
  let shown = false
  return {
    update: (text) => {
      stream.write(`\r\u001B[K${text}`)
      shown = true
    },
    done: () => {
      if (shown) stream.write('\r\u001B[K')
      shown = false
    },
  }
}

/**
 * Reading progress as a person wants it on a long file: rows, rows per second, and — when the
 * size is known — the percentage by bytes read and the time left. At most four updates a second.
 */
export function readingProgress(line: ProgressLine, now: () => number = Date.now): (p: {rows: number; bytes?: number; totalBytes?: number}) => void {
  const started = now()
  let shown = 0
  return (p) => {
    const at = now()
    if (at - shown < 250) return
    shown = at
    const seconds = Math.max((at - started) / 1000, 0.001)
    const rate = Math.round(p.rows / seconds)
    const parts = [say({it: `${count(p.rows)} righe lette`, en: `${count(p.rows)} rows read`}), say({it: `${count(rate)} righe/s`, en: `${count(rate)} rows/s`})]
    if (p.bytes && p.totalBytes) {
      const share = Math.min(1, p.bytes / p.totalBytes)
      parts.push(`${Math.floor(share * 100)}%`)
      if (share > 0.02 && share < 1) parts.push(say({it: `ancora circa ${duration((seconds * (1 - share)) / share)}`, en: `about ${duration((seconds * (1 - share)) / share)} left`}))
    }
    line.update(parts.join(' · '))
  }
}

function count(n: number): string {
  return n.toLocaleString(lang() === 'en' ? 'en-GB' : 'it-IT')
}

function duration(seconds: number): string {
  if (seconds < 60) return `${Math.ceil(seconds)} s`
  const m = Math.floor(seconds / 60)
  return `${m} min ${Math.round(seconds - m * 60)} s`
}

/** "30s", "5m", "2h", "90" (seconds) → milliseconds. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/.exec(text.trim())
  if (!m) return undefined
  const unit = {ms: 1, s: 1000, m: 60_000, h: 3_600_000}[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h']
  return Math.round(Number(m[1]) * unit)
}
