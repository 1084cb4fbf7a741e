import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'

import {run, tempDir, userEnv, xmlFiles, xmllint} from './support/cli.js'
import {psRows, RESIDENZE, writeCsv, type PsRow} from './support/ps-data.js'

/**
 * A person who moved during the year has rows with different addresses. The XSD allows up to five
 * Indirizzo per Beneficiario: they are all sent, instead of refusing the later rows.
 */

const address = (i: number): Partial<PsRow> => ({CodiceRegione: RESIDENZE[i].regione, CodiceComune: RESIDENZE[i].istat, CodiceNazione: '380'})

describe('several addresses of one beneficiary', function () {
  this.timeout(120_000)
  const dir = tempDir()
  const env = userEnv(join(dir, 'user'))
  const [first, ...others] = [...psRows(211, 12)]
  const person = (i: number, at: number): PsRow => ({...first, ...address(at), ProtocolloDomanda: `TRASLOCO/${i}`})

  /** the Indirizzo elements of the first Beneficiario with this codice fiscale in the flussi of `out` */
  const addressesIn = (out: string): string[] => {
    const xml = xmlFiles(out).map((f) => readFileSync(f, 'utf8')).join('')
    const at = xml.indexOf(`<Beneficiario CodiceFiscale="${first.CodiceFiscale}"`)
    const end = xml.indexOf('<PrestazioniSociali', at)
    return [...xml.slice(at, end).matchAll(/<Indirizzo [^>]*\/>/g)].map((m) => m[0])
  }

  for (const order of ['together', 'scattered'] as const) {
    it(`rows with two addresses give one Beneficiario with two Indirizzo, valid against the XSD (rows ${order})`, () => {
      const mine = [person(1, 0), person(2, 1), person(3, 0)]
      const rows = order === 'together' ? [...mine, ...others] : [mine[0], ...others.slice(0, 5), mine[1], ...others.slice(5), mine[2]]
      const file = join(dir, `trasloco-${order}.csv`)
      writeCsv(file, rows)
      const out = join(dir, `flussi-${order}`)
      const r = run(['build', file, '--out', out, '--json'], {env})
      assert.equal(r.code, 0, r.stdout.slice(0, 2000) + r.stderr)
      const doc = r.json()
      assert.equal(doc.errors, 0)
      const lint = xmllint(xmlFiles(out))
      assert.ok(lint.ok, lint.output)
      const found = addressesIn(out)
      assert.equal(found.length, 2, found.join('\n'))
      assert.match(found[0], new RegExp(`CodiceComune="${RESIDENZE[0].istat}"`))
      assert.match(found[1], new RegExp(`CodiceComune="${RESIDENZE[1].istat}"`))
    })
  }

  it('in cooperazione each flusso carries its own row’s address', () => {
    const file = join(dir, 'trasloco-coop.csv')
    writeCsv(file, [person(1, 0), person(2, 1)])
    const out = join(dir, 'coop')
    assert.equal(run(['build', file, '--out', out, '--packaging', 'cooperazione', '--json'], {env}).code, 0)
    const files = xmlFiles(out)
    assert.equal(files.length, 2)
    assert.match(readFileSync(files[0], 'utf8'), new RegExp(`CodiceComune="${RESIDENZE[0].istat}"`))
    assert.match(readFileSync(files[1], 'utf8'), new RegExp(`CodiceComune="${RESIDENZE[1].istat}"`))
  })

  it('a sixth different address is TOO_MANY_ADDRESSES at its row; other personal data differing is still BENEFICIARY_INCONSISTENT', () => {
    const file = join(dir, 'troppi.csv')
    const rows = [0, 1, 2, 3, 4, 5].map((at, i) => person(i, at))
    rows.push({...person(9, 0), Cognome: 'Altro'})
    writeCsv(file, rows)
    const doc = run(['validate', file, '--json'], {env}).json()
    assert.deepEqual(
      doc.findings.map((f: {row: number; code: string; field: string}) => [f.row, f.code, f.field]),
      [
        [7, 'TOO_MANY_ADDRESSES', 'CodiceRegione'],
        [8, 'BENEFICIARY_INCONSISTENT', 'Cognome'],
      ],
    )
    assert.equal(doc.valid, 5)
  })
})
