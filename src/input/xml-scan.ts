/**
 * A push tokenizer for the tiny XML grammars of workbooks (SpreadsheetML parts, ODS content.xml):
 * tags, text, CDATA; comments, processing instructions and DOCTYPE skipped. It does not build
 * anything: names and raw attribute text go to the handler, which reads only what it needs
 * (`attr`) and decodes text only where it keeps it (`decodeXml`). Measured on sheet XML it is
 * several times faster than a general SAX parser, which is what puts workbooks near the
 * inflate + `xmllint --stream` floor. No entity is ever expanded beyond the five predefined
 * ones and character references (no DTD entities: no "billion laughs").
 */

export interface XmlHandler {
  /** a start tag; a self-closing tag is followed by close() */
  open(name: string, attrs: string): void
  close(name: string): void
  /** text as written (entities not decoded), or CDATA content (`literal`) */
  text(raw: string, literal: boolean): void
}

export class XmlSyntaxError extends Error {
  readonly code = 'XML_SYNTAX'
}

/** a tag, comment or text run left open across chunks may not grow past this (characters) */
const MAX_PENDING = 8 << 20

export class XmlScanner {
  private pending = ''
  private stopped = false

  constructor(private readonly on: XmlHandler) {}

  write(chunk: string): void {
    const text = this.pending.length > 0 ? this.pending + chunk : chunk
    this.pending = this.scan(text)
    if (this.pending.length > MAX_PENDING && !this.stopped) throw new XmlSyntaxError('token too long')
  }

  /**
   * Called by the handler from open(): scanning stops right after that tag, so that another
   * scanner can take over the rest (`handOver`).
   */
  stop(): void {
    this.stopped = true
  }

  get isStopped(): boolean {
    return this.stopped
  }

  /** After stop(): the text not scanned yet; the scanner is ready to go on from scratch. */
  handOver(): string {
    const rest = this.pending
    this.pending = ''
    this.stopped = false
    return rest
  }

  /** End of input: anything left open means the document was cut short. */
  end(): void {
    if (this.pending.trim() !== '') throw new XmlSyntaxError('unexpected end of document')
    this.pending = ''
  }

  /** Handles every complete token of s; returns the incomplete rest. */
  private scan(s: string): string {
    const on = this.on
    const n = s.length
    let pos = 0
    while (pos < n) {
      const lt = s.indexOf('<', pos)
      if (lt < 0) {
        // text that goes on in the next chunk: hand over what is complete, keep a cut entity or CR
        let cut = n
        const amp = s.lastIndexOf('&')
        if (amp >= pos && s.indexOf(';', amp) < 0) cut = amp
        if (cut > pos && s.charCodeAt(cut - 1) === 13) cut--
        if (cut > pos) on.text(s.slice(pos, cut), false)
        return s.slice(cut)
      }
      if (lt > pos) on.text(s.slice(pos, lt), false)
      pos = lt
      if (lt + 1 >= n) return s.slice(lt)
      const c = s.charCodeAt(lt + 1)
      if (c === 47) {
        // </name>
        const gt = s.indexOf('>', lt + 2)
        if (gt < 0) return s.slice(lt)
        on.close(s.slice(lt + 2, gt).trimEnd())
        pos = gt + 1
      } else if (c === 33 || c === 63) {
        const end = this.special(s, lt)
        if (end < 0) return s.slice(lt)
        pos = end
      } else {
        const gt = tagEnd(s, lt + 1)
        if (gt < 0) return s.slice(lt)
        let nameEnd = lt + 1
        while (nameEnd < gt && !isNameEnd(s.charCodeAt(nameEnd))) nameEnd++
        const selfClosing = s.charCodeAt(gt - 1) === 47
        const name = s.slice(lt + 1, nameEnd)
        on.open(name, s.slice(nameEnd, selfClosing ? gt - 1 : gt))
        if (selfClosing) on.close(name)
        pos = gt + 1
        if (this.stopped) return s.slice(pos)
      }
    }
    return ''
  }

  /** <!-- -->, <![CDATA[ ]]>, <!DOCTYPE …>, <? ?>: the index after it, or -1 when incomplete. */
  private special(s: string, lt: number): number {
    if (s.startsWith('<?', lt)) {
      const end = s.indexOf('?>', lt + 2)
      return end < 0 ? -1 : end + 2
    }
    if (s.startsWith('<!--', lt)) {
      const end = s.indexOf('-->', lt + 4)
      return end < 0 ? -1 : end + 3
    }
    if (s.startsWith('<![CDATA[', lt)) {
      const end = s.indexOf(']]>', lt + 9)
      if (end < 0) return -1
      this.on.text(s.slice(lt + 9, end), true)
      return end + 3
    }
    if (s.length - lt < 9) return -1 // not enough to tell what it is yet
    // <!DOCTYPE …> possibly with an internal subset in [ ]: skipped, its entities never used
    const bracket = s.indexOf('[', lt)
    const gt = s.indexOf('>', lt)
    if (gt < 0) return -1
    if (bracket < 0 || bracket > gt) return gt + 1
    const close = s.indexOf(']', bracket)
    if (close < 0) return -1
    const end = s.indexOf('>', close)
    return end < 0 ? -1 : end + 1
  }
}

function isNameEnd(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13 || c === 47 || c === 62
}

