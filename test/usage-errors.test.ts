import assert from 'node:assert/strict'
import {existsSync, mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {run, tempDir, userEnv} from './support/cli.js'

const EXAMPLE = new URL('../templates/esempio-prestazioni.csv', import.meta.url).pathname

/** A typo is the user's to fix: exit 1, a code that says what, a sentence that says how — never INTERNAL, never new state. */
describe('usage errors: an operator mistypes a flag, a path, a store, a profile or a command', function () {
  this.timeout(60_000)
  const dir = tempDir()
  const env = userEnv(dir)
  const aFile = join(dir, 'a-file')
  const aFolder = join(dir, 'a-folder')
  writeFileSync(aFile, 'x')
  mkdirSync(aFolder)

  const refused = (args: string[], code: string, extra: Record<string, string> = {}): {message: string; suggestions: string[]} => {
    const r = run([...args, '--json'], {env: {...env, ...extra}})
    assert.equal(r.code, 1, `${args.join(' ')}: ${r.stdout}${r.stderr}`)
    const doc = r.json()
    assert.equal(doc.error.code, code, r.stdout)
    assert.match(doc.error.message, / /, 'a sentence, not a bare code')
    assert.doesNotMatch(doc.error.message, /Parsing --|See more help|E[A-Z]{3,}:/, 'no parser or errno jargon')
    return doc.error
  }

  it('a duration or a size that is not one → USAGE, with what was typed', () => {
    assert.match(refused(['submit', EXAMPLE, '--wait', 'abc'], 'USAGE').message, /--wait.*"abc"/)
    assert.match(refused(['build', EXAMPLE, '--out', join(dir, 'out'), '--max-size', '0'], 'USAGE').message, /--max-size.*16/)
  })

  it('an output path that cannot be written → OUTPUT_*, and no folder is created by a typo', () => {
    refused(['build', EXAMPLE, '--out', aFile], 'OUTPUT_NOT_DIRECTORY')
    refused(['validate', EXAMPLE, '--report', aFolder], 'OUTPUT_IS_DIRECTORY')
    refused(['validate', EXAMPLE, '--report', join(dir, 'nowhere', 'x.csv')], 'OUTPUT_FOLDER_MISSING')
    assert.equal(existsSync(join(dir, 'nowhere')), false)
  })

  it('a store that does not exist is an error for commands that only read it, and is not created', () => {
    const typo = join(dir, 'typo.db')
    refused(['status', '--store', typo], 'STORE_NOT_FOUND')
    refused(['status'], 'STORE_NOT_FOUND', {CASELLARIO_STORE: typo})
    assert.equal(existsSync(typo), false)
  })

  it('an unknown profile is named as such, with the command that creates it', () => {
    const error = refused(['status', '--profile', 'comune-tpyo'], 'PROFILE_NOT_FOUND')
    assert.ok(error.suggestions.some((s) => s.includes('casellario init --profile comune-tpyo')))
  })

  it('oclif’s own refusals are said in the user’s language', () => {
    assert.match(refused(['validate', EXAMPLE, '--bogus'], 'USAGE').message, /^Opzione sconosciuta: --bogus/)
    assert.match(refused(['validate'], 'USAGE').message, /^Manca l'argomento obbligatorio: file/)
    assert.match(refused(['validate', EXAMPLE, '--flow', 'xx'], 'USAGE').message, /valori possibili ps, sinba/)
    const en = run(['validate', EXAMPLE, '--bogus', '--lang', 'en'], {env})
    assert.equal(en.code, 1)
    assert.match(en.stderr, /^Error \[USAGE\]: Unknown flag: --bogus\.\n {2}Try this: /)
  })

  it('a mistyped command gets "did you mean", exit 1', () => {
    const r = run(['statsu'], {env})
    assert.equal(r.code, 1)
    assert.match(r.stderr, /"statsu" non è un comando di casellario/)
    assert.match(r.stderr, /Forse intendevi: casellario status/)
    assert.equal(refused(['config', 'lst'], 'COMMAND_NOT_FOUND').suggestions[0], 'Forse intendevi: casellario config list')
  })

  it('-h, -v, --version and version answer, exit 0', () => {
    for (const args of [['-h'], ['-v'], ['--version'], ['version'], ['status', '-h']]) assert.equal(run(args, {env}).code, 0, args.join(' '))
    assert.match(run(['version', '--json'], {env}).json().version, /^\d+\.\d+\.\d+/)
  })

  it('--quiet leaves stderr to errors', () => {
    const r = run(['config', 'get', 'store', '--quiet'], {env: {...env, CASELLARIO_STORE: join(dir, 's.db')}})
    assert.equal(r.code, 0)
    assert.equal(r.stdout.trim(), join(dir, 's.db'))
    assert.equal(r.stderr, '')
    assert.match(run(['config', 'get', 'store'], {env: {...env, CASELLARIO_STORE: join(dir, 's.db')}}).stderr, /fonte: variabile d'ambiente CASELLARIO_STORE/)
  })
})
