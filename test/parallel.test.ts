import assert from 'node:assert/strict'
import {appendFileSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {run, tempDir, userEnv, xmlFiles, withoutNome} from './support/cli.js'
import {CANONICAL_HEADERS, psRows, writeCsv, type PsRow} from './support/ps-data.js'

/**
 * Large CSV files are parsed by worker threads in chunks. Whatever the file holds, the result
 * must be exactly what reading it in one thread gives: same findings at the same rows, same flussi.
 */
describe('large files: worker threads give exactly the single-thread result', function () {
  this.timeout(300_000)
  const dir = tempDir()
  const sequential = userEnv(dir, {CASELLARIO_PARALLEL_MIN_BYTES: String(1 << 40)})
  const parallel = userEnv(dir, {CASELLARIO_PARALLEL_MIN_BYTES: '0'})

  /** ~3 MB: a dozen chunks, scattered beneficiaries, defects, quoted newlines and stray quotes. */
  function messyRows(): PsRow[] {
    const rows = [...psRows(99, 12_000, {scatter: true})]
    for (let i = 0; i < rows.length; i += 97) rows[i] = {...rows[i], DataInizioPrestazione: rows[i].DataInizioPrestazione ? '2026-02-31' : ''}
    for (let i = 5; i < rows.length; i += 131) rows[i] = {...rows[i], DenominazionePrestazione: 'Contributo "straordinario"\r\nper l\'affitto'}
    for (let i = 7; i < rows.length; i += 211) rows[i] = {...rows[i], Cognome: 'D"Angelo'}
    for (let i = 11; i < rows.length; i += 509) rows[i] = {...rows[i], CodiceComune: '058999'}
    return rows
  }

  function compare(file: string): void {
    const a = run(['validate', file, '--json'], {env: sequential})
    const b = run(['validate', file, '--json'], {env: parallel})
    assert.equal(b.code, a.code)
    assert.deepEqual(b.json(), a.json())
  }

  it('validates a messy file identically', () => {
    const file = join(dir, 'messy.csv')
    writeCsv(file, messyRows())
    compare(file)
    const doc = run(['validate', file, '--json'], {env: parallel}).json()
    assert.ok(doc.errors > 100 && doc.valid > 10_000, JSON.stringify({errors: doc.errors, valid: doc.valid}))
  })

  it('validates the messy file saved by Excel as Windows-1252 identically (accents, quoted line breaks across 64 KB pieces)', () => {
    const file = join(dir, 'messy-1252.csv')
    const rows = messyRows().map((r, i) => (i % 3 === 0 ? {...r, DenominazionePrestazione: `Attività n° ${i} - «sostegno»\nà domicilio`} : r))
    writeCsv(file, rows)
    writeFileSync(file, Buffer.from(readFileSync(file, 'utf8'), 'latin1'))
    compare(file)
    const doc = run(['validate', file, '--json'], {env: parallel}).json()
    assert.equal(doc.encoding, 'windows-1252')
    assert.ok(doc.errors > 100 && doc.valid > 10_000, JSON.stringify({errors: doc.errors, valid: doc.valid}))
  })

  it('reads on sequentially, with the same rows, after an unbalanced quote', () => {
    const file = join(dir, 'unbalanced.csv')
    const rows = messyRows()
    writeCsv(file, rows.slice(0, 6000))
    appendFileSync(file, `${CANONICAL_HEADERS.map((h, i) => (i === 1 ? '"Rossi' : (rows[0][h] ?? ''))).join(',')}\n`)
    // no quote after the stray one: it never closes, and the chunker must hand over to the sequential reader
    const noQuotes = [...psRows(5, 4000)].filter((r) => !Object.values(r).some((v) => v.includes('"')))
    writeCsv(join(dir, 'rest.csv'), noQuotes)
    appendFileSync(file, readFileSync(join(dir, 'rest.csv'), 'utf8').split('\n').slice(1).join('\n'))
    compare(file)
    const findings = run(['validate', file, '--json'], {env: parallel}).json().findings
    assert.ok(findings.some((f: {code: string; row: number}) => f.code === 'UNTERMINATED_QUOTE' && f.row === 6002))
  })

  it('builds byte-identical flussi (scattered beneficiaries: the restart through the spool)', () => {
    const file = join(dir, 'messy.csv')
    const outA = join(dir, 'seq')
    const outB = join(dir, 'par')
    const a = run(['build', file, '--out', outA, '--json'], {env: sequential})
    const b = run(['build', file, '--out', outB, '--json'], {env: parallel})
    assert.equal(b.code, a.code)
    assert.deepEqual(b.json().findings, a.json().findings)
    assert.deepEqual(xmlFiles(outB).map(withoutNome), xmlFiles(outA).map(withoutNome))
  })

  it('builds contiguous exports directly, byte-identical too', () => {
    const file = join(dir, 'contiguous.csv')
    writeCsv(file, psRows(7, 12_000))
    const outA = join(dir, 'seq-c')
    const outB = join(dir, 'par-c')
    assert.equal(run(['build', file, '--out', outA], {env: sequential}).code, 0)
    assert.equal(run(['build', file, '--out', outB], {env: parallel}).code, 0)
    assert.deepEqual(xmlFiles(outB).map(withoutNome), xmlFiles(outA).map(withoutNome))
  })
  after(() => rmSync(dir, {recursive: true, force: true}))
})
