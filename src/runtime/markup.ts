/**
 * Fixed markup as little-endian 32-bit words (its UTF-8 bytes, the last word zero-padded), for
 * code that compares or writes it four bytes at a time through a DataView: the ODS reader
 * recognising LibreOffice's cells, the XML writer writing tags and attribute names. `length` is in
 * bytes.
 */
export class Markup {
  readonly length: number
  readonly words: Uint32Array

  constructor(text: string) {
    const bytes = Buffer.alloc(Math.ceil(Buffer.byteLength(text) / 4) * 4)
    this.length = bytes.write(text)
    this.words = new Uint32Array(bytes.length / 4)
    for (let k = 0; k < this.words.length; k++) this.words[k] = bytes.readUInt32LE(4 * k)
  }
}
