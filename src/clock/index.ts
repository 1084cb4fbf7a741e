/**
 * The engine's one notion of "now" for what the data means: which dates are in the future,
 * which years are plausible, the day in a flusso's name, the timestamps the store records.
 *
 * `CASELLARIO_NOW` (an ISO instant, e.g. `2027-01-01T00:00:00+01:00`) sets that clock for tests
 * and reproducible runs: the clock showed that instant at `CASELLARIO_NOW_AT` (milliseconds since
 * the epoch on the real clock; by default when the process started) and runs on from there, so
 * timestamps keep increasing across the processes that share both variables. It is not a setting
 * for production use.
 *
 * Protocol timing stays on the wall clock on purpose: token and signature lifetimes (`iat`,
 * `exp`), certificate validity, retry delays and caches are checked by the other side with its
 * real clock, so shifting them would only make the other side refuse us.
 */
import {UsageError} from '../errors/index.js'

export interface Clock {
  now(): Date
}

/** The calendar as the ente sees it (Europe/Rome): month is 0-based, like Date's. */
export interface CalendarDay {
  year: number
  month: number
  day: number
}

export const NOW_ENV = 'CASELLARIO_NOW'
export const NOW_AT_ENV = 'CASELLARIO_NOW_AT'

class OffsetClock implements Clock {
  constructor(private readonly offsetMs: number) {}
  now(): Date {
    return new Date(Date.now() + this.offsetMs)
  }
}

/** A clock that showed `start` at the real instant `at` (now, by default), running on from there. */
export function clockFrom(start: Date, at = Date.now()): Clock {
  return new OffsetClock(start.getTime() - at)
}

export const systemClock: Clock = new OffsetClock(0)

/** The clock of this process: the system's, or the one `CASELLARIO_NOW` sets. */
export function processClock(env: NodeJS.ProcessEnv = process.env): Clock {
  const pinned = env[NOW_ENV]
  if (!pinned) return systemClock
  const start = new Date(pinned)
  if (Number.isNaN(start.getTime())) {
    throw new UsageError('CLOCK_INVALID', {it: `${NOW_ENV} non è una data e ora ISO (${pinned}).`, en: `${NOW_ENV} is not an ISO date-time (${pinned}).`}, {
      suggestions: [`unset ${NOW_ENV}`, `${NOW_ENV}=2027-01-01T00:00:00+01:00`],
    })
  }
  const at = env[NOW_AT_ENV] ? Number(env[NOW_AT_ENV]) : undefined
  if (at !== undefined && !Number.isFinite(at)) {
    throw new UsageError('CLOCK_INVALID', {
      it: `${NOW_AT_ENV} non è un numero di millisecondi (${env[NOW_AT_ENV]}).`,
      en: `${NOW_AT_ENV} is not a number of milliseconds (${env[NOW_AT_ENV]}).`,
    })
  }
  return clockFrom(start, at)
}

let engine: Clock | undefined

/** Now, by the engine's clock (see above). */
export function engineNow(): Date {
  return (engine ??= processClock()).now()
}

/** Tests inside one process may set the clock; undefined goes back to the process clock. */
export function setEngineClock(clock: Clock | undefined): void {
  engine = clock
}

const ROME = new Intl.DateTimeFormat('en-CA', {timeZone: 'Europe/Rome', year: 'numeric', month: '2-digit', day: '2-digit'})

/** The date in Rome at `at` (a flusso's day, "this year" for plausibility checks). */
export function romeCalendar(at: Date = engineNow()): CalendarDay {
  const [year, month, day] = ROME.format(at).split('-').map(Number)
  return {year, month: month - 1, day}
}

/** `YYYYMMDD` in Rome, as in `IdentificazioneFlusso/@Nome`. */
export function romeDay(at: Date = engineNow()): string {
  return ROME.format(at).replaceAll('-', '')
}
