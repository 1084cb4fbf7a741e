import type {EnteIdentity} from '../flows/ente.js'
import type {ElementSpec, FieldSpec, FlowSpec} from '../flows/model.js'
import {Markup} from '../runtime/markup.js'

/**
 * XML for flussi, derived from the record model (DESIGN §6): namespace http://inps.it/Casellario,
 * UTF-8, attributes in model order, absent values omitted. Records are rendered straight into
 * UTF-8 bytes: markup is copied from pre-encoded constants and each value is escaped and encoded
 * in one pass, so the million-row path builds no intermediate strings.
 */

export const NAMESPACE = 'http://inps.it/Casellario'

const ESCAPES: Record<string, string> = {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', '\t': '&#9;', '\n': '&#10;', '\r': '&#13;'}

/** Escapes an attribute value or text node (whitespace as character references, so it survives attribute normalisation). */
export function escapeXml(value: string): string {
  return /[&<>"\t\n\r]/.test(value) ? value.replace(/[&<>"\t\n\r]/g, (c) => ESCAPES[c]) : value
}

/** Entity bytes by character code, for the characters that need one. */
const ENTITY: (Uint8Array | undefined)[] = []
for (const [c, e] of Object.entries(ESCAPES)) ENTITY[c.charCodeAt(0)] = Buffer.from(e)
/** 1 for the ASCII characters copied as they are (a dense table: most values are digits and letters) */
const PLAIN = new Uint8Array(128).fill(1)
for (const c of Object.keys(ESCAPES)) PLAIN[c.charCodeAt(0)] = 0

/** Growable UTF-8 output buffer. */
export class XmlBytes {
  private buf: Buffer
  private view: DataView
  length = 0

  /** `reuse`: an ArrayBuffer whose bytes are no longer needed (taken when big enough) */
  constructor(capacity = 64 * 1024, reuse?: ArrayBuffer) {
    this.buf = reuse && reuse.byteLength >= capacity ? Buffer.from(reuse) : Buffer.allocUnsafeSlow(capacity)
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.length)
  }

  /** Room for `extra` bytes, and 3 more: markup's last word may write past its end (past `length`: never part of the bytes). */
  private ensure(extra: number): void {
    if (this.length + extra + 3 <= this.buf.length) return
    const bigger = Buffer.allocUnsafeSlow(Math.max(this.buf.length * 2, this.length + extra + 3))
    this.buf.copy(bigger, 0, 0, this.length)
    this.buf = bigger
    this.view = new DataView(bigger.buffer, bigger.byteOffset, bigger.length)
  }

  /**
   * Markup, four bytes a store: most of a flusso's bytes are markup (` DataInizioPrestazione="`
   * and the like), and word stores wrote it twice as fast as a loop over its bytes, or TypedArray.set.
   */
  raw(markup: Markup): void {
    this.ensure(markup.length)
    this.length = this.putMarkup(this.length, markup)
  }

  /** ` Name="value"`: the encoded prefix, the value escaped and encoded, the closing quote. */
  attribute(prefix: Markup, value: string): void {
    this.ensure(prefix.length + value.length * 6 + 1)
    this.length = this.putMarkup(this.length, prefix)
    this.text(value)
    this.buf[this.length++] = 34 // "
  }

  private putMarkup(at: number, markup: Markup): number {
    const {words} = markup
    const view = this.view
    for (let i = 0; i < words.length; i++) view.setUint32(at + 4 * i, words[i], true)
    return at + markup.length
  }

  /** A value: escaped and UTF-8 encoded. */
  text(value: string): void {
    this.ensure(value.length * 6) // the longest escape (&quot;) is 6 bytes for 1 unit
    const buf = this.buf
    const view = this.view
    let at = this.length
    let i = 0
    // four plain ASCII characters a store, while they last (most values: names, dates, amounts)
    for (; i + 4 <= value.length; i += 4, at += 4) {
      const a = value.charCodeAt(i)
      const b = value.charCodeAt(i + 1)
      const c = value.charCodeAt(i + 2)
      const d = value.charCodeAt(i + 3)
      if ((a | b | c | d) >= 0x80 || (PLAIN[a] & PLAIN[b] & PLAIN[c] & PLAIN[d]) === 0) break
      view.setInt32(at, a | (b << 8) | (c << 16) | (d << 24), true)
    }
    for (; i < value.length; i++) {
      const c = value.charCodeAt(i)
      if (c < 0x80) {
        if (PLAIN[c] === 1) buf[at++] = c
        else {
          const entity = ENTITY[c]!
          for (let k = 0; k < entity.length; k++) buf[at++] = entity[k]
        }
      } else if (c < 0x800) {
        buf[at++] = 0xc0 | (c >> 6)
        buf[at++] = 0x80 | (c & 0x3f)
      } else if (c >= 0xd800 && c < 0xdc00 && i + 1 < value.length) {
        // a surrogate pair (validation already refused lone surrogates)
        const cp = 0x10000 + ((c - 0xd800) << 10) + (value.charCodeAt(++i) - 0xdc00)
        buf[at++] = 0xf0 | (cp >> 18)
        buf[at++] = 0x80 | ((cp >> 12) & 0x3f)
        buf[at++] = 0x80 | ((cp >> 6) & 0x3f)
        buf[at++] = 0x80 | (cp & 0x3f)
      } else {
        buf[at++] = 0xe0 | (c >> 12)
        buf[at++] = 0x80 | ((c >> 6) & 0x3f)
        buf[at++] = 0x80 | (c & 0x3f)
      }
    }
    this.length = at
  }

  /** Drops the last `n` bytes (to turn `>` into `/>` for an element that stayed empty). */
  truncate(n: number): void {
    this.length -= n
  }

  /**
   * The bytes written: a view on this writer's own ArrayBuffer (transferable between threads,
   * without copying the chunk's XML). Nothing may be written after it.
   */
  bytes(): Uint8Array {
    return new Uint8Array(this.buf.buffer, this.buf.byteOffset, this.length)
  }
}

