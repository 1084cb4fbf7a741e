import {romeCalendar} from '../clock/index.js'
import {UsageError, type Text} from '../errors/index.js'
import {analyzeCodiceFiscale} from '../flows/codice-fiscale.js'
import {ENTE_FIELDS, type EnteField, type EnteIdentity} from '../flows/ente.js'
import {comuneByBelfiore} from '../tables/index.js'
import {compileValueCheck} from './fields.js'

/** Why a value cannot stand in one of the Ente attributes (undefined when it can): used by build and by config/init. */
export function enteValueProblem(field: EnteField, value: string): Text | undefined {
  const problem = compileValueCheck(field, romeCalendar().year)(field.type.kind === 'text' && field !== ENTE_FIELDS.codice ? value : value.toUpperCase())
  if (problem) return {it: `${field.label.it}: valore non valido (${problem.code})`, en: `${field.label.en}: invalid value (${problem.code})`}
  // the code names every flusso (H501.PS.20261126.0000001): letters and digits only, as INPS's id_flusso pattern wants
  if (field === ENTE_FIELDS.codice && !/^[A-Za-z0-9]{1,20}$/.test(value.trim())) {
    return {it: `${field.label.it}: solo lettere e cifre, al più 20 (es. H501), non "${value}"`, en: `${field.label.en}: letters and digits only, at most 20 (e.g. H501), not "${value}"`}
  }
  // the seat of the ente is an Italian comune that exists (Z… codes are foreign states)
  if (field === ENTE_FIELDS.belfiore && !comuneByBelfiore(value.trim().toUpperCase())) {
    return {it: `${field.label.it}: ${value} non è il codice di un comune italiano`, en: `${field.label.en}: ${value} is not the code of an Italian comune`}
  }
  if (field.type.kind === 'codiceFiscale') {
    const cf = analyzeCodiceFiscale(value)
    if (cf.kind !== 'malformed' && !cf.valid) return {it: `${field.label.it}: carattere di controllo errato`, en: `${field.label.en}: wrong check character`}
  }
}

export function checkEnte(ente: Partial<EnteIdentity>): EnteIdentity {
  const problems: Text[] = []
  const missing: Text[] = []
  for (const [key, spec] of Object.entries(ENTE_FIELDS) as [keyof EnteIdentity, EnteField][]) {
    const value = ente[key]?.trim() ?? ''
    if (value === '') {
      if (spec.required) missing.push({it: `--${spec.flag} (o ${spec.env})`, en: `--${spec.flag} (or ${spec.env})`})
      continue
    }
    const problem = enteValueProblem(spec, value)
    if (problem) problems.push(problem)
  }
  if (missing.length > 0) {
    throw new UsageError('ENTE_NOT_CONFIGURED', {
      it: `Manca l'identità dell'ente: ${missing.map((m) => m.it).join(', ')}.`,
      en: `The ente's identity is missing: ${missing.map((m) => m.en).join(', ')}.`,
    }, {
      suggestions: [
        {it: 'Configura l\'ente con: casellario init', en: 'Set up the ente with: casellario init'},
        {
          it: 'Oppure, negli script: export CASELLARIO_ENTE_CODICE=… CASELLARIO_ENTE_BELFIORE=… CASELLARIO_CF_OPERATORE=…',
          en: 'Or, in scripts: export CASELLARIO_ENTE_CODICE=… CASELLARIO_ENTE_BELFIORE=… CASELLARIO_CF_OPERATORE=…',
        },
      ],
    })
  }
  if (problems.length > 0) {
    throw new UsageError('ENTE_INVALID', {
      it: `Identità dell'ente non valida: ${problems.map((p) => p.it).join('; ')}.`,
      en: `The ente's identity is not valid: ${problems.map((p) => p.en).join('; ')}.`,
    })
  }
  return {
    // as configured: the code is part of every identity already recorded (delta detection), so a
    // store's existing spelling is kept; the --ente filters and serve paths match it in any case
    codice: ente.codice!.trim(),
    denominazione: ente.denominazione?.trim() || undefined,
    belfiore: ente.belfiore!.trim().toUpperCase(),
    cfOperatore: ente.cfOperatore!.trim().toUpperCase(),
  }
}
