/**
 * Beneficiaries seen so far in a file, keyed by codice fiscale, in a fixed-size open-addressing
 * table of typed arrays. Grouping rows and checking that every row of a person carries the same
 * personal data needs state for every person in the file; a Map of strings would grow with the
 * file (DESIGN §11 wants memory flat), and SQLite would cost seconds per million rows. Each
 * slot holds the exact key (up to 16 ASCII chars, 4 per word), so there are no false matches:
 * only the personal-data fingerprint is a hash (64 bits to detect a difference, 8 bits per
 * field to say which field differs).
 */

const KEY_WORDS = 4
const MAX_FIELDS = 16
/** words per slot: key, group number + 1 (0 = empty), first row, fingerprint ×2, field hashes */
const STRIDE = KEY_WORDS + 1 + 1 + 2 + MAX_FIELDS / 4
const GROUP = KEY_WORDS
const ROW = KEY_WORDS + 1
const FP = KEY_WORDS + 2
const FIELD_HASHES = KEY_WORDS + 4

const NONE: number[] = []

export interface GroupLookup {
  /** 0-based group number, in order of first appearance */
  group: number
  isNew: boolean
  /** row where the group was first seen */
  firstRow: number
  /** indexes (into the values passed) that differ from the first row; [] when consistent */
  differing: number[]
}

export class GroupTable {
  private slots: Uint32Array
  private mask: number
  private count = 0
  private readonly key = new Uint32Array(KEY_WORDS)
  private readonly fp = new Uint32Array(2)

  constructor(initialSlots = 1 << 20) {
    this.slots = new Uint32Array(initialSlots * STRIDE)
    this.mask = initialSlots - 1
  }

  get size(): number {
    return this.count
  }

  /** Keys must be ASCII and at most 16 characters (a well-formed codice fiscale). */
  static fits(key: string): boolean {
    if (key.length > KEY_WORDS * 4) return false
    for (let i = 0; i < key.length; i++) if (key.charCodeAt(i) > 127) return false
    return true
  }

  /**
   * Finds or adds `key`; for an existing key, compares the group fields (`values` at
   * `fieldIndexes`) with the first row's. Differences are reported as positions in `fieldIndexes`.
   */
  lookup(key: string, values: readonly string[], fieldIndexes: readonly number[], row: number): GroupLookup {
    if (fieldIndexes.length > MAX_FIELDS) throw new Error('GroupTable: too many group fields')
    this.packKey(key)
    const k = this.key
    let slot = this.hashKey() & this.mask
    for (;;) {
      const base = slot * STRIDE
      const s = this.slots
      if (s[base + GROUP] === 0) {
        if ((this.count + 1) * 10 > (this.mask + 1) * 7) {
          this.grow()
          return this.lookup(key, values, fieldIndexes, row)
        }
        s[base] = k[0]
        s[base + 1] = k[1]
        s[base + 2] = k[2]
        s[base + 3] = k[3]
        s[base + GROUP] = ++this.count
        s[base + ROW] = row
        this.writeFingerprint(base, values, fieldIndexes)
        return {group: this.count - 1, isNew: true, firstRow: row, differing: []}
      }
      if (s[base] === k[0] && s[base + 1] === k[1] && s[base + 2] === k[2] && s[base + 3] === k[3]) {
        return {group: s[base + GROUP] - 1, isNew: false, firstRow: s[base + ROW], differing: this.compare(base, values, fieldIndexes)}
      }
      slot = (slot + 1) & this.mask
    }
  }

  private packKey(key: string): void {
    const k = this.key
    k.fill(0)
    for (let i = 0; i < key.length; i++) k[i >> 2] |= key.charCodeAt(i) << ((i & 3) * 8)
  }

  private hashKey(): number {
    let h = 0x9e3779b9
    for (let i = 0; i < KEY_WORDS; i++) {
      h = Math.imul(h ^ this.key[i], 0x85ebca6b)
      h ^= h >>> 13
    }
    h = Math.imul(h, 0xc2b2ae35)
    return (h ^ (h >>> 16)) >>> 0
  }

  private writeFingerprint(base: number, values: readonly string[], fieldIndexes: readonly number[]): void {
    fingerprint(values, fieldIndexes, this.fp)
    this.slots[base + FP] = this.fp[0]
    this.slots[base + FP + 1] = this.fp[1]
    for (let f = 0; f < fieldIndexes.length; f++) {
      const word = base + FIELD_HASHES + (f >> 2)
      this.slots[word] |= (fnv1a(values[fieldIndexes[f]], 0x811c9dc5) & 0xff) << ((f & 3) * 8)
    }
  }

  private compare(base: number, values: readonly string[], fieldIndexes: readonly number[]): number[] {
    fingerprint(values, fieldIndexes, this.fp)
    if (this.slots[base + FP] === this.fp[0] && this.slots[base + FP + 1] === this.fp[1]) return NONE
    const differing: number[] = []
    for (let f = 0; f < fieldIndexes.length; f++) {
      const stored = (this.slots[base + FIELD_HASHES + (f >> 2)] >>> ((f & 3) * 8)) & 0xff
      if (stored !== (fnv1a(values[fieldIndexes[f]], 0x811c9dc5) & 0xff)) differing.push(f)
    }
    // the 8-bit hashes collided for the field that differs: still report the difference
    return differing.length > 0 ? differing : [-1]
  }

  private grow(): void {
    const old = this.slots
    const oldSlots = this.mask + 1
    this.slots = new Uint32Array(oldSlots * 2 * STRIDE)
    this.mask = oldSlots * 2 - 1
    for (let i = 0; i < oldSlots; i++) {
      const base = i * STRIDE
      if (old[base + GROUP] === 0) continue
      this.key.set(old.subarray(base, base + KEY_WORDS))
      let slot = this.hashKey() & this.mask
      while (this.slots[slot * STRIDE + GROUP] !== 0) slot = (slot + 1) & this.mask
      this.slots.set(old.subarray(base, base + STRIDE), slot * STRIDE)
    }
  }
}

function fnv1a(s: string, seed: number): number {
  let h = seed
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

/** Two independent 32-bit hashes of all fields, with a separator so ["ab","c"] ≠ ["a","bc"]. */
function fingerprint(values: readonly string[], fieldIndexes: readonly number[], out: Uint32Array): void {
  let a = 0x811c9dc5
  let b = 0x01234567
  for (const i of fieldIndexes) {
    const f = values[i]
    a = fnv1a(f, a)
    a = Math.imul(a ^ 0x1f, 0x01000193)
    for (let i = 0; i < f.length; i++) b = Math.imul(b ^ f.charCodeAt(i), 0x5bd1e995) ^ (b >>> 15)
    b = Math.imul(b ^ 0x1e, 0x5bd1e995)
  }
  out[0] = a >>> 0
  out[1] = b >>> 0
}
