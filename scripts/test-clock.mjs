#!/usr/bin/env node
// The suite again with the engine clock moved (CASELLARIO_NOW), so that a test depending on the
// real date fails today rather than on 1 January: the first minutes of next year (the rollover
// that breaks fixed years) and the last day of the year after next. Computed from today, so the
// dates stay ahead of the calendar.
import {spawnSync} from 'node:child_process'

const year = Number(new Intl.DateTimeFormat('en-CA', {timeZone: 'Europe/Rome', year: 'numeric'}).format(new Date()))
const clocks = process.argv.length > 2 ? process.argv.slice(2) : [`${year + 1}-01-01T00:05:00+01:00`, `${year + 2}-12-31T10:00:00+01:00`]

for (const now of clocks) {
  console.log(`\n# mocha with CASELLARIO_NOW=${now}`)
  // one shifted clock for the test process and every CLI process it starts: the same instant, anchored now
  const run = spawnSync('npx', ['mocha'], {stdio: 'inherit', env: {...process.env, CASELLARIO_NOW: now, CASELLARIO_NOW_AT: String(Date.now())}})
  if (run.status !== 0) {
    console.error(`# failed with CASELLARIO_NOW=${now}`)
    process.exit(run.status ?? 1)
  }
}