type Render = (values: readonly string[], out: XmlBytes) => void

const GT = new Markup('>')
const SELF_CLOSE = new Markup('/>')

function attributes(fields: FieldSpec[]): Render {
  const parts = fields.map((f) => {
    // a code from a closed list: the whole attribute rendered once per code; one-character
    // codes (most of them) found by character code, without a map lookup
    const whole = f.type.kind === 'enum' ? Object.keys(f.type.values).map((v) => [v, new Markup(` ${f.xml}="${escapeXml(v)}"`)] as const) : []
    const byChar: (Markup | undefined)[] = []
    for (const [code, rendered] of whole) if (code.length === 1) byChar[code.charCodeAt(0)] = rendered
    return {index: f.index, prefix: new Markup(` ${f.xml}="`), byChar, byCode: new Map(whole)}
  })
  return (values, out) => {
    for (const {index, prefix, byChar, byCode} of parts) {
      const v = values[index]
      if (v === '') continue
      const rendered = v.length === 1 ? byChar[v.charCodeAt(0)] : byCode.size > 0 ? byCode.get(v) : undefined
      if (rendered) out.raw(rendered)
      else out.attribute(prefix, v)
    }
  }
}

/** `a|b` → <Wrapper><Item>a</Item><Item>b</Item></Wrapper> */
function listElements(f: FieldSpec): Render {
  const open = new Markup(`<${f.list!.wrapper}>`)
  const close = new Markup(`</${f.list!.wrapper}>`)
  const itemOpen = new Markup(`<${f.xml}>`)
  const itemClose = new Markup(`</${f.xml}>`)
  return (values, out) => {
    const v = values[f.index]
    // rows normalise lists, so only separators never get here; still, never write an empty wrapper
    if (v === '' || v.split('|').every((item) => item.trim() === '')) return
    out.raw(open)
    for (const item of v.split('|')) {
      const trimmed = item.trim()
      if (trimmed === '') continue
      out.raw(itemOpen)
      out.text(trimmed)
      out.raw(itemClose)
    }
    out.raw(close)
  }
}

function fieldsOf(e: ElementSpec): FieldSpec[] {
  return [...e.attributes, ...e.lists, ...e.children.flatMap(fieldsOf)]
}

/** A whole element; optional elements only when they carry a value; `<X …/>` when it has no content. */
function element(e: ElementSpec): Render {
  const attrs = attributes(e.attributes)
  const inner = [...e.children.map(element), ...e.lists.map(listElements)]
  const all = fieldsOf(e).map((f) => f.index)
  const open = new Markup(`<${e.name}`)
  const close = new Markup(`</${e.name}>`)
  return (values, out) => {
    if (e.optional && all.every((i) => values[i] === '')) return
    out.raw(open)
    attrs(values, out)
    out.raw(GT)
    const contentStart = out.length
    for (const render of inner) render(values, out)
    if (out.length === contentStart) {
      out.truncate(1)
      out.raw(SELF_CLOSE)
    } else out.raw(close)
  }
}

export interface FlussoWriter {
  /** `<?xml …?><Flusso …><IdentificazioneFlusso …>…` up to the first Beneficiario */
  open: (nome: string, ente: EnteIdentity) => string
  close: string
  /** `<Beneficiario …><Anagrafica …/><Indirizzo …/>` without its closing tag */
  groupOpen: Render
  groupClose: string
  /** one `<PrestazioniSociali …>…</PrestazioniSociali>` */
  record: Render
}

export function compileFlussoWriter(flow: FlowSpec): FlussoWriter {
  const open = (nome: string, ente: EnteIdentity): string =>
    `<?xml version="1.0" encoding="UTF-8"?>\n<Flusso xmlns="${NAMESPACE}"><IdentificazioneFlusso Nome="${escapeXml(nome)}">` +
    `<Ente Codice="${escapeXml(ente.codice)}"${ente.denominazione ? ` Denominazione="${escapeXml(ente.denominazione)}"` : ''}` +
    ` Indirizzo="${escapeXml(ente.belfiore)}" CFOperatore="${escapeXml(ente.cfOperatore)}"/></IdentificazioneFlusso>\n`
  if (!flow.record) {
    // one whole element per row (SINBA): nothing opens or closes around it
    return {open, close: '</Flusso>\n', groupOpen: () => {}, groupClose: '', record: element(flow.group)}
  }
  const groupAttrs = attributes(flow.group.attributes)
  const groupChildren = flow.group.children.map(element)
  const groupStart = new Markup(`<${flow.group.name}`)
  return {
    open,
    close: '</Flusso>\n',
    groupOpen: (values, out) => {
      out.raw(groupStart)
      groupAttrs(values, out)
      out.raw(GT)
      for (const render of groupChildren) render(values, out)
    },
    groupClose: `</${flow.group.name}>\n`,
    record: element(flow.record),
  }
}
