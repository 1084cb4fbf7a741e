// Regenerates the README's field table and finding codes from the record model (npm run docs).
import {readFileSync, writeFileSync} from 'node:fs'

import {codesTable, fieldsTable, replaceSection} from '../src/flows/describe.js'
import {FLOWS} from '../src/flows/index.js'

const path = new URL('../../README.md', import.meta.url)
let text = readFileSync(path, 'utf8')
text = replaceSection(text, 'fields:ps', fieldsTable(FLOWS.ps))
text = replaceSection(text, 'fields:sinba', fieldsTable(FLOWS.sinba))
text = replaceSection(text, 'codes', codesTable(Object.values(FLOWS)))
writeFileSync(path, text)
console.log('README.md aggiornato')
