import assert from 'node:assert/strict'
import {readFileSync, readdirSync} from 'node:fs'
import {join} from 'node:path'

import {SHARED_FLAGS_EN} from '../src/cli/flags.js'
import {UsageError} from '../src/errors/index.js'
import {GENERIC_CODES} from '../src/flows/describe.js'
import {FLOWS} from '../src/flows/index.js'
import {message, setLang} from '../src/i18n/messages.js'
import {ROOT} from './support/cli.js'

/**
 * Every code the engine can put in a finding, from the rule tables and the model's generic codes,
 * and from the code itself (a rule may report a second code, as DATE_IN_FUTURE reports
 * DATE_BEFORE_BIRTH): each must read as a sentence in Italian and in English.
 */
function emittableCodes(): string[] {
  const codes = new Set<string>(Object.keys(GENERIC_CODES))
  for (const flow of Object.values(FLOWS)) for (const rule of flow.rules) codes.add(rule.code)
  for (const dir of ['src/flows', 'src/validate', 'src/input']) {
    for (const name of readdirSync(join(ROOT, dir)).filter((n) => n.endsWith('.ts'))) {
      for (const m of readFileSync(join(ROOT, dir, name), 'utf8').matchAll(/\bcode: '([A-Z][A-Z0-9_]+)'/g)) codes.add(m[1])
    }
  }
  return [...codes].sort()
}

describe('messages: every finding code is a sentence, in Italian and in English', () => {
  const codes = emittableCodes()

  it('finds the codes from the rule tables and the code (not a hand-kept list)', () => {
    assert.ok(codes.length >= 70, String(codes.length))
    for (const c of ['DISABILITY_TYPE_REQUIRED', 'DATE_BEFORE_BIRTH', 'CF_CHECK_CHARACTER', 'SPLIT_BY_YEAR']) assert.ok(codes.includes(c), c)
  })

  for (const lang of ['it', 'en'] as const) {
    it(`has a ${lang === 'it' ? 'Italian' : 'English'} sentence for each, never the bare code`, () => {
      setLang(lang)
      try {
        const bare = codes.filter((code) => {
          const text = message(code, {anno: '2010', valore: 'X1', column: 'Colonna', field: 'Campo', min: 1, max: 2, length: 3, format: 'XLSX', sheet: 'Foglio1', sheets: 'Foglio1'})
          return text === code || !text.includes(' ')
        })
        assert.deepEqual(bare, [])
      } finally {
        setLang('it')
      }
    })
  }

  it('says each in English differently from Italian (not an Italian fallback)', () => {
    const same = codes.filter((code) => {
      setLang('it')
      const it = message(code, {anno: '2010'})
      setLang('en')
      const en = message(code, {anno: '2010'})
      setLang('it')
      return it === en
    })
    assert.deepEqual(same, [])
  })
})

describe('--lang en: the frame around the findings is English too', function () {
  this.timeout(60_000)
  it('validate with errors and warnings prints no Italian frame word', async () => {
    const {run, tempDir, userEnv} = await import('./support/cli.js')
    const {psRows, writeCsv} = await import('./support/ps-data.js')
    const dir = tempDir()
    const file = join(dir, 'en.csv')
    const rows = [...psRows(9, 3)]
    rows[1] = {...rows[1], Cognome: ''}
    writeCsv(file, rows)
    const r = run(['validate', file, '--lang', 'en'], {env: userEnv(dir)})
    assert.equal(r.code, 2)
    assert.match(r.stdout, /^row 3, column "Cognome" \(B3\): ERROR REQUIRED — Required field is missing\./m)
    assert.match(r.stdout, /\n3 rows, 3 records: 2 valid, 1 record with errors \(1 error\), 0 warnings\.\n?$/)
    assert.doesNotMatch(r.stdout, /\b(riga|righe|colonna|ERRORE|avvis[oi]|errori|validi)\b/)
  })

  it('counts the records that stop apart from the errors they carry (one record, two errors)', async () => {
    const {run, tempDir, userEnv} = await import('./support/cli.js')
    const {psRows, writeCsv} = await import('./support/ps-data.js')
    const dir = tempDir()
    const file = join(dir, 'due-errori.csv')
    const rows = [...psRows(9, 3)]
    rows[1] = {...rows[1], Cognome: '', Nome: ''}
    writeCsv(file, rows)
    const r = run(['validate', file], {env: userEnv(dir)})
    assert.equal(r.code, 2)
    assert.match(r.stdout, /\n3 righe, 3 record: 2 validi, 1 record con errori \(2 errori\), 0 avvisi\.\n?$/)
  })
})

