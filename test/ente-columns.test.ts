import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {basename, join} from 'node:path'
import {pathToFileURL} from 'node:url'

import {ROOT, run, tempDir, userEnv} from './support/cli.js'
import {CANONICAL_HEADERS, psRows, writeCsv, type PsRow} from './support/ps-data.js'

/**
 * One export for a whole Ambito (DESIGN §9): each row may name its ente in the optional canonical
 * columns Ente_Codice, Ente_Belfiore, Ente_Denominazione. The row's ente overrides flags, env and
 * config; a malformed or unknown one is an error at that row, a lower-case code is the same ente.
 */
describe('the row’s ente: Ente_Codice, Ente_Belfiore, Ente_Denominazione', function () {
  this.timeout(120_000)
  const dir = tempDir()
  const env = userEnv(dir)

  /** rows 2.. of an Ambito's export: the ente columns as an operator fills them, mistakes included */
  const ENTE_CELLS: Array<[string, string, string]> = [
    ['h501', 'h501', ''], // row 2: lower case, the same ente as H501
    ['F205', 'F205', 'Comune di Milano'], // row 3
    ['AMBITO7', 'L219', 'Ambito territoriale 7'], // row 4: an Ambito with its seat in Torino
    ['', '', ''], // row 5: no ente: the configured one
    ['H-501', 'H501', ''], // row 6: not a code
    ['X1', 'Z100', ''], // row 7: a foreign state, not a comune
    ['X2', 'H5O1', ''], // row 8: not a Belfiore code at all
    ['X3', 'M999', ''], // row 9: well formed, but no such comune
    ['X4', '', ''], // row 10: code without seat
    ['', 'H501', 'Comune di Roma'], // row 11: seat without code
  ]
  const rows = (): PsRow[] =>
    [...psRows(41, ENTE_CELLS.length)].map((r, i) => ({...r, Ente_Codice: ENTE_CELLS[i][0], Ente_Belfiore: ENTE_CELLS[i][1], Ente_Denominazione: ENTE_CELLS[i][2]}))

  it('validate reports each malformed, unknown or incomplete ente at its row and column, and keeps the good rows', () => {
    const file = join(dir, 'ambito.csv')
    writeCsv(file, rows())
    const r = run(['validate', file, '--json'], {env})
    assert.equal(r.code, 2, r.stdout)
    const doc = r.json()
    const found = doc.findings.map((f: {row: number; field: string; code: string; severity: string}) => [f.row, f.field, f.code, f.severity])
    assert.deepEqual(found, [
      [6, 'Ente_Codice', 'ENTE_CODE_INVALID', 'error'],
      [7, 'Ente_Belfiore', 'ENTE_BELFIORE_UNKNOWN', 'error'],
      [8, 'Ente_Belfiore', 'BELFIORE_MALFORMED', 'error'],
      [9, 'Ente_Belfiore', 'ENTE_BELFIORE_UNKNOWN', 'error'],
      [10, 'Ente_Belfiore', 'ENTE_ROW_INCOMPLETE', 'error'],
      [11, 'Ente_Codice', 'ENTE_ROW_INCOMPLETE', 'error'],
    ])
    assert.equal(doc.valid, 4)
    assert.match(doc.findings[0].message, /solo lettere e cifre/)
    assert.match(doc.findings[1].message, /Z100 non è il codice Belfiore di un comune italiano/)
    const en = run(['validate', file, '--json', '--lang', 'en'], {env}).json()
    assert.match(en.findings[4].message, /both Ente_Codice and Ente_Belfiore/)
  })

  for (const mode of ['sequential', 'worker threads'] as const) {
    it(`puts the row's ente on the valid record, completed from the run's ente (${mode})`, async () => {
      const file = join(dir, `records-${mode === 'sequential' ? 'seq' : 'par'}.csv`)
      // enough rows for several chunks when read by worker threads
      const many = [...psRows(42, 3000)].map((r, i) => {
        const [codice, belfiore, denominazione] = ENTE_CELLS[i % 4]
        return {...r, Ente_Codice: codice, Ente_Belfiore: belfiore, Ente_Denominazione: denominazione}
      })
      writeCsv(file, many)
      const enti = await validRecordsEnti(file, mode === 'worker threads')
      assert.ok(enti.length >= 3000, String(enti.length))
      const byRow = new Map(enti.map((e) => [e.row, e.ente]))
      const configured = {codice: 'H501', belfiore: 'H501', denominazione: 'Comune di Roma Capitale', cfOperatore: 'PRTPRV80A01H501O'}
      // h501: upper case, and the configured denominazione for the configured code
      assert.deepEqual(byRow.get(2), configured)
      assert.deepEqual(byRow.get(3), {codice: 'F205', belfiore: 'F205', denominazione: 'Comune di Milano', cfOperatore: 'PRTPRV80A01H501O'})
      assert.deepEqual(byRow.get(4), {codice: 'AMBITO7', belfiore: 'L219', denominazione: 'Ambito territoriale 7', cfOperatore: 'PRTPRV80A01H501O'})
      assert.equal(byRow.get(5), undefined, 'a row naming no ente takes the run’s')
      assert.deepEqual(byRow.get(2998), byRow.get(2))
      assert.deepEqual(byRow.get(3001), byRow.get(5))
    })
  }

  it('a template maps an export’s own ente columns, and a constant names one ente for a whole file', async () => {
    const file = join(dir, 'export.csv')
    const own = CANONICAL_HEADERS.filter((h) => !h.startsWith('Ente_'))
    writeCsv(
      file,
      [...psRows(43, 3)].map((r, i) => ({...r, 'Codice ente': ['f205', 'F205', ''][i], 'Cod. catastale sede': ['F205', 'F205', ''][i]})),
      {headers: [...own, 'Codice ente', 'Cod. catastale sede']},
    )
    const columns = Object.fromEntries(own.map((h) => [h, h]))
    const mapped = await validRecordsEnti(file, false, {flow: 'ps', columns: {...columns, Ente_Codice: 'Codice ente', Ente_Belfiore: 'Cod. catastale sede'}})
    assert.deepEqual(mapped.map((e) => e.ente?.codice), ['F205', 'F205', undefined])
    const constant = await validRecordsEnti(file, false, {flow: 'ps', columns: {...columns, Ente_Codice: {value: 'AMBITO7'}, Ente_Belfiore: {value: 'L219'}}})
    assert.deepEqual(constant.map((e) => e.ente?.codice), ['AMBITO7', 'AMBITO7', 'AMBITO7'])
  })

  it('a canonical export written before the ente columns existed reads as before; columns after it are not the ente', async () => {
    const own = CANONICAL_HEADERS.filter((h) => !h.startsWith('Ente_'))
    const old = join(dir, 'prima.csv')
    writeCsv(old, psRows(44, 20), {headers: own})
    assert.deepEqual(run(['validate', old, '--json'], {env}).json().findings, [])
    // three more columns of the export's own, where the ente columns would be: ignored, never an ente
    const extra = join(dir, 'con-note.csv')
    writeCsv(extra, [...psRows(44, 20)].map((r) => ({...r, Note: 'h501', Sede: 'H501', Ufficio: 'Servizi sociali'})), {headers: [...own, 'Note', 'Sede', 'Ufficio']})
    assert.deepEqual(run(['validate', extra, '--json'], {env}).json().findings, [])
    assert.ok((await validRecordsEnti(extra, false)).every((e) => e.ente === undefined))
  })

  it('build of an Ambito export writes each ente its own flussi, named by its code and carrying its Belfiore', () => {
    const file = join(dir, 'ambito-build.csv')
    const cells: Array<[string, string, string]> = [['F205', 'F205', 'Comune di Milano'], ['', '', ''], ['f205', 'F205', ''], ['AMBITO7', 'L219', 'Ambito 7']]
    writeCsv(file, [...psRows(43, 8)].map((r, i) => ({...r, Ente_Codice: cells[i % 4][0], Ente_Belfiore: cells[i % 4][1], Ente_Denominazione: cells[i % 4][2]})))
    const out = join(dir, 'ambito-flussi')
    const r = run(['build', file, '--out', out, '--json'], {env})
    assert.equal(r.code, 0, r.stderr)
    const flussi: Array<{file: string; prestazioni: number}> = r.json().flussi
    const byEnte = new Map<string, number>()
    for (const f of flussi) {
      const ente = basename(f.file).split('.')[0]
      byEnte.set(ente, (byEnte.get(ente) ?? 0) + f.prestazioni)
      const xml = readFileSync(f.file, 'utf8')
      assert.match(xml, new RegExp(`<Ente [^>]*Codice="${ente}"`), `${f.file} names its ente`)
      if (ente === 'AMBITO7') assert.match(xml, /Indirizzo="L219"/)
    }
    assert.deepEqual(Object.fromEntries([...byEnte].sort()), {AMBITO7: 2, F205: 4, H501: 2})
  })

  it('submit with a signed file refuses rows of another ente before recording anything; with WaaS each ente gets its own submission', () => {
    const file = join(dir, 'ambito-submit.csv')
    writeCsv(file, [...psRows(44, 4)].map((r, i) => ({...r, Ente_Codice: i === 2 ? 'F205' : '', Ente_Belfiore: i === 2 ? 'F205' : '', Ente_Denominazione: ''})))
    const home = tempDir()
    // a signed file carries one ente's signature: not another ente's rows
    const r = run(['submit', file, '--transport', 'file', '--out', join(home, 'out'), '--json'], {env: userEnv(home)})
    assert.equal(r.code, 1, r.stdout)
    assert.equal(r.json().error.code, 'SUBMIT_OTHER_ENTE')
    assert.match(r.json().error.message, /altri enti \(F205\)/)
    assert.match(r.json().error.suggestions.join(' '), /--transport waas/)
    const status = run(['status', '--json'], {env: userEnv(home)})
    assert.deepEqual(status.json().submissions ?? [], [])
    // WaaS: INPS pulls each ente's flussi on its own path, so one run records a submission per ente
    const ok = run(['submit', file, '--transport', 'waas', '--json'], {env: userEnv(home)})
    assert.equal(ok.code, 0, ok.stdout)
    const doc = ok.json()
    assert.deepEqual([doc.ente, doc.rows, doc.valid, doc.flussi], ['H501', 3, 3, 3])
    assert.deepEqual(doc.other_enti.map((o: {ente: string; rows: number; flussi: number}) => [o.ente, o.rows, o.flussi]), [['F205', 1, 1]])
    const milano = run(['status', '--ente', 'F205', '--json'], {env: userEnv(home)}).json()
    assert.deepEqual(milano.submissions.map((s: {submission: string; flussi: number}) => [s.submission, s.flussi]), [[doc.other_enti[0].submission, 1]])
  })

  it('an ente the store already knows in lower case keeps that spelling when an Ambito export names it in upper case', () => {
    const home = tempDir()
    const own = join(dir, 'f205-own.csv')
    const rows = [...psRows(45, 2)]
    writeCsv(own, rows)
    assert.equal(run(['submit', own, '--transport', 'waas', '--ente-codice', 'f205', '--ente-belfiore', 'F205', '--json'], {env: userEnv(home)}).code, 0)
    // the same two prestazioni in the Ambito's export, naming F205, beside one row of the run's ente
    const ambito = join(dir, 'ambito-f205.csv')
    writeCsv(ambito, [...rows.map((r) => ({...r, Ente_Codice: 'F205', Ente_Belfiore: 'F205', Ente_Denominazione: ''})), {...[...psRows(46, 1)][0], Ente_Codice: '', Ente_Belfiore: '', Ente_Denominazione: ''}])
    const r = run(['submit', ambito, '--transport', 'waas', '--json'], {env: userEnv(home)})
    assert.equal(r.code, 0, r.stdout)
    // the same ente, the same prestazioni: nothing to send again, and no second spelling in the store
    assert.deepEqual(r.json().other_enti.map((o: {ente: string; flussi: number}) => [o.ente, o.flussi]), [['f205', 0]])
    assert.equal(r.json().plan.unchanged, 2)
    assert.deepEqual([...new Set(run(['status', '--json'], {env: userEnv(home)}).json().submissions.map((s: {ente: string}) => s.ente))].sort(), ['H501', 'f205'])
  })

  it('the canonical template lists the ente columns last, as optional', () => {
    const r = run(['template', 'show', 'ps', '--json'], {env})
    const fields = r.json().fields as Array<{column: string; required: boolean}>
    assert.deepEqual(fields.slice(-3).map((f) => [f.column, f.required]), [['Ente_Codice', false], ['Ente_Belfiore', false], ['Ente_Denominazione', false]])
  })
})

