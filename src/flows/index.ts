import {UsageError} from '../errors/index.js'
import type {FlowSpec} from './model.js'
import {PS} from './ps.js'
import {SINBA} from './sinba.js'

export const FLOWS: Record<string, FlowSpec> = {ps: PS, sinba: SINBA}

export function flowById(id: string): FlowSpec {
  const flow = FLOWS[id]
  if (!flow) throw new UsageError('FLOW_NOT_AVAILABLE', {it: `Il tracciato "${id}" non è ancora disponibile in questa versione.`, en: `The "${id}" record layout is not available in this version yet.`}, {
      suggestions: [{it: 'Usa --flow ps', en: 'Use --flow ps'}],
    })
  return flow
}
