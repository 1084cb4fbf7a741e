import {createHash} from 'node:crypto'

/**
 * Beneficiaries seen so far in a file, keyed by codice fiscale, in a fixed-size open-addressing
 * table of typed arrays. Grouping rows and checking that every row of a person carries the same
 * personal data needs state for every person in the file; a Map of strings would grow with the
 * file (DESIGN §11 wants memory flat), and SQLite would cost seconds per million rows.
 *
 * A row travels to the table as a signature of plain numbers (so worker threads can compute it):
 * the key — exact for up to 16 ASCII characters (a codice fiscale: no false matches), a 128-bit
 * hash otherwise — and a fingerprint of the beneficiary's fields (64 bits to detect a
 * difference, 8 bits per field to say which).
 */

const KEY_WORDS = 4
const MAX_FIELDS = 16
const FINGERPRINT_WORDS = 2 + MAX_FIELDS / 4
/** words of a row signature: key, fingerprint, then the hash of the group's variant element (an address) */
export const SIGNATURE_WORDS = KEY_WORDS + FINGERPRINT_WORDS + 1
const VARIANT = KEY_WORDS + FINGERPRINT_WORDS
const FP = KEY_WORDS
/** where a signature's 64-bit fingerprint of the personal data starts */
export const FINGERPRINT_AT = FP

const NONE: readonly number[] = []

/**
 * A slot holds only what the flow needs: the key (4 words), the 64-bit fingerprint (2), a byte per
 * group field (⌈fields / 4⌉ words), the first row's variant (1, when the flow has one) and the
 * first row (1; 0 = empty). For PS (7 fields, addresses): 10 words, 40 bytes a beneficiary.
 */
export class GroupTable {
  private slots: Uint32Array
  /** per block of 1024 words of `slots`: written to yet (see touch) */
  private written: Uint8Array
  private mask: number
  private count = 0
  /** words per slot, and where the variant and the first row are in a slot */
  private readonly stride: number
  private readonly fieldWords: number
  private readonly variantAt: number
  private readonly rowAt: number

  /** after lookup(): whether the key was seen for the first time */
  isNew = false
  /** after lookup(): the row where the group was first seen */
  firstRow = 0
  /** after lookup(): positions of the group fields that differ from the first row ([-1]: some field, unknown which) */
  differing: readonly number[] = NONE
  /** after lookup(): the variant hash of the group's first row (see signature) */
  firstVariant = 0

  /**
   * Room for a million people from the start (46 MB for PS), so that memory does not grow with the
   * file (DESIGN §11) nor peak at one and a half tables while doubling. Its price, measured: a file
   * of 80,000 people touches nearly every page of it, about 0.2 s of page faults on this machine
   * that a small table would not pay.
   */
  constructor(fieldCount = MAX_FIELDS, hasVariant = true, initialSlots = 1 << 20) {
    if (fieldCount > MAX_FIELDS) throw new Error('GroupTable: too many group fields')
    this.fieldWords = Math.ceil(fieldCount / 4)
    this.variantAt = KEY_WORDS + 2 + this.fieldWords
    this.rowAt = this.variantAt + (hasVariant ? 1 : 0)
    this.stride = this.rowAt + 1
    this.slots = new Uint32Array(initialSlots * this.stride)
    this.written = new Uint8Array((this.slots.length >>> 10) + 1)
    this.mask = initialSlots - 1
  }

  /** bytes a beneficiary costs in the table (at most 70 % of the slots are used before it doubles) */
  get bytesPerSlot(): number {
    return this.stride * 4
  }

  get size(): number {
    return this.count
  }

  /**
   * Writes a row's signature into `out` at `at`: its key (ASCII, at most 16 characters: a
   * well-formed codice fiscale) and the fingerprint of its group fields (`values` at `fieldIndexes`).
   */
  static signature(key: string, values: readonly string[], fieldIndexes: readonly number[], out: Uint32Array, at: number, variant = 0): void {
    if (fieldIndexes.length > MAX_FIELDS) throw new Error('GroupTable: too many group fields')
    out.fill(0, at, at + SIGNATURE_WORDS)
    out[at + VARIANT] = variant
    if (!packKey(key, out, at)) hashKeyInto(key, out, at)
    const fp = at + FP
    let a = 0x811c9dc5
    let b = 0x01234567
    for (let f = 0; f < fieldIndexes.length; f++) {
      const v = values[fieldIndexes[f]]
      // one pass over the value: the two running hashes and the field's own
      let field = 0x811c9dc5
      for (let i = 0; i < v.length; i++) {
        const c = v.charCodeAt(i)
        a = Math.imul(a ^ c, 0x01000193)
        field = Math.imul(field ^ c, 0x01000193)
        b = Math.imul(b ^ c, 0x5bd1e995) ^ (b >>> 15)
      }
      a = Math.imul(a ^ 0x1f, 0x01000193)
      b = Math.imul(b ^ 0x1e, 0x5bd1e995)
      out[fp + 2 + (f >> 2)] |= (field & 0xff) << ((f & 3) * 8)
    }
    out[fp] = a >>> 0
    out[fp + 1] = b >>> 0
  }

