import type {Hook} from '@oclif/core'

import {ExitCode} from '../errors/index.js'
import {say} from '../i18n/messages.js'
import {isInteractive} from './prompts.js'

/**
 * A mistyped command: said in the user's language with the closest command ("did you mean"),
 * exit 1 like every usage error (DESIGN §10). On a terminal the person may run the suggestion
 * at once; a script is never asked.
 */
const hook: Hook.CommandNotFound = async function (opts) {
  const typed = opts.id.replaceAll(':', ' ')
  const visible = opts.config.commands.filter((c) => !c.hidden).map((c) => c.id)
  const suggestion = closest(opts.id, visible)
  const shown = suggestion?.replaceAll(':', ' ')
  const message = say({it: `"${typed}" non è un comando di casellario.`, en: `"${typed}" is not a casellario command.`})
  const suggestions = [
    ...(shown ? [say({it: `Forse intendevi: casellario ${shown}`, en: `Did you mean: casellario ${shown}`})] : []),
    say({it: 'Elenco dei comandi: casellario --help', en: 'List of commands: casellario --help'}),
  ]
  if (opts.argv?.includes('--json')) {
    process.stdout.write(`${JSON.stringify({error: {code: 'COMMAND_NOT_FOUND', message, suggestions}, exitCode: ExitCode.usage})}\n`)
  } else {
    process.stderr.write(`${say({it: 'Errore', en: 'Error'})} [COMMAND_NOT_FOUND]: ${message}\n`)
    for (const s of suggestions) process.stderr.write(`  ${say({it: 'Prova così', en: 'Try this'})}: ${s}\n`)
    if (suggestion && isInteractive()) {
      const {confirm} = await import('@inquirer/prompts')
      const run = await confirm({message: say({it: `Eseguo casellario ${shown}?`, en: `Run casellario ${shown}?`}), default: true}).catch(() => false)
      if (run) return opts.config.runCommand(suggestion, opts.argv ?? [])
    }
  }
  process.exit(ExitCode.usage)
}

export default hook

/** The command nearest to what was typed (edit distance), when it is near enough to be a typo. */
export function closest(typed: string, ids: string[]): string | undefined {
  let best: string | undefined
  let bestDistance = Number.POSITIVE_INFINITY
  for (const id of ids) {
    const d = editDistance(typed, id)
    if (d < bestDistance) [best, bestDistance] = [id, d]
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(typed.length / 3)) ? best : undefined
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({length: b.length + 1}, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const row = [i]
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1))
    previous = row
  }
  return previous[b.length]
}
