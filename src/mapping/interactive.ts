import {existsSync, writeFileSync} from 'node:fs'
import {dirname, resolve} from 'node:path'

import {stringify} from 'yaml'

import type {FlowSpec} from '../flows/model.js'
import type {Prompter} from '../setup/init.js'
import type {Mapping, Template} from './index.js'

/**
 * DESIGN §4.3: when a person runs validate or build on a file whose headers are not the canonical
 * ones, and gave no template, ask them which of their columns holds each missing field, and
 * offer to save the answers as a template for the next export.
 */
const NONE = '(nessuna: il campo resta vuoto)'

export async function askHeaderMapping(prompter: Prompter, context: {flow: FlowSpec; header: string[]; mapping: Mapping}): Promise<Template | undefined> {
  const {flow, header, mapping} = context
  const missing = new Set(mapping.problems.filter((p) => p.code === 'HEADER_MISSING_COLUMN').map((p) => p.field))
  if (missing.size === 0) return undefined
  const used = new Set(mapping.sourceColumn.filter((c) => c !== ''))
  const free = header.filter((h) => h.trim() !== '' && !used.has(h))
  const columns: Record<string, string> = {}
  for (const f of flow.fields) {
    if (mapping.sourceColumn[f.index]) columns[f.column] = mapping.sourceColumn[f.index]
  }
  // only the missing required fields are asked: the others stay as the canonical matching found them
  for (const f of flow.fields.filter((field) => missing.has(field.column))) {
    const answer = await prompter.select({message: `Quale colonna del file contiene ${f.column} (${f.label})?`, choices: [...free, NONE]})
    if (answer === NONE) continue
    columns[f.column] = answer
    free.splice(free.indexOf(answer), 1)
  }
  const template: Template = {name: 'interattivo', flow: flow.id, description: 'Mappatura scelta in modo interattivo', columns}
  const path = await prompter.input({
    message: 'Salvare questa mappatura come modello? Percorso del file YAML (vuoto per non salvarla)',
    validate: (value) => {
      const p = value.trim()
      if (p === '') return true
      if (existsSync(p)) return 'il file esiste già: scegli un altro nome'
      return existsSync(dirname(resolve(p))) ? true : 'la cartella non esiste'
    },
  })
  if (path.trim() !== '') writeFileSync(path.trim(), stringify({flow: flow.id, description: template.description, columns}), {mode: 0o600, flag: 'wx'})
  return template
}