  /**
   * Finds or adds the key of the signature in `sig` at `at` (`row` > 0); returns the group's first
   * row, which names the group, and sets isNew, firstRow and differing.
   */
  lookup(sig: Uint32Array, at: number, fieldCount: number, row: number): number {
    const {stride, rowAt, variantAt} = this
    for (;;) {
      let slot = hashKey(sig, at) & this.mask
      const s = this.slots
      for (;;) {
        const base = slot * stride
        this.touch(base)
        if (s[base + rowAt] === 0) break
        if (s[base] === sig[at] && s[base + 1] === sig[at + 1] && s[base + 2] === sig[at + 2] && s[base + 3] === sig[at + 3]) {
          this.isNew = false
          this.firstRow = s[base + rowAt]
          this.differing = this.compare(base, sig, at, fieldCount)
          this.firstVariant = rowAt > variantAt ? s[base + variantAt] : 0
          return this.firstRow
        }
        slot = (slot + 1) & this.mask
      }
      if ((this.count + 1) * 10 > (this.mask + 1) * 7) {
        this.grow()
        continue
      }
      const base = slot * stride
      for (let w = 0; w < variantAt; w++) s[base + w] = sig[at + w]
      if (rowAt > variantAt) s[base + variantAt] = sig[at + VARIANT]
      s[base + rowAt] = row
      this.count++
      this.isNew = true
      this.firstRow = row
      this.differing = NONE
      this.firstVariant = sig[at + VARIANT]
      return row
    }
  }

  /**
   * Writes (zeros) to the blocks of the slot at `base` before anything reads them. The table's
   * memory is untouched until used; a page first read is mapped to the shared zero page, and the
   * write that follows replaces it, which in a process with running threads costs every core a TLB
   * flush (an interrupt, on a virtual machine an exit). Written first, the page is simply allocated.
   * A block of 1024 words lies on at most two pages: its first and last words touch both.
   */
  private touch(base: number): void {
    const last = (base + this.stride - 1) >>> 10
    if (this.written[base >>> 10] === 1 && this.written[last] === 1) return
    const s = this.slots
    for (let block = base >>> 10; block <= last; block++) {
      if (this.written[block] === 1) continue
      const first = block << 10
      // never written: every word of the block is still 0
      s[first] = 0
      s[Math.min(first + 1023, s.length - 1)] = 0
      this.written[block] = 1
    }
  }

  private compare(base: number, sig: Uint32Array, at: number, fieldCount: number): readonly number[] {
    const s = this.slots
    const fp = at + FP
    if (s[base + FP] === sig[fp] && s[base + FP + 1] === sig[fp + 1]) return NONE
    const differing: number[] = []
    for (let f = 0; f < fieldCount; f++) {
      const shift = (f & 3) * 8
      const word = 2 + (f >> 2)
      if (((s[base + FP + word] >>> shift) & 0xff) !== ((sig[fp + word] >>> shift) & 0xff)) differing.push(f)
    }
    // the 8-bit hashes collided for the field that differs: still report the difference
    return differing.length > 0 ? differing : [-1]
  }

  private grow(): void {
    const {stride, rowAt} = this
    const old = this.slots
    const oldWritten = this.written
    const oldSlots = this.mask + 1
    this.slots = new Uint32Array(oldSlots * 2 * stride)
    this.written = new Uint8Array((this.slots.length >>> 10) + 1)
    this.mask = oldSlots * 2 - 1
    for (let i = 0; i < oldSlots; i++) {
      const base = i * stride
      // a block never written holds no one (and reading it would map the zero page for nothing)
      if (oldWritten[(base + rowAt) >>> 10] === 0 || old[base + rowAt] === 0) continue
      let slot = hashKey(old, base) & this.mask
      for (;;) {
        const at = slot * stride
        this.touch(at)
        if (this.slots[at + rowAt] === 0) break
        slot = (slot + 1) & this.mask
      }
      this.slots.set(old.subarray(base, base + stride), slot * stride)
    }
  }
}

/** Short ASCII keys (a codice fiscale) are stored exactly, 4 characters a word. */
function packKey(key: string, out: Uint32Array, at: number): boolean {
  if (key.length > KEY_WORDS * 4) return false
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i)
    if (c > 127) return false
    out[at + (i >> 2)] |= c << ((i & 3) * 8)
  }
  return true
}

/**
 * Other keys (a SINBA identifier of up to 20 characters, accents) as a 128-bit hash; the top bit
 * of the last word is set, which packed ASCII never sets, so the two kinds never meet.
 */
function hashKeyInto(key: string, out: Uint32Array, at: number): void {
  const digest = createHash('sha256').update(key).digest()
  for (let w = 0; w < KEY_WORDS; w++) out[at + w] = digest.readUInt32LE(w * 4)
  out[at + KEY_WORDS - 1] = (out[at + KEY_WORDS - 1] | 0x80000000) >>> 0
}

function hashKey(words: Uint32Array, at: number): number {
  let h = 0x9e3779b9
  for (let i = 0; i < KEY_WORDS; i++) {
    h = Math.imul(h ^ words[at + i], 0x85ebca6b)
    h ^= h >>> 13
  }
  h = Math.imul(h, 0xc2b2ae35)
  return (h ^ (h >>> 16)) >>> 0
}

/** The variant hash of a signature (0 when the flow has no variant element). */
export function variantOf(sig: Uint32Array, at: number): number {
  return sig[at + VARIANT]
}

/** 32-bit FNV-1a of some fields' values (an address), never 0 when there are fields. */
export function hashFields(values: readonly string[], indexes: readonly number[]): number {
  let h = 0x811c9dc5
  for (let f = 0; f < indexes.length; f++) {
    const v = values[indexes[f]]
    for (let i = 0; i < v.length; i++) h = Math.imul(h ^ v.charCodeAt(i), 0x01000193)
    h = Math.imul(h ^ 0x1f, 0x01000193)
  }
  return (h >>> 0) || 1
}