describe('hints in the user’s terms: a template’s formats and values, not the canonical ones', function () {
  this.timeout(60_000)
  it('under comune-excel-it, a bad date, amount and Sesso are explained with gg/mm/aaaa, 1.234,56 and M, F', async () => {
    const {readFileSync, writeFileSync} = await import('node:fs')
    const {run, tempDir, userEnv} = await import('./support/cli.js')
    const dir = tempDir()
    const lines = readFileSync(join(ROOT, 'templates', 'esempio-comune-excel-it.csv'), 'latin1').split('\r\n').filter((l) => l !== '')
    const header = lines[0].split(';')
    const cells = lines[1].split(';')
    cells[header.indexOf('Sesso')] = 'X'
    cells[header.indexOf('Data inizio')] = '31/02/2026'
    cells[header.indexOf('Importo mensile')] = '1,497.85'
    const file = join(dir, 'export.csv')
    writeFileSync(file, [lines[0], cells.join(';')].join('\r\n') + '\r\n', 'latin1')
    const findings = run(['validate', file, '--template', 'comune-excel-it', '--json'], {env: userEnv(dir)}).json().findings as {column: string; code: string; message: string}[]
    const on = (column: string): string => findings.find((f) => f.column === column)?.message ?? `(no finding on ${column})`
    assert.match(on('Sesso'), /valori possibili M, F/)
    assert.match(on('Data inizio'), /formato gg\/mm\/aaaa del tuo modello/)
    assert.match(on('Importo mensile'), /1\.234,56/)
  })
})

/**
 * Every error the code can throw (`new UsageError('CODE', …)` and its siblings, anywhere in the
 * engine and the commands) carries its message as `{it, en}`: found by reading the sources, so a
 * new throw without English fails here, not in front of an operator.
 */
function throwSites(): Array<{where: string; code: string; message: string}> {
  const sites: Array<{where: string; code: string; message: string}> = []
  const files = (dir: string): string[] =>
    readdirSync(join(ROOT, dir), {withFileTypes: true}).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []))
  for (const file of [...files('src'), ...files('commands')]) {
    const text = readFileSync(join(ROOT, file), 'utf8')
    for (const m of text.matchAll(/new (?:Usage|Data|Transport|External|Bug|Casellario)Error\(\s*/g)) {
      let i = m.index + m[0].length
      let depth = 0
      const start = i
      for (; i < text.length; i++) {
        const c = text[i]
        if ('([{'.includes(c)) depth++
        else if (')]}'.includes(c)) depth--
        else if (c === ',' && depth === 0) break
      }
      const code = text.slice(start, i).trim()
      sites.push({where: `${file}:${text.slice(0, m.index).split('\n').length}`, code, message: text.slice(i + 1).trimStart().slice(0, 60)})
    }
  }
  return sites
}

