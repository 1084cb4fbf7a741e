import type {FieldSpec, FlowSpec} from '../flows/model.js'
import type {RowFinding} from './finding.js'
import {GroupTable, variantOf} from './group-table.js'

/**
 * The checks across rows (DESIGN §4.2), exact for the whole file in bounded memory: the rows of
 * one beneficiary carry the same personal data as its first row (a difference is an error at the
 * later row), at most the XSD's number of addresses, and — for flows whose rows are whole
 * beneficiaries (SINBA) — a key only once. Rows come in file order, as signatures (GroupTable).
 */
export class BeneficiaryCheck {
  private readonly groups: GroupTable
  /** the distinct variants (addresses) of the groups that have more than one; bounded by the XSD's maximum each */
  private readonly variants = new Map<number, number[]>()
  private readonly groupFields: FieldSpec[]

  /** after judge(): the beneficiary, named by its first row */
  group = 0
  /** after judge(): the row is the beneficiary's first */
  isNew = false
  /** after judge(): the row's variant (address) differs from the beneficiary's first row's */
  otherVariant = false

  constructor(private readonly flow: FlowSpec) {
    const variant = flow.groupVariant?.fields ?? []
    this.groupFields = flow.record ? flow.groupFields.filter((f) => f !== flow.groupKey && !variant.includes(f)) : []
    this.groups = new GroupTable(this.groupFields.length, flow.groupVariant !== undefined)
  }

  /** beneficiaries (distinct keys) among the rows accepted so far */
  get size(): number {
    return this.groups.size
  }

  /**
   * Judges a row without errors of its own (its signature at `at`); returns the findings that
   * refuse it (row numbers as given), or undefined when it is accepted.
   */
  judge(signatures: Uint32Array, at: number, row: number): RowFinding[] | undefined {
    const groups = this.groups
    const group = groups.lookup(signatures, at, this.groupFields.length, row)
    if (!this.flow.record && !groups.isNew) {
      // one element per row: the same key twice is the same person sent twice
      return [{row, field: this.flow.groupKey.index, code: 'DUPLICATE_KEY', error: true, params: {riga: groups.firstRow}}]
    }
    if (groups.differing.length > 0) {
      return groups.differing.map((d) => ({row, field: (d < 0 ? this.flow.groupKey : this.groupFields[d]).index, code: 'BENEFICIARY_INCONSISTENT', error: true, params: {riga: groups.firstRow}}))
    }
    const variant = variantOf(signatures, at)
    if (variant !== groups.firstVariant && !this.knownVariant(group, variant)) {
      return [{row, field: this.flow.groupVariant!.fields[0].index, code: 'TOO_MANY_ADDRESSES', error: true, params: {max: this.flow.groupVariant!.max, riga: groups.firstRow}}]
    }
    this.group = group
    this.isNew = groups.isNew
    this.otherVariant = variant !== groups.firstVariant
    return undefined
  }

  /**
   * A group's row with a variant (address) other than its first row's: known, or added while the
   * group has fewer than the maximum; false when it would be one too many.
   */
  private knownVariant(group: number, variant: number): boolean {
    let seen = this.variants.get(group)
    if (!seen) this.variants.set(group, (seen = [this.groups.firstVariant]))
    if (seen.includes(variant)) return true
    if (seen.length >= this.flow.groupVariant!.max) return false
    seen.push(variant)
    return true
  }
}
