import {existsSync} from 'node:fs'
import {join, resolve} from 'node:path'

import {say} from '../i18n/messages.js'
import {looksLikePkcs12} from '../sign/pkcs12.js'
import {UsageError, type Text} from '../errors/index.js'
import {configKey, readConfigFile, writeConfigFile} from '../config/index.js'
import type {Prompter} from '../runtime/prompter.js'

/**
 * First-run setup (`casellario init`): the ente's identity, its certificate, the transport.
 * Values come from flags; on a terminal, what is missing is asked (with the same checks as
 * `config set`); without one, nothing is asked and the missing flags are named.
 */

/** What init asks, in order, with the flag that answers it. */
export const INIT_QUESTIONS = [
  {key: 'ente.codice', flag: 'ente-codice', required: true, message: {it: "Codice dell'ente (come lo conosce INPS)", en: "The ente's code (as INPS knows it)"}},
  {key: 'ente.belfiore', flag: 'ente-belfiore', required: true, message: {it: "Codice Belfiore del comune sede dell'ente (es. H501)", en: "Belfiore code of the comune where the ente has its seat (e.g. H501)"}},
  {key: 'ente.denominazione', flag: 'ente-denominazione', required: false, message: {it: "Denominazione dell'ente", en: "The ente's name"}},
  {key: 'ente.cfOperatore', flag: 'cf-operatore', required: true, message: {it: "Codice fiscale dell'operatore che invia", en: 'Codice fiscale of the operator who sends'}},
  {key: 'sign.certificate', flag: 'certificate', required: false, message: {it: "Certificato di firma dell'ente (.p12/.pfx), vuoto per ora nessuno", en: "The ente's signing certificate (.p12/.pfx), empty for none yet"}},
  {key: 'transport', flag: 'transport', required: false, message: {it: 'Trasporto', en: 'Transport'}, choices: ['waas', 'push', 'file']},
  {key: 'endpoint.url', flag: 'endpoint', required: false, message: {it: 'URL del trasporto push (o sandbox), vuoto se non serve', en: 'URL of the push transport (or sandbox), empty if not needed'}},
] as const satisfies ReadonlyArray<{key: string; flag: string; required: boolean; message: Text; choices?: readonly string[]}>

export interface InitResult {
  file: string
  values: Record<string, string>
  asked: string[]
}

function checkValue(key: string, value: string): true | Text {
  if (value.trim() === '') return true
  if (key === 'sign.certificate') {
    if (!existsSync(value.trim())) return {it: `Il certificato ${value.trim()} non esiste`, en: `The certificate ${value.trim()} does not exist`}
    // the passphrase is checked when it is given (login, or CASELLARIO_P12_PASSPHRASE at the first signature)
    return looksLikePkcs12(value.trim())
      ? true
      : {
          it: `${value.trim()} non è un certificato PKCS#12 (.p12/.pfx): esporta di nuovo il certificato con la chiave privata`,
          en: `${value.trim()} is not a PKCS#12 certificate (.p12/.pfx): export the certificate again with its private key`,
        }
  }
  return configKey(key).validate?.(value.trim()) ?? true
}

export async function runInit(opts: {
  file: string
  flags: Record<string, string | undefined>
  /** undefined: never prompt */
  prompter?: Prompter
  /** values fixed by --sandbox, over what was asked */
  overrides?: Record<string, string>
}): Promise<InitResult> {
  const existing = readConfigFile(opts.file)
  const values: Record<string, string> = {...existing}
  const asked: string[] = []
  const missing: string[] = []
  for (const q of INIT_QUESTIONS) {
    let value = opts.overrides?.[q.key] ?? opts.flags[q.flag]
    if (value === undefined && opts.prompter && !(q.key in (opts.overrides ?? {}))) {
      asked.push(q.key)
      value =
        'choices' in q
          ? await opts.prompter.select({message: say(q.message), choices: q.choices, default: existing[q.key] ?? 'waas'})
          : await opts.prompter.input({message: say(q.message), default: existing[q.key], validate: (v) => promptAnswer(q.required && v.trim() === '' ? {it: 'campo obbligatorio', en: 'required field'} : checkValue(q.key, v))})
    }
    value = value?.trim() ?? existing[q.key]
    if (value === undefined || value === '') {
      if (q.required) missing.push(`--${q.flag}`)
      continue
    }
    // overrides are ours (the sandbox certificate is created once the answers are accepted)
    const ok = opts.overrides?.[q.key] !== undefined ? true : checkValue(q.key, value)
    // the problem already names the field ("Codice dell'ente: solo lettere e cifre…"): said once, with the flag to fix
    if (ok !== true) throw new UsageError('INIT_VALUE_INVALID', {it: `${ok.it}.`, en: `${ok.en}.`}, {suggestions: [`casellario init --${q.flag} …`]})
    values[q.key] = q.key === 'ente.codice' || q.key === 'ente.belfiore' || q.key === 'ente.cfOperatore' ? value.toUpperCase() : q.key === 'sign.certificate' ? resolve(value) : value
  }
  if (missing.length > 0) {
    throw new UsageError('INIT_MISSING', {it: `Mancano dati obbligatori: ${missing.join(', ')}.`, en: `Required details are missing: ${missing.join(', ')}.`}, {
      suggestions: [
        `casellario init ${missing.map((f) => `${f} …`).join(' ')} --no-interactive`,
        {it: 'Oppure esegui casellario init da un terminale per rispondere alle domande.', en: 'Or run casellario init from a terminal to answer the questions.'},
      ],
    })
  }
  writeConfigFile(opts.file, values)
  return {file: opts.file, values, asked}
}

/** A prompt's validate answer: true, or the reason in the user's language. */
function promptAnswer(result: true | Text): true | string {
  return result === true ? true : say(result)
}

export function sandboxCertificatePath(configDir: string, profile: string): string {
  return join(configDir, 'sandbox', `${profile}-ente-sandbox.p12`)
}
