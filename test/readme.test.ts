import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'

import {codesTable, fieldsTable, replaceSection} from '../src/flows/describe.js'
import {FLOWS} from '../src/flows/index.js'

describe('README', () => {
  it('shows the field table and the finding codes derived from the model (run `npm run docs` after changing it)', () => {
    const text = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
    let expected = replaceSection(text, 'fields:ps', fieldsTable(FLOWS.ps))
    expected = replaceSection(expected, 'fields:sinba', fieldsTable(FLOWS.sinba))
    expected = replaceSection(expected, 'codes', codesTable(Object.values(FLOWS)))
    assert.equal(text, expected)
  })

  it('keeps its two commands: submit of the shipped example to the embedded sandbox, and npm test', () => {
    const text = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
    assert.match(text, /npm ci && npm run build && .*\.\/bin\/run\.js submit templates\/esempio-prestazioni\.csv --endpoint sandbox --wait 30s && \.\/bin\/run\.js status\n/)
    assert.match(text, /```sh\nnpm test\n```/)
    assert.match(readFileSync(new URL('../.ci/run', import.meta.url), 'utf8'), /^npm test$/m)
  })
})
