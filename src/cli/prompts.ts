import type {Prompter} from '../runtime/prompter.js'

/** Prompts only on a terminal: scripts and cron jobs are never asked anything. */
export function isInteractive(): boolean {
  return Boolean(process.stdin.isTTY && process.stdout.isTTY)
}

/** The real prompts (@inquirer/prompts), loaded only when a person is there to answer. */
export function inquirerPrompter(): Prompter {
  return {
    input: async (q) => (await import('@inquirer/prompts')).input({message: q.message, default: q.default, validate: q.validate}),
    select: async (q) => (await import('@inquirer/prompts')).select({message: q.message, choices: q.choices.map((c) => ({value: c, name: c})), default: q.default}),
  }
}

/** A hidden answer (passphrases). */
export async function askSecret(message: string): Promise<string> {
  return (await import('@inquirer/prompts')).password({message, mask: '*'})
}
