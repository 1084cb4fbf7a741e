import assert from 'node:assert/strict'
import {closeSync, openSync, readFileSync, rmSync, writeFileSync, writeSync} from 'node:fs'
import {join} from 'node:path'

import {CsvScanner, sniffDelimiter, sniffEncoding} from '../src/input/csv.js'
import {PS} from '../src/flows/ps.js'
import {normalizeHeader} from '../src/input/header.js'
import {compileMapping, dateConverter, italianDecimal} from '../src/mapping/index.js'
import {run, tempDir, userEnv} from './support/cli.js'
import {CANONICAL_HEADERS, psRows, writeCsv} from './support/ps-data.js'

function scan(text: string | string[], delimiter = ','): {rows: [number, string[]][]; issues: string[]} {
  const rows: [number, string[]][] = []
  const issues: string[] = []
  const s = new CsvScanner(delimiter, (row, cells) => rows.push([row, cells]), (i) => issues.push(`${i.code}@${i.row}`))
  for (const chunk of Array.isArray(text) ? text : [text]) s.push(chunk)
  s.end()
  return {rows, issues}
}

describe('CSV scanner', () => {
  it('numbers rows as the spreadsheet shows them, blank lines and quoted newlines included', () => {
    const {rows} = scan('h1,h2\r\na,"b\r\nb"\r\n\r\nc,d\n')
    assert.deepEqual(rows, [
      [1, ['h1', 'h2']],
      [2, ['a', 'b\r\nb']],
      [4, ['c', 'd']],
    ])
  })

  it('handles escaped quotes, empty cells, a trailing delimiter and CR-only line ends', () => {
    assert.deepEqual(scan('a,"x ""y"" z",\r1,,3').rows, [
      [1, ['a', 'x "y" z', '']],
      [2, ['1', '', '3']],
    ])
  })

  it('gives the same rows however the input is cut into chunks', () => {
    const text = 'a;b;c\n"q;1";"";z\r\n1;2;3\n"x""";"y\ny";end'
    const whole = scan(text, ';').rows
    for (let cut = 1; cut < text.length; cut++) assert.deepEqual(scan([text.slice(0, cut), text.slice(cut)], ';').rows, whole, `cut at ${cut}`)
  })

  it('recovers from a quote that never closes without losing the rows after it', () => {
    const {rows, issues} = scan('a,b\n1,"oops\n2,x\n3,y\n')
    assert.deepEqual(issues, ['UNTERMINATED_QUOTE@2'])
    assert.deepEqual(rows.slice(1), [
      [2, ['1', '"oops']],
      [3, ['2', 'x']],
      [4, ['3', 'y']],
    ])
  })

  it('skips a row longer than 1 MiB, reporting it, and reads on', () => {
    const {rows, issues} = scan(['a,b\n', 'x'.repeat(600_000), 'y'.repeat(600_000), ',z\n1,2\n'])
    assert.deepEqual(issues, ['ROW_TOO_LONG@2'])
    assert.deepEqual(rows, [
      [1, ['a', 'b']],
      [3, ['1', '2']],
    ])
  })

  it('sniffs the delimiter from the header and the encoding from the bytes', () => {
    assert.equal(sniffDelimiter('Codice fiscale;Cognome;Nome'), ';')
    assert.equal(sniffDelimiter('a\tb\tc'), '\t')
    assert.equal(sniffDelimiter('"a;b",c,d'), ',')
    assert.equal(sniffEncoding(Buffer.from('\uFEFFa,b', 'utf8')).encoding, 'utf-8')
    assert.equal(sniffEncoding(Buffer.from('Citt\xe0', 'latin1'), true).encoding, 'windows-1252')
    assert.equal(sniffEncoding(Buffer.from('Città', 'utf8')).encoding, 'utf-8')
    assert.equal(sniffEncoding(Buffer.from('\uFEFFa,b', 'utf16le')).encoding, 'utf-16le')
    assert.equal(sniffEncoding(Buffer.from([0x00, 0x01, 0x02, 0x41, 0x00, 0x00, 0x10])).binary, true)
  })
})

describe('mapping conversions', () => {
  it('matches headers ignoring case, spaces and underscores', () => {
    assert.equal(normalizeHeader(' Codice_Fiscale '), normalizeHeader('codicefiscale'))
  })

  it('reads Italian numbers and leaves anything else for the validator', () => {
    assert.equal(italianDecimal('1.234,56'), '1234.56')
    assert.equal(italianDecimal('350,5'), '350.5')
    assert.equal(italianDecimal('-12'), '-12')
    assert.equal(italianDecimal('1,234.56'), '1,234.56')
  })

  it('in workbooks, converts Italian text amounts but leaves number cells alone', () => {
    const template = {name: 't', flow: 'ps' as const, columns: {ImportoMensile: {column: 'Importo', decimal: 'it' as const}}}
    const headers = [...CANONICAL_HEADERS.filter((h) => h !== 'ImportoMensile'), 'Importo']
    const mapping = compileMapping(PS, headers, template, 'xlsx')
    const value = (raw: string): string => mapping.extract([...headers.map(() => ''), ''].map((_, i) => (i === headers.length - 1 ? raw : '')))[PS.field('ImportoMensile').index]
    assert.equal(value('1.500'), '1500')
    assert.equal(value('1.234,56'), '1234.56')
    assert.equal(value('1234.5'), '1234.5')
    assert.equal(value('1500'), '1500')
  })

  it('reads dates in the template pattern, ISO dates from workbooks too', () => {
    const it = dateConverter('dd/MM/yyyy')
    assert.equal(it('05/03/2026'), '2026-03-05')
    assert.equal(it('5/3/2026'), '2026-03-05')
    assert.equal(it('2026-03-05'), '2026-03-05')
    assert.equal(it('05/03/2026 00:00:00'), '2026-03-05')
    assert.equal(it('marzo'), 'marzo')
    assert.equal(dateConverter('yyyyMMdd')('20260305'), '20260305') // no separators: left for the validator
  })
})

