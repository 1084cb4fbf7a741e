import assert from 'node:assert/strict'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {run, tempDir, userEnv} from './support/cli.js'
import {psRows, writeCsv} from './support/ps-data.js'

/**
 * An operator who works in English (--lang en or LANG=en) reads every error in English: the
 * message and the sentences among the suggestions, with the same facts (file, value, flag) as
 * the Italian one; commands and paths in the suggestions stay as they are.
 */

const ITALIAN = /\b(il|la|le|non|del|della|dei|nel|nella|con|per|oppure|esiste|valido|valida|manca|mancano|serve|indica|usa|file da|chiave|profilo|segreti|cartella)\b/i

function failure(args: string[], env: Record<string, string>): {code: string; message: string; suggestions: string[]; exit: number} {
  const r = run([...args, '--json'], {env})
  const doc = r.json<{error: {code: string; message: string; suggestions: string[]}}>()
  return {...doc.error, exit: r.code}
}

describe('errors in English: the operator who works in English reads the fix in English', function () {
  this.timeout(300_000)

  const cases: Array<{name: string; args: (dir: string) => string[]; env?: Record<string, string>; code: string; en: RegExp; it: RegExp}> = [
    {name: 'a file to sign that does not exist', args: () => ['sign', 'flusso-che-non-ce.xml'], env: {CASELLARIO_P12: '/nonexistent/ente.p12'}, code: 'CERTIFICATE_NOT_FOUND', en: /^The certificate \/nonexistent\/ente\.p12 does not exist\.$/, it: /^Il certificato \/nonexistent\/ente\.p12 non esiste\.$/},
    {name: 'a signature file that does not exist', args: () => ['verify', 'firma.p7m'], code: 'VERIFY_INPUT_NOT_FOUND', en: /^The file firma\.p7m does not exist\.$/, it: /^Il file firma\.p7m non esiste\.$/},
    {name: 'a configuration value out of range', args: () => ['config', 'set', 'endpoint.retries', '0'], code: 'CONFIG_VALUE_INVALID', en: /^Invalid value for endpoint\.retries: a whole number from 1 to 99\.$/, it: /^Valore non valido per endpoint\.retries: un intero da 1 a 99\.$/},
    {name: 'an unknown configuration key', args: () => ['config', 'set', 'endpoint.ur', 'x'], code: 'CONFIG_UNKNOWN_KEY', en: /^Unknown configuration key: endpoint\.ur\.$/, it: /^Chiave di configurazione sconosciuta: endpoint\.ur\.$/},
    {name: 'a purge age without its unit', args: () => ['purge', '--older-than', '13'], code: 'PURGE_AGE_INVALID', en: /^Invalid age: "13"\. Use a number followed by d \(days\)/, it: /^Età non valida: "13"\. Usa un numero seguito da d \(giorni\)/},
    {name: 'an audit date in the Italian order', args: (dir) => ['audit', '--since', '01/02/2026', '--out', join(dir, 'audit.csv')], code: 'AUDIT_SINCE_INVALID', en: /^Invalid date: "01\/02\/2026" \(use YYYY-MM-DD\)\.$/, it: /^Data non valida: "01\/02\/2026" \(usa AAAA-MM-GG\)\.$/},
    {name: 'init without the ente', args: () => ['init', '--no-interactive'], env: {CASELLARIO_ENTE_CODICE: '', CASELLARIO_ENTE_BELFIORE: '', CASELLARIO_CF_OPERATORE: ''}, code: 'INIT_MISSING', en: /^Required details are missing: --ente-codice, --ente-belfiore, --cf-operatore\.$/, it: /^Mancano dati obbligatori: --ente-codice, --ente-belfiore, --cf-operatore\.$/},
    {name: 'an ente seated in a foreign state', args: () => ['init', '--no-interactive', '--ente-codice', 'H501', '--ente-belfiore', 'Z999', '--cf-operatore', 'PRTPRV80A01H501O'], code: 'INIT_VALUE_INVALID', en: /Z999 is not the code of an Italian comune\.$/, it: /Z999 non è il codice di un comune italiano\.$/},
    {name: 'a cancellation without criteria', args: () => ['cancel'], code: 'CANCEL_CRITERIA_REQUIRED', en: /^Say which prestazione to cancel\.$/, it: /^Indica quale prestazione cancellare\.$/},
    {name: 'a mapping template that does not exist', args: (dir) => ['validate', join(dir, 'export.csv'), '--template', 'modello-inesistente'], code: 'TEMPLATE_NOT_FOUND', en: /^Mapping template not found: modello-inesistente$/, it: /^Modello di mappatura non trovato: modello-inesistente$/},
    {name: 'a report for a submission the store does not have', args: (dir) => ['report', 'S-0000', '--rejected', join(dir, 'da-correggere.csv')], code: 'NOT_FOUND', en: /^No submission S-0000 in this store\.$/, it: /^Nessun invio S-0000 in questo store\.$/},
  ]

  // one user with a store (report, audit and purge read one): the first build creates it
  const dir = tempDir()
  before(() => {
    writeFileSync(join(dir, 'export.csv'), 'Cognome;Nome\r\nRossi;Maria\r\n')
    writeCsv(join(dir, 'prestazioni.csv'), [...psRows(3, 1)])
    const built = run(['build', join(dir, 'prestazioni.csv'), '--out', join(dir, 'flussi'), '--json'], {env: userEnv(dir)})
    assert.equal(built.code, 0, built.stdout + built.stderr)
  })

  for (const c of cases) {
    it(`${c.name}: ${c.code}, in English with --lang en and in Italian by default`, () => {
      const env = userEnv(dir, c.env)
      const en = failure([...c.args(dir), '--lang', 'en'], env)
      assert.equal(en.code, c.code, en.message)
      assert.equal(en.exit, 1)
      assert.match(en.message, c.en)
      assert.doesNotMatch(en.message.replace(/(Codice|Cognome|Nome|modello-inesistente|da-correggere|prestazione|flusso)\S*/g, ''), ITALIAN)
      for (const s of en.suggestions) assert.doesNotMatch(s.replace(/casellario .*|\/\S+|\S+\.\S+/g, ''), ITALIAN, s)

      const it = failure(c.args(dir), env)
      assert.equal(it.code, c.code)
      assert.match(it.message, c.it)
      assert.notEqual(it.message, en.message)
    })
  }

  it('LANG=en speaks English without the flag, as a shell set to English does', () => {
    const error = failure(['purge', '--older-than', 'ieri'], userEnv(dir, {LANG: 'en_GB.UTF-8'}))
    assert.equal(error.code, 'PURGE_AGE_INVALID')
    assert.match(error.message, /^Invalid age: "ieri"\./)
  })

  it('the tables summary a person reads is in English too', () => {
    const r = run(['tables', 'status', '--lang', 'en'], {env: userEnv(dir)})
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /^comuni\s+\d+ entries {2}built \d{4}-\d{2}-\d{2} \(\d+ days? ago\)/m)
    assert.doesNotMatch(r.stdout, /\b(voci|generata|giorni fa|dedotti|fonti pubbliche)\b/)
  })
})
