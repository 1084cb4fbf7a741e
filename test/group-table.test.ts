import assert from 'node:assert/strict'

import {GroupTable, SIGNATURE_WORDS} from '../src/validate/group-table.js'
import {checkCharOf} from './support/synthetic.js'

/**
 * The beneficiary table behind the cross-row checks doubles when people outgrow it.
 * Given more people than its first size holds, every person must still be found again — with
 * the row that first named them — and a changed field of theirs noticed, after every doubling.
 */
describe('beneficiary table: grows with the file and forgets nobody', () => {
  /** a well-formed synthetic codice fiscale per number (no real person: a counter in its letters and digits) */
  function codiceFiscale(n: number): string {
    const letters = (k: number, width: number): string => Array.from({length: width}, (_, i) => String.fromCharCode(65 + (Math.floor(k / 26 ** i) % 26))).join('')
    const first15 = `${letters(n, 3)}${letters(Math.floor(n / 17576), 3)}${String(n % 100).padStart(2, '0')}A01H501`
    return first15 + checkCharOf(first15)
  }
  const fields = [0, 1]

  it('given 200,000 people, each twice: the second row names the first, and a changed surname is seen at any size', () => {
    const people = 200_000
    // a small first size, so that the table doubles several times on the way
    const table = new GroupTable(fields.length, false, 1 << 12)
    const sig = new Uint32Array(SIGNATURE_WORDS)
    for (let n = 0; n < people; n++) {
      GroupTable.signature(codiceFiscale(n), [`Cognome${n}`, 'Nome'], fields, sig, 0)
      assert.equal(table.lookup(sig, 0, fields.length, n + 1), n + 1)
      assert.equal(table.isNew, true, `person ${n} is new`)
    }
    assert.equal(table.size, people)
    for (let n = 0; n < people; n += 7) {
      const changed = n % 2 === 0
      GroupTable.signature(codiceFiscale(n), [changed ? `Altro${n}` : `Cognome${n}`, 'Nome'], fields, sig, 0)
      assert.equal(table.lookup(sig, 0, fields.length, people + n + 1), n + 1, `person ${n} found again`)
      assert.equal(table.isNew, false)
      // the surname (field 0), or "some field" when its 8-bit hash happened to collide
      if (changed) assert.ok(table.differing.length === 1 && [0, -1].includes(table.differing[0]), `person ${n}: ${table.differing}`)
      else assert.deepEqual([...table.differing], [], `person ${n}`)
    }
  })
})