describe('errors: every thrown error speaks Italian and English', () => {
  it('finds the throw sites by reading the sources', () => {
    assert.ok(throwSites().length >= 100, String(throwSites().length))
  })

  it('gives each a message {it, en}, never an Italian-only string', () => {
    const italianOnly = throwSites().filter((s) => /^['"`]/.test(s.message))
    assert.deepEqual(italianOnly.map((s) => `${s.where} ${s.code}`), [])
  })

  it('gives a sentence (not a code) as message and a different English one', async () => {
    const error = new UsageError('X_CODE', {it: 'Il file non esiste.', en: 'The file does not exist.'}, {suggestions: [{it: 'Controlla il percorso.', en: 'Check the path.'}, 'ls -l']})
    for (const lang of ['it', 'en'] as const) {
      setLang(lang)
      assert.equal(error.localized, lang === 'it' ? 'Il file non esiste.' : 'The file does not exist.')
      assert.deepEqual(error.suggestions, [lang === 'it' ? 'Controlla il percorso.' : 'Check the path.', 'ls -l'])
    }
    setLang('it')
  })
})

describe('--help in English: every command, argument and flag has its English', () => {
  const manifest = JSON.parse(readFileSync(join(ROOT, 'oclif.manifest.json'), 'utf8')) as {
    commands: Record<string, {summary?: string; description?: string; args: Record<string, {description?: string; hidden?: boolean}>; flags: Record<string, {description?: string; hidden?: boolean}>; english?: {summary: string; description?: string; args?: Record<string, string>; flags?: Record<string, string>}}>
  }

  it('finds the English in the manifest, for each command', async () => {
    const missing: string[] = []
    for (const [id, command] of Object.entries(manifest.commands)) {
      const english = command.english
      if (!english?.summary) {
        missing.push(`${id}: summary`)
        continue
      }
      if (command.description && !english.description) missing.push(`${id}: description`)
      for (const name of Object.keys(command.args)) if (command.args[name].description && !english.args?.[name]) missing.push(`${id}: argument ${name}`)
      for (const [name, flag] of Object.entries(command.flags)) {
        if (flag.hidden || !flag.description || ['help', 'version'].includes(name)) continue
        if (!english.flags?.[name] && !SHARED_FLAGS_EN[name]) missing.push(`${id}: --${name}`)
      }
    }
    assert.deepEqual(missing, [])
  })

  it('casellario status --help --lang en reads English, and Italian headers without it', async function () {
    this.timeout(60_000)
    const {run, tempDir, userEnv} = await import('./support/cli.js')
    const home = tempDir()
    const en = run(['status', '--help', '--lang', 'en'], {env: userEnv(home)})
    assert.equal(en.code, 0)
    assert.match(en.stdout, /USAGE[\s\S]*FLAGS[\s\S]*The state of submissions and flussi/)
    assert.doesNotMatch(en.stdout, /\b(Lo stato|Solo gli invii|OPZIONI|predefinito)\b/)
    const it = run(['status', '--help'], {env: userEnv(home, {LANG: 'it_IT.UTF-8'})})
    assert.match(it.stdout, /USO[\s\S]*OPZIONI[\s\S]*Lo stato degli invii/)
    const root = run(['--help'], {env: userEnv(home, {LANG: 'en_US.UTF-8'})})
    assert.match(root.stdout, /COMMANDS[\s\S]*status\s+The state of submissions/)
  })
})

describe('the record model and the settings describe themselves in Italian and in English', function () {
  this.timeout(60_000)
  // words of an Italian description that no English one has (codice fiscale, comune, prestazione… stay as terms of art)
  const ITALIAN = /\b(della|delle|dello|degli|del|dell|di|nel|nella|con|sì|obbligatori[ao]|facoltativ[oa]|maggiore|separat[ie]|carico|mese|anno|nessuna|importo|quota|testo|cifre)\b/i

  it('gives every field of every flow, the ente fields and every config key an English description of its own', async () => {
    const {CONFIG_KEYS} = await import('../src/config/index.js')
    const {ENTE_FIELDS} = await import('../src/flows/ente.js')
    const texts = [
      ...Object.values(FLOWS).flatMap((flow) => flow.fields.map((f) => [`${flow.id}.${f.column}`, f.label] as const)),
      ...Object.values(ENTE_FIELDS).map((f) => [`ente.${f.column}`, f.label] as const),
      ...CONFIG_KEYS.map((k) => [`config ${k.key}`, k.description] as const),
    ]
    assert.ok(texts.length > 120, String(texts.length))
    const wrong = texts.filter(([, t]) => t.it.trim() === '' || t.en.trim() === '' || t.en === t.it || ITALIAN.test(t.en)).map(([name]) => name)
    assert.deepEqual(wrong, [])
  })

  it('template show ps --lang en prints English descriptions (text and --json); the Italian stays without --lang', async () => {
    const {run, tempDir, userEnv} = await import('./support/cli.js')
    const env = userEnv(tempDir(), {LANG: 'it_IT.UTF-8'})
    const en = run(['template', 'show', 'ps', '--lang', 'en'], {env})
    assert.equal(en.code, 0, en.stderr)
    assert.match(en.stdout, /^CodiceFiscale\s+required\s+codice fiscale\s+The beneficiary's codice fiscale/m)
    assert.match(en.stdout, /^DataInizioPrestazione\s+optional\s+date YYYY-MM-DD\s+Start date \(required for periodic prestazioni\)$/m)
    assert.doesNotMatch(en.stdout, ITALIAN)
    const json = run(['template', 'show', 'sinba', '--json', '--lang', 'en'], {env}).json() as {fields: {column: string; description: string}[]}
    assert.deepEqual(json.fields.filter((f) => ITALIAN.test(f.description)).map((f) => f.column), [])
    const it = run(['template', 'show', 'ps'], {env})
    assert.match(it.stdout, ITALIAN) // the telltale words do catch the Italian descriptions
    assert.match(it.stdout, /^DataInizioPrestazione\s+facoltativo\s+data AAAA-MM-GG\s+Data di inizio \(obbligatoria per le prestazioni periodiche\)$/m)
  })

  it('config list --json --lang en describes each key in English', async () => {
    const {run, tempDir, userEnv} = await import('./support/cli.js')
    const env = userEnv(tempDir(), {LANG: 'it_IT.UTF-8'})
    const en = run(['config', 'list', '--json', '--lang', 'en'], {env}).json() as {values: {key: string; description: string}[]}
    assert.equal(en.values.find((v) => v.key === 'store')?.description, 'Local store: SQLite file')
    assert.deepEqual(en.values.filter((v) => ITALIAN.test(v.description)).map((v) => v.key), [])
    const it = run(['config', 'list', '--json'], {env}).json() as {values: {key: string; description: string}[]}
    assert.equal(it.values.find((v) => v.key === 'store')?.description, 'Store locale: file SQLite')
  })
})
