/**
 * The engine's one notion of "now" for what the data means: which dates are in the future,
 * which years are plausible, the day in a flusso's name, the timestamps the store records.
 *
 * `CASELLARIO_NOW` (an ISO instant, e.g. `2027-01-01T00:00:00+01:00`) sets that clock for tests
 * and reproducible runs: the process starts at that instant and its clock runs on from there,
 * so timestamps still increase. It is not a setting for production use.
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

class OffsetClock implements Clock {
  constructor(private readonly offsetMs: number) {}
  now(): Date {
    return new Date(Date.now() + this.offsetMs)
  }
}

/** A clock pinned at `start` when it is created, running on from there. */
export function clockFrom(start: Date): Clock {
  return new OffsetClock(start.getTime() - Date.now())
}

export const systemClock: Clock = new OffsetClock(0)

/** The clock of this process: the system's, or the one `CASELLARIO_NOW` sets. */
export function processClock(env: NodeJS.ProcessEnv = process.env): Clock {
  const pinned = env[NOW_ENV]
  if (!pinned) return systemClock
  const start = new Date(pinned)
  if (Number.isNaN(start.getTime())) {
    throw new UsageError('CLOCK_INVALID', `${NOW_ENV} non è una data e ora ISO (${pinned}). / ${NOW_ENV} is not an ISO date-time (${pinned}).`, {
      suggestions: [`unset ${NOW_ENV}`, `${NOW_ENV}=2027-01-01T00:00:00+01:00`],
    })
  }
  return clockFrom(start)
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
