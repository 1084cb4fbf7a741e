/**
 * How the engine asks a person a question (init, the interactive mapping). The engine is handed
 * one; the real prompts live with the CLI (cli/prompts.ts), tests answer with a script.
 */
export interface Prompter {
  input: (q: {message: string; default?: string; validate: (value: string) => true | string}) => Promise<string>
  select: (q: {message: string; choices: readonly string[]; default?: string}) => Promise<string>
}
