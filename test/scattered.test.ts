import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'

import {readFlussoRows, run, tempDir, userEnv, xmlFiles, xmllint} from './support/cli.js'
import {prestazioneRow, psRows, writeCsv, type PsRow} from './support/ps-data.js'
import {mulberry32} from './support/synthetic.js'

/**
 * Real exports list rows by date or protocol: one person's rows lie far apart. `build` reads such
 * a file once, in its order (DESIGN §6): inside one upload file a codice fiscale is one
 * Beneficiario; a person coming back after their file was closed appears again in a later file.
 */
describe('build: a date-ordered export (a person’s rows scattered through the file)', function () {
  this.timeout(300_000)
  const dir = tempDir()
  const rows = [...psRows(23, 3000, {scatter: true})]
  const first = rows[0]
  // the first person comes back at the very end: once with the same data, once with another surname
  const rng = mulberry32(7)
  const back = {...first, ...prestazioneRow(rng, 90_001)}
  const conflicting = {...first, ...prestazioneRow(rng, 90_002), Cognome: `${first.Cognome}X`}
  const all: PsRow[] = [...rows, back, conflicting]
  const csv = join(dir, 'by-date.csv')
  writeCsv(csv, all)
  const conflictRow = all.length + 1 // the header is row 1

  for (const mode of [
    {name: 'read in this thread', env: {}},
    {name: 'read by worker threads in chunks', env: {CASELLARIO_PARALLEL_MIN_BYTES: '1'}},
  ]) {
    describe(mode.name, () => {
      const out = join(dir, mode.name.replaceAll(' ', '-'))
      let doc: {findings: Array<{row: number; code: string; field: string; message: string}>; valid: number; errors: number; flussi: Array<{file: string}>}
      let code = -1

      before(() => {
        // small files (16 KB): many of them, so most people are in several
        const r = run(['build', csv, '--out', out, '--max-size', '16', '--json'], {env: userEnv(join(dir, `home-${mode.name.length}`), mode.env)})
        code = r.code
        doc = r.json()
      })

      it('reports the different surname at the later row, naming the first, and exits 2', () => {
        assert.equal(code, 2)
        assert.deepEqual(
          doc.findings.map((f) => [f.row, f.code, f.field]),
          [[conflictRow, 'BENEFICIARY_INCONSISTENT', 'Cognome']],
        )
        assert.match(doc.findings[0].message, /\b2\b/)
        assert.equal(doc.valid, all.length - 1)
      })

      it('puts every valid prestazione in exactly one file, each file valid against the XSD', () => {
        const files = xmlFiles(out)
        assert.ok(files.length > 20, String(files.length))
        const lint = xmllint(files)
        assert.ok(lint.ok, lint.output)
        const seen = new Map<string, number>()
        for (const file of files) for (const r of readFlussoRows(file)) seen.set(r.ProtocolloDomanda, (seen.get(r.ProtocolloDomanda) ?? 0) + 1)
        const expected = all.slice(0, -1).map((r) => r.ProtocolloDomanda)
        assert.equal(seen.size, expected.length)
        for (const p of expected) assert.equal(seen.get(p), 1, p)
      })

      it('never splits a codice fiscale inside one file; a person coming back after their file closed is in a later one', () => {
        const filesOf = new Map<string, number[]>()
        xmlFiles(out).forEach((file, i) => {
          const beneficiari = [...readFileSync(file, 'utf8').matchAll(/<Beneficiario CodiceFiscale="([^"]+)"/g)].map((m) => m[1])
          assert.equal(new Set(beneficiari).size, beneficiari.length, `a codice fiscale twice in ${file}`)
          for (const cf of beneficiari) (filesOf.get(cf) ?? filesOf.set(cf, []).get(cf)!).push(i)
        })
        assert.ok(filesOf.get(first.CodiceFiscale)!.length >= 2, String(filesOf.get(first.CodiceFiscale)))
        // rows are not held back to the end: people with rows far apart are in several files
        assert.ok([...filesOf.values()].filter((f) => f.length > 1).length > 100)
      })
    })
  }
})