/** A tag's rest up to its '>', quoted attribute values (which may hold a '>') skipped. */
const TAG_REST = /[^>"']*(?:"[^"]*"[^>"']*|'[^']*'[^>"']*)*>/y

/** The '>' that ends the tag starting at `from`; -1 if not in s. */
export function tagEnd(s: string, from: number): number {
  TAG_REST.lastIndex = from
  return TAG_REST.test(s) ? TAG_REST.lastIndex - 1 : -1
}

/**
 * The decoded value of attribute `name` in a tag's attribute text, or undefined. Names are
 * compared whole (`r` never matches `xr`), prefix included as written.
 */
export function attr(attrs: string, name: string): string | undefined {
  const n = attrs.length
  let i = 0
  while (i < n) {
    let c = attrs.charCodeAt(i)
    while (i < n && (c === 32 || c === 9 || c === 10 || c === 13)) c = attrs.charCodeAt(++i)
    if (i >= n) return undefined
    const eq = attrs.indexOf('=', i)
    if (eq < 0) return undefined
    let q = eq + 1
    while (q < n && attrs.charCodeAt(q) !== 34 && attrs.charCodeAt(q) !== 39) q++
    if (q >= n) return undefined
    const end = attrs.indexOf(attrs[q], q + 1)
    if (end < 0) return undefined
    if (attrs.startsWith(name, i) && onlySpaces(attrs, i + name.length, eq)) return decodeXml(attrs.slice(q + 1, end))
    i = end + 1
  }
  return undefined
}

function onlySpaces(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i)
    if (c !== 32 && c !== 9 && c !== 10 && c !== 13) return false
  }
  return true
}

/**
 * Calls visit(name, value) for every attribute of a tag's attribute text, in one pass (for hot
 * paths that need several attributes of the same tag). The value is still encoded: decodeXml it.
 */
export function eachAttribute(attrs: string, visit: (name: string, rawValue: string) => void): void {
  const n = attrs.length
  let i = 0
  while (i < n) {
    let c = attrs.charCodeAt(i)
    while (i < n && (c === 32 || c === 9 || c === 10 || c === 13)) c = attrs.charCodeAt(++i)
    const eq = attrs.indexOf('=', i)
    if (i >= n || eq < 0) return
    let q = eq + 1
    while (q < n && attrs.charCodeAt(q) !== 34 && attrs.charCodeAt(q) !== 39) q++
    if (q >= n) return
    const end = attrs.indexOf(attrs[q], q + 1)
    if (end < 0) return
    let nameEnd = eq
    while (nameEnd > i && attrs.charCodeAt(nameEnd - 1) === 32) nameEnd--
    visit(attrs.slice(i, nameEnd), attrs.slice(q + 1, end))
    i = end + 1
  }
}

const ENTITY = /&(#x[0-9a-fA-F]{1,6}|#[0-9]{1,7}|amp|lt|gt|quot|apos);/g
const NAMED: Record<string, string> = {amp: '&', lt: '<', gt: '>', quot: '"', apos: "'"}

/** Predefined entities and character references decoded; line ends normalised as XML requires. */
export function decodeXml(raw: string): string {
  let text = raw.includes('\r') ? raw.replace(/\r\n?/g, '\n') : raw
  if (!text.includes('&')) return text
  text = text.replace(ENTITY, (whole, entity: string) => {
    if (entity.charCodeAt(0) !== 35) return NAMED[entity]
    const code = entity.charCodeAt(1) === 120 ? Number.parseInt(entity.slice(2), 16) : Number.parseInt(entity.slice(1), 10)
    return code <= 0x10ffff ? String.fromCodePoint(code) : whole
  })
  return text
}

/** "x:row" → "row": some producers prefix every SpreadsheetML element. */
export function localName(name: string): string {
  const colon = name.indexOf(':')
  return colon < 0 ? name : name.slice(colon + 1)
}

/*
 * Worker threads scan a chunk of a sheet as latin1 text: one character per byte, so the string is
 * a plain copy of the bytes (no UTF-8 decoding, always one byte per character for the native
 * searches) and its indexes are byte offsets. Tags are ASCII, so the scan finds the same things;
 * what a reader keeps as data it takes with sourceText, which decodes it as UTF-8 from the bytes
 * when it holds anything but ASCII. Measured on the bench's ODS: decoding 200 MB as UTF-8 took
 * about 1 s, as latin1 0.05 s.
 */
let sourceBytes: Buffer | undefined
let sourceStart = 0

/** scan(text) on bytes[from..to) read as latin1; sourceText then takes data out of that text. */
export function scanLatin1<T>(bytes: Buffer, from: number, to: number, scan: (text: string) => T): T {
  sourceBytes = bytes
  sourceStart = from
  try {
    return scan(bytes.toString('latin1', from, to))
  } finally {
    sourceBytes = undefined
  }
}

/** s[from..to) as the text it is: s is the text being scanned (decoded, or latin1 in scanLatin1). */
export function sourceText(s: string, from: number, to: number): string {
  const text = s.slice(from, to)
  if (sourceBytes === undefined) return text
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 127) return sourceBytes.toString('utf8', sourceStart + from, sourceStart + to)
  return text
}

/** decodeXml(sourceText(s, from, to)), with one look at the text when, as usual, there is nothing to decode. */
export function textAt(s: string, from: number, to: number): string {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i)
    if (c > 127 || c === 38 || c === 13) return decodeXml(sourceText(s, from, to))
  }
  return s.slice(from, to)
}

/** s[from..to) as one of `names` when it is one (the usual values: no new string each time), else take(s, from, to). */
export function knownText(names: readonly string[], s: string, from: number, to: number, take: (s: string, from: number, to: number) => string): string {
  for (const name of names) if (name.length === to - from && s.startsWith(name, from)) return name
  return take(s, from, to)
}
