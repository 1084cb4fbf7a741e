import type {ElementSpec, FieldSpec, FlowSpec} from '../flows/model.js'

/**
 * XML text for flussi, derived from the record model (DESIGN §6): namespace
 * http://inps.it/Casellario, UTF-8, attributes in model order, absent values omitted.
 * Rendering is plain string building: on the 1M-row path a DOM or a generic serializer costs
 * more than the whole validation.
 */

export const NAMESPACE = 'http://inps.it/Casellario'

const NEEDS_ESCAPE = /[&<>"\t\n\r]/
const ESCAPES: Record<string, string> = {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', '\t': '&#9;', '\n': '&#10;', '\r': '&#13;'}

/** Escapes an attribute value or text node (whitespace as character references, so it survives attribute normalisation). */
export function escapeXml(value: string): string {
  return NEEDS_ESCAPE.test(value) ? value.replace(/[&<>"\t\n\r]/g, (c) => ESCAPES[c]) : value
}

export interface EnteIdentity {
  codice: string
  denominazione?: string
  /** Belfiore code of the ente's comune (Ente/@Indirizzo) */
  belfiore: string
  cfOperatore: string
}

type Render = (values: readonly string[]) => string

function attributes(fields: FieldSpec[]): Render {
  const parts = fields.map((f) => [` ${f.xml}="`, f.index] as const)
  return (values) => {
    let s = ''
    for (const [prefix, index] of parts) {
      const v = values[index]
      if (v !== '') s += prefix + escapeXml(v) + '"'
    }
    return s
  }
}

function listElements(f: FieldSpec): Render {
  const open = `<${f.list!.wrapper}>`
  const close = `</${f.list!.wrapper}>`
  return (values) => {
    const v = values[f.index]
    if (v === '') return ''
    const items = v.split('|').map((s) => s.trim()).filter((s) => s !== '')
    return open + items.map((item) => `<${f.xml}>${escapeXml(item)}</${f.xml}>`).join('') + close
  }
}

function fieldsOf(e: ElementSpec): FieldSpec[] {
  return [...e.attributes, ...e.lists, ...e.children.flatMap(fieldsOf)]
}

/** A whole element (attributes, child elements, lists); optional elements only when they carry a value. */
function element(e: ElementSpec, extraContent?: Render): Render {
  const attrs = attributes(e.attributes)
  const inner = [...e.children.map((c) => element(c)), ...e.lists.map(listElements)]
  const all = fieldsOf(e).map((f) => f.index)
  const open = `<${e.name}`
  const close = `</${e.name}>`
  return (values) => {
    if (e.optional && all.every((i) => values[i] === '')) return ''
    let content = ''
    for (const render of inner) content += render(values)
    if (extraContent) content += extraContent(values)
    return content === '' ? `${open}${attrs(values)}/>` : `${open}${attrs(values)}>${content}${close}`
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
  const groupAttrs = attributes(flow.group.attributes)
  const groupChildren = flow.group.children.map((c) => element(c))
  return {
    open: (nome, ente) =>
      `<?xml version="1.0" encoding="UTF-8"?>\n<Flusso xmlns="${NAMESPACE}"><IdentificazioneFlusso Nome="${escapeXml(nome)}">` +
      `<Ente Codice="${escapeXml(ente.codice)}"${ente.denominazione ? ` Denominazione="${escapeXml(ente.denominazione)}"` : ''}` +
      ` Indirizzo="${escapeXml(ente.belfiore)}" CFOperatore="${escapeXml(ente.cfOperatore)}"/></IdentificazioneFlusso>\n`,
    close: '</Flusso>\n',
    groupOpen: (values) => {
      let s = `<${flow.group.name}${groupAttrs(values)}>`
      for (const render of groupChildren) s += render(values)
      return s
    },
    groupClose: `</${flow.group.name}>\n`,
    record: element(flow.record),
  }
}
