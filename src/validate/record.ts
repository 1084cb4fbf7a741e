import type {ElementSpec, FieldSpec, FlowSpec, RuleContext, Severity} from '../flows/model.js'
import {comuneByBelfiore} from '../tables/index.js'
import {compileValueCheck, type ValueCheck} from './fields.js'

/** One problem in one record, before it is placed at a spreadsheet row and column. */
export interface RecordProblem {
  field: FieldSpec
  code: string
  severity: Severity
  params?: Record<string, string | number>
}

interface FieldPlan {
  field: FieldSpec
  check: ValueCheck
  /** fields of an optional element (SINA) are required only when that element is written */
  requiredWhen: 'always' | 'element-present' | 'never'
  /** index into `optionalElements` when the field belongs to one */
  element: number
}

/**
 * Validates one record (values in canonical order, '' = absent): schema rules from the model,
 * then the flow's semantic rules on the values that passed them. A rule never reports a field
 * that already has a schema problem, so each mistake is reported once, where it is.
 */
export function compileRecordValidator(flow: FlowSpec, ctx: RuleContext): (values: string[]) => RecordProblem[] {
  /** per optional element, the indexes of its fields */
  const optionalElements: number[][] = []
  const plans: FieldPlan[] = []
  const visit = (e: ElementSpec, inOptional: number): void => {
    let element = inOptional
    if (e.optional) {
      element = optionalElements.length
      optionalElements.push([...e.attributes, ...e.lists, ...e.children.flatMap(allFields)].map((f) => f.index))
    }
    for (const f of [...e.attributes, ...e.lists]) {
      plans.push({
        field: f,
        check: compileValueCheck(f, ctx.currentYear),
        requiredWhen: !f.required ? 'never' : element >= 0 ? 'element-present' : 'always',
        element,
      })
    }
    for (const child of e.children) visit(child, element)
  }
  visit(flow.group, -1)
  if (flow.record) visit(flow.record, -1)
  plans.sort((a, b) => a.field.index - b.field.index)
  const fieldByName = new Map(flow.fields.map((f) => [f.column, f]))
  const checkEnte = compileRowEnteCheck(flow, ctx)

  const present: boolean[] = []
  return (values) => {
    // most rows are clean: allocate the list only when there is something to say
    let problems: RecordProblem[] | undefined
    for (let e = 0; e < optionalElements.length; e++) present[e] = hasAnyValue(values, optionalElements[e])
    let bad: Set<number> | undefined
    for (const plan of plans) {
      const v = values[plan.field.index]
      if (v === '') {
        if (plan.requiredWhen === 'always' || (plan.requiredWhen === 'element-present' && present[plan.element])) {
          (problems ??= []).push({field: plan.field, code: 'REQUIRED', severity: 'error'})
          ;(bad ??= new Set()).add(plan.field.index)
        }
        continue
      }
      const problem = plan.field.list ? checkList(plan.check, v) : plan.check(v)
      if (problem) {
        (problems ??= []).push({field: plan.field, code: problem.code, severity: 'error', params: problem.params})
        ;(bad ??= new Set()).add(plan.field.index)
      }
    }
    const ente = flow.ente
    if (values[ente.codice.index] !== '' || values[ente.belfiore.index] !== '' || values[ente.denominazione.index] !== '') {
      for (const p of checkEnte(values)) {
        (problems ??= []).push(p)
        ;(bad ??= new Set()).add(p.field.index)
      }
    }
    // rules see invalid values as absent, and never report a field twice
    const ruleValues = bad ? values.map((v, i) => (bad!.has(i) ? '' : v)) : values
    for (const rule of flow.rules) {
      const found = rule.check(ruleValues, ctx, bad)
      if (!found) continue
      for (const f of Array.isArray(found) ? found : [found]) {
        const field = fieldByName.get(f.field)!
        if (bad?.has(field.index)) continue
        (problems ??= []).push({field, code: f.code, severity: rule.severity, params: f.params})
      }
    }
    return problems ?? NO_PROBLEMS
  }
}

const NO_PROBLEMS: RecordProblem[] = []

/**
 * The row's ente (Ente_Codice, Ente_Belfiore, Ente_Denominazione), when the row names one: code
 * and Belfiore together, the code letters and digits (already upper case), the Belfiore an
 * existing Italian comune (the seat of the ente). Each problem is an error: the row's flusso
 * would go out under the wrong ente.
 */
function compileRowEnteCheck(flow: FlowSpec, ctx: RuleContext): (values: readonly string[]) => RecordProblem[] {
  const {codice, belfiore, denominazione} = flow.ente
  const checks = [codice, belfiore, denominazione].map((field) => ({field, check: compileValueCheck(field, ctx.currentYear)}))
  return (values) => {
    const problems: RecordProblem[] = []
    for (const {field, check} of checks) {
      const v = values[field.index]
      if (v === '') {
        if (field !== denominazione) problems.push({field, code: 'ENTE_ROW_INCOMPLETE', severity: 'error'})
        continue
      }
      const problem = check(v)
      if (problem) problems.push({field, code: problem.code, severity: 'error', params: problem.params})
      else if (field === codice && !/^[A-Z0-9]{1,20}$/.test(v)) problems.push({field, code: 'ENTE_CODE_INVALID', severity: 'error', params: {valore: v}})
      else if (field === belfiore && !comuneByBelfiore(v)) problems.push({field, code: 'ENTE_BELFIORE_UNKNOWN', severity: 'error', params: {valore: v}})
    }
    return problems
  }
}

function hasAnyValue(values: readonly string[], indexes: readonly number[]): boolean {
  for (let i = 0; i < indexes.length; i++) if (values[indexes[i]] !== '') return true
  return false
}

/** A `|`-separated list: the first item with a problem speaks for the cell. */
function checkList(check: (v: string) => ReturnType<ValueCheck>, cell: string): ReturnType<ValueCheck> {
  for (const item of cell.split('|')) {
    const v = item.trim()
    if (v === '') continue
    const problem = check(v)
    if (problem) return problem
  }
  return undefined
}

function allFields(e: ElementSpec): FieldSpec[] {
  return [...e.attributes, ...e.lists, ...e.children.flatMap(allFields)]
}