/**
 * The `ente` of each valid record, read through the built engine (dist/): with worker threads when
 * `parallel`, so the ente crosses the thread boundary as the build of a large export needs it to.
 */
async function validRecordsEnti(file: string, parallel: boolean, template?: unknown): Promise<Array<{row: number; ente?: Record<string, unknown>}>> {
  process.env.CASELLARIO_PARALLEL_MIN_BYTES = parallel ? '0' : String(1 << 40)
  const url = `${pathToFileURL(join(ROOT, 'dist', 'src', 'pipeline', 'read.js')).href}?${parallel ? 'parallel' : 'sequential'}`
  const {validateFile} = (await import(url)) as typeof import('../src/pipeline/read.js')
  const {flowById} = (await import(pathToFileURL(join(ROOT, 'dist', 'src', 'flows', 'index.js')).href)) as typeof import('../src/flows/index.js')
  const out: Array<{row: number; ente?: Record<string, unknown>}> = []
  await validateFile(file, {
    flow: flowById('ps'),
    template: template as never,
    ente: {codice: 'H501', belfiore: 'H501', denominazione: 'Comune di Roma Capitale', cfOperatore: 'PRTPRV80A01H501O'},
    onFinding: () => {},
    onRecord: (r) => void out.push({row: r.row, ...(r.ente ? {ente: {...r.ente}} : {})}),
  })
  delete process.env.CASELLARIO_PARALLEL_MIN_BYTES
  return out
}
