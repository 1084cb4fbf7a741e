import assert from 'node:assert/strict'
import {
  analyzeCodiceFiscale,
  cfCheckChar,
  isValidPartitaIvaLike,
  type CfAnalysis,
  type CfPersonal,
} from '../src/flows/codice-fiscale.js'
import {
  applyOmocodia,
  checkCharOf,
  makeCodiceFiscale,
  makePartitaIvaLike,
  mulberry32,
  nameCode,
  randomPeople,
  surnameCode,
} from './support/synthetic.js'

function personal(cf: string): CfPersonal {
  const r: CfAnalysis = analyzeCodiceFiscale(cf)
  assert.equal(r.kind, 'personal', `${cf} should be a personal CF`)
  return r as CfPersonal
}

/** Every other check letter than the right one. */
function wrongCheckChars(cf: string): string[] {
  const right = cf[15]
  return 'ABCDEFGHIJKLMNOPQRSTUVWXYZ'.split('').filter((c) => c !== right).map((c) => cf.slice(0, 15) + c)
}

describe('codice fiscale', () => {
  describe('cfCheckChar', () => {
    // domain-notes §3 (checked there against codice-fiscale-js and stdnum), plus
    // python-stdnum's tests/test_it_codicefiscale.doctest
    const known: Array<[string, string]> = [
      ['RSSMRK66C14H501', 'U'],
      ['RCCMNL83S18D969', 'H'],
      ['MRTNTN23M02D969', 'P'],
      ['MRSMSR81D60Z611', 'H'],
      ['CNTCHR83T41D969', 'D'],
      ['BNCSFN85T58G702', 'W'],
      ['FOXDRA26C24H872', 'Y'],
      ['MAILCU91A25F839', 'D'],
      ['RSSMRAQRCMNFNLR', 'G'],
    ]
    for (const [first15, check] of known) {
      it(`${first15} → ${check}`, () => {
        assert.equal(cfCheckChar(first15), check)
        assert.equal(cfCheckChar(first15.toLowerCase()), check)
        // the test-support generator is an independent implementation; keep it honest too
        assert.equal(checkCharOf(first15), check)
      })
    }

    it('ignores characters after the 15th', () => {
      assert.equal(cfCheckChar('RSSMRK66C14H501U'), 'U')
    })

    it('throws on short or non-alphanumeric input', () => {
      assert.throws(() => cfCheckChar('RSSMRK66C14H50'), RangeError)
      assert.throws(() => cfCheckChar('RSSMRK66C14H50-'), RangeError)
      assert.throws(() => cfCheckChar('RSSMRÒ66C14H501'), RangeError)
    })
  })

  describe('analyzeCodiceFiscale: personal', () => {
    it('decodes RSSMRK66C14H501U (the OpenAPI example)', () => {
      assert.deepEqual(analyzeCodiceFiscale('RSSMRK66C14H501U'), {
        kind: 'personal', valid: true, omocodic: false, xsdCompatible: true,
        yy: 66, month: 3, day: 14, genere: '1', belfiore: 'H501',
      })
    })

    it('decodes RCCMNL83S18D969H', () => {
      assert.deepEqual(analyzeCodiceFiscale('RCCMNL83S18D969H'), {
        kind: 'personal', valid: true, omocodic: false, xsdCompatible: true,
        yy: 83, month: 11, day: 18, genere: '1', belfiore: 'D969',
      })
    })

    it('accepts lowercase and mixed case, and analyses it as uppercase', () => {
      const expected = analyzeCodiceFiscale('RSSMRK66C14H501U')
      assert.deepEqual(analyzeCodiceFiscale('rssmrk66c14h501u'), expected)
      assert.deepEqual(analyzeCodiceFiscale('RssMrk66c14h501U'), expected)
      // lowercase omocodia letters too
      assert.deepEqual(analyzeCodiceFiscale('rssmra45c12f2lri'), analyzeCodiceFiscale('RSSMRA45C12F2LRI'))
      assert.equal(personal('rssmra45c12f2lri').belfiore, 'F205')
    })

    it('women: day is encoded +40', () => {
      const a = personal('CNTCHR83T41D969D') // stdnum: 1983-12-01, F
      assert.equal(a.valid, true)
      assert.equal(a.genere, '2')
      assert.equal(a.day, 1)
      assert.equal(a.month, 12)
      const b = personal('MRSMSR81D60Z611H') // stdnum: 1981-04-20, F, born abroad
      assert.equal(b.valid, true)
      assert.equal(b.genere, '2')
      assert.equal(b.day, 20)
      assert.equal(b.belfiore, 'Z611')
      for (const day of [1, 15, 29, 31]) {
        const cf = makeCodiceFiscale({ cognome: 'Bianchi', nome: 'Anna', year: 1950, month: 2, day, genere: '2', belfiore: 'F205' })
        assert.equal(cf.slice(9, 11), String(day + 40))
        const r = personal(cf)
        assert.equal(r.valid, true)
        assert.equal(r.genere, '2')
        assert.equal(r.day, day)
      }
    })

    it('every month letter', () => {
      'ABCDEHLMPRST'.split('').forEach((letter, i) => {
        const first15 = `RSSMRK66${letter}14H501`
        const r = personal(first15 + cfCheckChar(first15))
        assert.equal(r.valid, true)
        assert.equal(r.month, i + 1)
      })
    })

    it('an unknown month letter or an impossible day gives 0 but keeps the check-char verdict', () => {
      // stdnum's own examples of a bad month and a bad day
      const badMonth = personal('CSTNGL22I10D086I')
      assert.equal(badMonth.month, 0)
      assert.equal(badMonth.day, 10)
      for (const dd of ['00', '32', '40', '72', '99']) {
        const first15 = `CNTCHR83T${dd}D969`
        const r = personal(first15 + cfCheckChar(first15))
        assert.equal(r.valid, true)
        assert.equal(r.day, 0, `day ${dd}`)
      }
      const first15 = 'RSSMRK66F14H501'
      const r = personal(first15 + cfCheckChar(first15))
      assert.equal(r.valid, true)
      assert.equal(r.month, 0)
    })

    it('rejects every wrong check character', () => {
      for (const cf of ['RSSMRK66C14H501U', 'RCCMNL83S18D969H', 'CNTCHR83T41D969D', 'RSSMRAQRCMNFNLRG']) {
        for (const wrong of wrongCheckChars(cf)) {
          const r = personal(wrong)
          assert.equal(r.valid, false, wrong)
          // the rest is still decoded, so the caller can say what looks wrong
          assert.equal(r.belfiore, personal(cf).belfiore)
        }
      }
      assert.equal(personal('FOXDRA26C24H872A').valid, false) // stdnum's example
    })

    it('catches a single mistyped character', () => {
      const cf = 'RSSMRK66C14H501U'
      for (let i = 0; i < 15; i++) {
        const typo = cf.slice(0, i) + (cf[i] === '7' ? '8' : /\d/.test(cf[i]) ? '7' : cf[i] === 'Z' ? 'Y' : 'Z') + cf.slice(i + 1)
        const r = analyzeCodiceFiscale(typo)
        if (r.kind === 'personal') assert.equal(r.valid, false, typo)
      }
    })
  })

  describe('analyzeCodiceFiscale: omocodia', () => {
    // python-stdnum doctest examples: the same person, different substitutions (not only right-to-left)
    for (const cf of ['RSSMRA45C12F20RX', 'RSSMRA45C12F2L5N', 'RSSMRA45C12F2LRI', 'RSSMRAQRCMNFNLRG']) {
      it(`${cf} de-omocodes to 1945-03-12, F205`, () => {
        const r = personal(cf)
        assert.equal(r.valid, true)
        assert.equal(r.omocodic, true)
        assert.equal(r.yy, 45)
        assert.equal(r.month, 3)
        assert.equal(r.day, 12)
        assert.equal(r.genere, '1')
        assert.equal(r.belfiore, 'F205')
      })
    }

    it('all 7 positions, right to left: the date and place survive, the XSD does not from the 4th', () => {
      const base = 'RSSMRK66C14H501U'
      const seen = new Set<string>()
      for (let n = 1; n <= 7; n++) {
        const cf = applyOmocodia(base, n)
        seen.add(cf)
        const r = personal(cf)
        assert.equal(r.valid, true, cf)
        assert.equal(r.omocodic, true, cf)
        assert.deepEqual(
          { yy: r.yy, month: r.month, day: r.day, genere: r.genere, belfiore: r.belfiore },
          { yy: 66, month: 3, day: 14, genere: '1', belfiore: 'H501' },
          cf,
        )
        // substitutions 1-3 touch only the Belfiore digits ([A-Za-z0-9]{3} in the XSD);
        // the 4th reaches the day, the 6th the year
        assert.equal(r.xsdCompatible, n <= 3, cf)
      }
      assert.equal(seen.size, 7)
      assert.equal(applyOmocodia(base, 7), 'RSSMRKSSCMQHRLMJ')
    })

    it('each single position alone', () => {
      const base = 'RCCMNL83S18D969H'
      for (const pos of [6, 7, 9, 10, 12, 13, 14]) {
        const first15 = base.slice(0, pos) + 'LMNPQRSTUV'[Number(base[pos])] + base.slice(pos + 1, 15)
        const r = personal(first15 + cfCheckChar(first15))
        assert.equal(r.valid, true)
        assert.equal(r.omocodic, true)
        assert.equal(r.xsdCompatible, pos >= 12, `position ${pos}`)
        assert.equal(r.yy, 83)
        assert.equal(r.day, 18)
        assert.equal(r.belfiore, 'D969')
      }
    })

    it('a letter in the year or day: valid by check char, yet not XSD-compatible', () => {
      const year = personal('RSSMRAQRCMNFNLRG')
      assert.equal(year.valid, true)
      assert.equal(year.xsdCompatible, false)
      const femaleDay = makeCodiceFiscale({ cognome: 'Rossi', nome: 'Maria', year: 1970, month: 1, day: 5, genere: '2', belfiore: 'H501', omocodia: 4 })
      assert.match(femaleDay, /^RSSMRA70A4RHRLM.$/)
      const r = personal(femaleDay)
      assert.equal(r.valid, true)
      assert.equal(r.xsdCompatible, false)
      assert.equal(r.day, 5)
      assert.equal(r.genere, '2')
    })

    it('an omocodic CF with the original check char is invalid', () => {
      assert.equal(personal('RSSMRK66C14H50MU').valid, false)
    })
  })

  describe('analyzeCodiceFiscale: numeric form', () => {
    it('00743110157 is valid (domain-notes §3.3)', () => {
      assert.deepEqual(analyzeCodiceFiscale('00743110157'), { kind: 'numeric', valid: true })
    })

    it('allows 0-5 trailing spaces, as the XSD does', () => {
      for (let n = 0; n <= 5; n++) assert.deepEqual(analyzeCodiceFiscale('00743110157' + ' '.repeat(n)), { kind: 'numeric', valid: true })
      assert.equal(analyzeCodiceFiscale('00743110157      ').kind, 'malformed') // 6 spaces
    })

    it('every wrong check digit is invalid', () => {
      for (let d = 0; d <= 9; d++) {
        if (d === 7) continue
        assert.deepEqual(analyzeCodiceFiscale('0074311015' + d), { kind: 'numeric', valid: false })
      }
    })

    it('isValidPartitaIvaLike', () => {
      assert.equal(isValidPartitaIvaLike('00743110157'), true)
      assert.equal(isValidPartitaIvaLike('00743110158'), false)
      assert.equal(isValidPartitaIvaLike('0074311015'), false)
      assert.equal(isValidPartitaIvaLike('00743110157 '), false) // exactly 11 digits here; padding is analyze's job
      assert.equal(isValidPartitaIvaLike('0074311015A'), false)
      assert.equal(isValidPartitaIvaLike('00000000000'), true) // no office-code / all-zero rule (see §3.3)
      const rng = mulberry32(11)
      for (let i = 0; i < 200; i++) {
        const p = makePartitaIvaLike(rng)
        assert.equal(isValidPartitaIvaLike(p), true, p)
        assert.deepEqual(analyzeCodiceFiscale(p), { kind: 'numeric', valid: true })
      }
    })
  })

  describe('analyzeCodiceFiscale: malformed', () => {
    const cases: Array<[string, string]> = [
      ['', 'empty'],
      ['RSSMRK66C14H501', '15 characters'],
      ['RSSMRK66C14H501UX', '17 characters'],
      ['RSSMRK66C14H501U ', 'trailing space on the 16-character form'],
      [' RSSMRK66C14H501U', 'leading space'],
      ['RSSMRK66C14H50AU', 'A is not an omocodia letter'],
      ['RSSMRKW6C14H501U', 'W is not an omocodia letter'],
      ['RSSMR166C14H501U', 'digit in the name code'],
      ['RSSMRK66114H501U', 'digit as month'],
      ['RSSMRK66C141501U', 'digit as the Belfiore letter'],
      ['RSSMRK66C14H5012', 'digit as check char'],
      ['RSSMRÒ66C14H501U', 'non-ASCII letter'],
      ['RSSMRK6\u0666C14H501U', 'non-ASCII digit in a numeric position'],
      ['RSSMRK66C14H501-', 'punctuation'],
      ['RSS MRK66C14H501', 'inner space'],
      ['0074311015', '10 digits'],
      ['007431101570', '12 digits'],
      ['0074311015A', 'letter in the numeric form'],
      ['00743110157\t', 'tab after the numeric form'],
      ['007431 10157', 'inner space in the numeric form'],
      ['1SSMRK66C14H501U', 'starts with a digit, 16 long'],
      ['０0743110157', 'full-width digit'],
    ]
    for (const [cf, why] of cases) {
      it(`${why}: ${JSON.stringify(cf)}`, () => {
        assert.deepEqual(analyzeCodiceFiscale(cf), { kind: 'malformed' })
      })
    }
  })

  describe('synthetic generator', () => {
    it('name and surname codes follow the official rules', () => {
      assert.equal(surnameCode('Rossi'), 'RSS')
      assert.equal(surnameCode("D'Angelo"), 'DNG')
      assert.equal(surnameCode('De Luca'), 'DLC')
      assert.equal(surnameCode('Fo'), 'FOX') // consonants, vowels, then X
      assert.equal(surnameCode('Re'), 'REX')
      assert.equal(surnameCode('Pellè'), 'PLL')
      assert.equal(nameCode('Nicolò'), 'NCL')
      assert.equal(nameCode('Gianfranco'), 'GFR') // 4+ consonants: 1st, 3rd, 4th
      assert.equal(nameCode('Francesca'), 'FNC')
      assert.equal(nameCode('Emanuele'), 'MNL')
      assert.equal(nameCode('Maria'), 'MRA')
      assert.equal(nameCode('Zoe'), 'ZOE')
      assert.equal(nameCode('Ugo'), 'GUO')
      assert.equal(nameCode('Noè'), 'NOE')
      assert.equal(
        makeCodiceFiscale({ cognome: 'Ricci', nome: 'Emanuele', year: 1983, month: 11, day: 18, genere: '1', belfiore: 'D969' }),
        'RCCMNL83S18D969H',
      )
    })

    it('is deterministic for a seed', () => {
      assert.deepEqual(randomPeople(42, 50), randomPeople(42, 50))
      assert.notDeepEqual(randomPeople(42, 50), randomPeople(43, 50))
    })

    it('property: 2,000 generated CFs analyse as valid with the right date, sex and birthplace', () => {
      const people = randomPeople(20240601, 2000, { omocodiaShare: 0.2 })
      const omocodic = people.filter((p) => p.omocodia > 0).length
      assert.ok(omocodic > 200 && omocodic < 600, `omocodic share looks off: ${omocodic}`)
      assert.ok(people.some((p) => p.luogoNascita.startsWith('Z')))
      assert.ok(people.some((p) => p.genere === '2') && people.some((p) => p.genere === '1'))
      for (const p of people) {
        const r = personal(p.codiceFiscale)
        const ctx = JSON.stringify(p)
        assert.equal(r.valid, true, ctx)
        assert.equal(r.omocodic, p.omocodia > 0, ctx)
        assert.equal(r.xsdCompatible, p.omocodia <= 3, ctx)
        assert.equal(r.yy, p.annoNascita % 100, ctx)
        assert.equal(r.month, p.meseNascita, ctx)
        assert.equal(r.day, p.giornoNascita, ctx)
        assert.equal(r.genere, p.genere, ctx)
        assert.equal(r.belfiore, p.luogoNascita, ctx)
        assert.equal(r.belfiore.length, 4)
        assert.equal(cfCheckChar(p.codiceFiscale), p.codiceFiscale[15], ctx)
        // lowercase gives the same answer
        assert.deepEqual(analyzeCodiceFiscale(p.codiceFiscale.toLowerCase()), r, ctx)
      }
    })
  })
})
