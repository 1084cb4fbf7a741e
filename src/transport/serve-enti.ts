import {readFileSync} from 'node:fs'

import {parse as parseYaml} from 'yaml'

import {UsageError} from '../errors/index.js'
import {say} from '../i18n/messages.js'

/**
 * `serve --enti FILE` (DESIGN §9): the enti one `serve` answers for, each its own e-service on PDND
 * with its own voucher expectations. JSON or YAML, a map from CodiceEnte to its expectations, bare
 * or under `enti:`:
 *
 *   enti:
 *     H501: {audience: https://roma.example.it/waas/v1, purposeId: …, eserviceId: …}
 *     F205: {audience: https://milano.example.it/waas/v1}
 */

export interface ServedEnte {
  /** CodiceEnte, upper case: the path segment and the ente of the flussi served there */
  codice: string
  /** expected `aud` of the vouchers for this ente's e-service (required) */
  audience: string
  purposeId?: string
  eserviceId?: string
}

const KEYS = ['audience', 'purposeId', 'eserviceId']
const EXAMPLE = 'enti:\n  H501: {audience: https://comune.example.it/waas/v1, purposeId: …, eserviceId: …}'

export function readServedEnti(path: string): ServedEnte[] {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch {
    throw new UsageError('SERVE_ENTI_UNREADABLE', say({it: `Il file degli enti ${path} non si può leggere.`, en: `The enti file ${path} cannot be read.`}), {
      suggestions: [say({it: 'casellario serve --enti enti.yaml (o CASELLARIO_SERVE_ENTI=enti.yaml)', en: 'casellario serve --enti enti.yaml (or CASELLARIO_SERVE_ENTI=enti.yaml)'})],
    })
  }
  let doc: unknown
  try {
    // YAML 1.2 reads JSON as well
    doc = parseYaml(text)
  } catch (error) {
    throw invalid(path, say({it: `non è JSON né YAML valido (${(error as Error).message.split('\n')[0]})`, en: `it is neither valid JSON nor YAML (${(error as Error).message.split('\n')[0]})`}))
  }
  const wrapped = isObject(doc) && Object.keys(doc).length === 1 && 'enti' in doc
  const map = wrapped ? (doc as Record<string, unknown>).enti : doc
  if (!isObject(map) || Object.keys(map).length === 0) {
    throw invalid(path, say({it: 'atteso un elenco di enti: codice ente → {audience, purposeId, eserviceId}', en: 'expected a map of enti: codice ente → {audience, purposeId, eserviceId}'}))
  }
  const enti: ServedEnte[] = []
  const seen = new Set<string>()
  for (const [code, spec] of Object.entries(map)) {
    const codice = code.trim().toUpperCase()
    // the code is a path segment and the prefix of every id_flusso: letters and digits, as ente.codice
    if (!/^[A-Z0-9]{1,20}$/.test(codice)) throw invalid(path, say({it: `"${code}" non è un codice ente (solo lettere e cifre, al più 20)`, en: `"${code}" is not an ente code (letters and digits only, at most 20)`}))
    if (seen.has(codice)) throw invalid(path, say({it: `l'ente ${codice} compare due volte`, en: `the ente ${codice} appears twice`}))
    seen.add(codice)
    if (!isObject(spec)) throw invalid(path, say({it: `per l'ente ${codice} serve un oggetto {audience, …}`, en: `the ente ${codice} needs an object {audience, …}`}))
    const unknown = Object.keys(spec).filter((k) => !KEYS.includes(k))
    if (unknown.length > 0) throw invalid(path, say({it: `chiavi sconosciute per l'ente ${codice}: ${unknown.join(', ')} (ammesse: ${KEYS.join(', ')})`, en: `unknown keys for the ente ${codice}: ${unknown.join(', ')} (allowed: ${KEYS.join(', ')})`}))
    for (const k of KEYS) {
      const v = spec[k]
      if (v !== undefined && (typeof v !== 'string' || v.trim() === '')) throw invalid(path, say({it: `${k} dell'ente ${codice} deve essere un testo non vuoto`, en: `${k} of the ente ${codice} must be a non-empty string`}))
    }
    if (spec.audience === undefined) throw invalid(path, say({it: `manca audience per l'ente ${codice} (l'aud dei voucher del suo e-service)`, en: `audience is missing for the ente ${codice} (the aud of its e-service's vouchers)`}))
    enti.push({
      codice,
      audience: (spec.audience as string).trim(),
      ...(spec.purposeId ? {purposeId: (spec.purposeId as string).trim()} : {}),
      ...(spec.eserviceId ? {eserviceId: (spec.eserviceId as string).trim()} : {}),
    })
  }
  return enti
}

function invalid(path: string, why: string): UsageError {
  return new UsageError('SERVE_ENTI_INVALID', say({it: `File degli enti ${path} non valido: ${why}.`, en: `Invalid enti file ${path}: ${why}.`}), {
    suggestions: [say({it: `Forma attesa (JSON o YAML):\n${EXAMPLE}`, en: `Expected shape (JSON or YAML):\n${EXAMPLE}`})],
  })
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}