describe('malformed input: a clear finding or error, never a crash or a hang', function () {
  this.timeout(120_000)
  const dir = tempDir()
  const env = userEnv(dir)
  const valid = [...psRows(5, 3)]

  const cases: {name: string; write: (path: string) => void; ext?: string; expectCode: string; exit: number}[] = [
    {name: 'an empty file', write: (p) => writeFileSync(p, ''), expectCode: 'FILE_EMPTY', exit: 2},
    {name: 'a binary file', write: (p) => writeFileSync(p, Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 0, 0, 1, 2, 3, 0, 0])), expectCode: 'FILE_BINARY', exit: 2},
    {name: 'a text file pretending to be XLSX', ext: '.xlsx', write: (p) => writeFileSync(p, 'CodiceFiscale,Cognome\n'), expectCode: 'FILE_UNREADABLE', exit: 2},
    {name: 'a truncated XLSX', ext: '.xlsx', write: (p) => writeFileSync(p, Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04]), Buffer.alloc(200, 7)])), expectCode: 'FILE_UNREADABLE', exit: 2},
    {name: 'duplicate headers', write: (p) => writeFileSync(p, `${CANONICAL_HEADERS.join(',')},Codice_Fiscale\n`), expectCode: 'HEADER_DUPLICATE', exit: 2},
    {name: 'a missing required column', write: (p) => writeFileSync(p, `${CANONICAL_HEADERS.filter((h) => h !== 'Cognome').join(',')}\n`), expectCode: 'HEADER_MISSING_COLUMN', exit: 2},
    {
      name: 'a row with too many cells',
      write: (p) => {
        writeCsv(p, valid)
        writeFileSync(p, `${CANONICAL_HEADERS.map(() => 'x').join(',')},extra\n`, {flag: 'a'})
      },
      expectCode: 'ROW_EXTRA_CELLS',
      exit: 2,
    },
    {
      name: 'NUL bytes in a cell',
      write: (p) => {
        writeCsv(p, valid)
        writeFileSync(p, Buffer.concat([Buffer.from(`${CANONICAL_HEADERS.map((_, i) => (i === 1 ? 'Ro\0ssi' : 'x')).join(',')}\n`)]), {flag: 'a'})
      },
      expectCode: 'INVALID_CHARACTER',
      exit: 2,
    },
    {
      name: 'an 8 MB cell and a 50 MB line',
      write: (p) => {
        writeCsv(p, valid)
        const fd = openSync(p, 'a')
        writeSync(fd, `${'A'.repeat(8 << 20)},x\n`)
        for (let i = 0; i < 50; i++) writeSync(fd, 'B'.repeat(1 << 20))
        writeSync(fd, '\n')
        closeSync(fd)
        writeCsv(`${p}.tail`, valid)
      },
      expectCode: 'ROW_TOO_LONG',
      exit: 2,
    },
  ]

  for (const c of cases) {
    it(`${c.name} → ${c.expectCode}`, () => {
      const file = join(dir, `case-${cases.indexOf(c)}${c.ext ?? '.csv'}`)
      c.write(file)
      const r = run(['validate', file, '--json'], {env})
      assert.equal(r.code, c.exit, r.stderr)
      const doc = r.json()
      assert.ok(doc.findings.some((f: {code: string}) => f.code === c.expectCode), JSON.stringify(doc.findings).slice(0, 500))
      assert.doesNotMatch(r.stderr, /at .*\.js:\d+/, 'no stack trace')
    })
  }

  it('reads as Windows-1252 a file whose first accented letter comes after the first 64 KB', () => {
    const file = join(dir, 'late-accent.csv')
    const rows = [...psRows(8, 400)]
    rows[399] = {...rows[399], Nome: 'Nicolò'}
    writeCsv(file, rows)
    // re-encode the whole file as Windows-1252, as Excel saves it
    writeFileSync(file, Buffer.from(readFileSync(file, 'utf8'), 'latin1'))
    const doc = run(['validate', file, '--json'], {env}).json()
    assert.equal(doc.encoding, 'windows-1252')
    assert.deepEqual(doc.findings, [])
  })

  it('a file that does not exist is a usage error (exit 1) with one JSON document', () => {
    const r = run(['validate', join(dir, 'nope.csv'), '--json'], {env})
    assert.equal(r.code, 1)
    assert.equal(r.json().error.code, 'INPUT_NOT_FOUND')
  })

  it('an unknown flag is a usage error (exit 1), not oclif’s default 2', () => {
    const r = run(['validate', 'x.csv', '--no-such-flag'], {env})
    assert.equal(r.code, 1)
  })

  after(() => rmSync(dir, {recursive: true, force: true}))
})
