import {SaxesParser} from 'saxes'

import {elementsOf, type ElementSpec, type FieldSpec, type FlowSpec} from '../flows/model.js'
import {NAMESPACE} from './writer.js'

/**
 * Reads a flusso back into the record model: the values of each record in canonical column
 * order, the way `validateRecord` expects them. The sandbox checks what it receives with it, and
 * cancellations find the version INPS holds. Anything the model does not describe is a problem.
 */

export interface ReadFlusso {
  nome?: string
  ente: Record<string, string>
  /** Beneficiario (or SINBA) elements */
  groups: number
  /** one value array per record (PrestazioniSociali; for SINBA, per minor) */
  records: string[][]
  /** structural problems, in Italian, first ones only */
  problems: string[]
}

const MAX_PROBLEMS = 20

export function readFlusso(xml: Buffer | string, flow: FlowSpec): ReadFlusso {
  const elements = new Map<string, ElementSpec>()
  for (const e of [...elementsOf(flow.group), ...(flow.record ? elementsOf(flow.record) : [])]) elements.set(e.name, e)
  const lists = new Map<string, FieldSpec>()
  for (const e of elements.values()) for (const f of e.lists) lists.set(f.list!.wrapper, f)

  const result: ReadFlusso = {ente: {}, groups: 0, records: [], problems: []}
  const problem = (text: string): void => {
    if (result.problems.length < MAX_PROBLEMS) result.problems.push(text)
  }
  let groupValues: string[] | undefined
  let recordValues: string[] | undefined
  let list: FieldSpec | undefined
  let text = ''
  const parser = new SaxesParser({xmlns: true})
  parser.on('opentag', (tag) => {
    text = ''
    const attributes = Object.values(tag.attributes) as Array<{local: string; prefix: string; value: string}>
    if (tag.uri !== NAMESPACE) problem(`elemento ${tag.local} fuori dal namespace ${NAMESPACE}`)
    switch (tag.local) {
      case 'Flusso':
        return
      case 'IdentificazioneFlusso':
        result.nome = attributes.find((a) => a.local === 'Nome')?.value
        return
      case 'Ente':
        for (const a of attributes) result.ente[a.local] = a.value
        return
    }
    if (tag.local === flow.group.name) {
      result.groups++
      groupValues = new Array<string>(flow.fields.length).fill('')
    } else if (flow.record && tag.local === flow.record.name) {
      if (!groupValues) return problem(`${tag.local} fuori da ${flow.group.name}`)
      recordValues = [...groupValues]
    }
    if (lists.has(tag.local)) {
      list = lists.get(tag.local)
      return
    }
    if (list && tag.local === list.xml) return
    const spec = elements.get(tag.local)
    const target = recordValues ?? groupValues
    if (!spec || !target) return problem(`elemento inatteso ${tag.local}`)
    for (const a of attributes) {
      if (a.prefix === 'xmlns' || a.local === 'xmlns') continue
      const field = spec.attributes.find((f) => f.xml === a.local)
      if (!field) problem(`attributo inatteso ${tag.local}/@${a.local}`)
      else target[field.index] = a.value
    }
  })
  parser.on('text', (t) => (text += t))
  parser.on('closetag', (tag) => {
    const target = recordValues ?? groupValues
    if (list && tag.local === list.xml && target) {
      const value = text.trim()
      target[list.index] = target[list.index] ? `${target[list.index]}|${value}` : value
    } else if (list && tag.local === list.list!.wrapper) {
      list = undefined
    } else if (flow.record && tag.local === flow.record.name && recordValues) {
      result.records.push(recordValues)
      recordValues = undefined
    } else if (tag.local === flow.group.name) {
      if (!flow.record && groupValues) result.records.push(groupValues)
      groupValues = undefined
    }
  })
  try {
    parser.write(typeof xml === 'string' ? xml : xml.toString('utf8')).close()
  } catch (error) {
    problem(`XML non ben formato: ${(error as Error).message.split('\n')[0]}`)
  }
  return result
}
