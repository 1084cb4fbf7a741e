import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'

import {parse} from 'yaml'

import {PS} from '../src/flows/ps.js'
import {BIN, ROOT, run, tempDir, userEnv} from './support/cli.js'
import {psRows, writeCsv, type PsRow} from './support/ps-data.js'

const SHIPPED_EXPORT = join(ROOT, 'templates', 'esempio-comune-excel-it.csv')

/** A person at a terminal presses Enter at every question, saving the mapping at the end. */
function enterToEverything(dir: string, env: Record<string, string>, file: string, saved: string): {exit: number; screen: string} {
  // '? ' starts a question being asked; '✔ ' the same question once answered
  const steps = [
    ['\\? Le confermi', '\r'],
    ['\\? Nella colonna', '\r', 'repeat'],
    ['\\? Salvare', `${saved}\r`],
  ]
  const r = spawnSync('python3', [join(ROOT, 'test', 'support', 'pty-drive.py'), JSON.stringify(steps), '--', process.execPath, BIN, 'validate', file], {
    env: {...env, DRIVE_TIMEOUT: '150'},
    encoding: 'utf8',
    timeout: 180_000,
  })
  const result = JSON.parse(r.stdout)
  return {exit: result.exit, screen: result.transcript.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '')}
}

/** Another management software's export: other names (some English), ISO dates, labels for some codes. */
const OTHER_LAYOUT: Record<string, string> = {
  CodiceFiscale: 'C.F.',
  Cognome: 'Surname',
  Nome: 'First name',
  AnnoNascita: 'Year of birth',
  LuogoNascita: 'Place of birth',
  Genere: 'Gender',
  CodiceCittadinanza: 'Citizenship',
  CodiceSecondaCittadinanza: 'Second citizenship',
  CodiceRegione: 'Region',
  CodiceComune: 'Municipality',
  CodiceNazione: 'Country of residence',
  PresenzaProvaMezzi: 'Means test',
  CaratterePrestazione: 'Carattere',
  NumeroProtocolloDSU: 'Protocollo DSU',
  CodicePrestazione: 'Service code',
  DenominazionePrestazione: 'Descrizione prestazione',
  ProtocolloDomanda: 'Numero domanda',
  DataInizioPrestazione: 'Start date',
  DataFinePrestazione: 'End date',
  DataErogazionePrestazione: 'Payment date',
  ImportoPrestazione: 'Amount',
  PeriodoErogazione: 'Months',
  ImportoMensile: 'Monthly amount',
  PresaCarico: 'In carico',
  AreaUtenza: 'Area utenza',
}

describe('the mapping wizard: Enter at every question maps a real export correctly', function () {
  this.timeout(300_000)
  const dir = tempDir()
  const env = userEnv(dir)

  it('on the Italian Excel export (labels, gg/mm/aaaa, 1.234,56, M/F): the same mapping as the shipped template', () => {
    const saved = join(dir, 'da-excel.yaml')
    const {exit, screen} = enterToEverything(dir, env, SHIPPED_EXPORT, saved)
    assert.equal(exit, 0, screen)
    assert.match(screen, /Prova sulle prime \d+ righe: \d+ valide/)
    const withWizard = run(['validate', SHIPPED_EXPORT, '--template', saved, '--json'], {env}).json()
    const withShipped = run(['validate', SHIPPED_EXPORT, '--template', 'comune-excel-it', '--json'], {env}).json()
    assert.deepEqual({valid: withWizard.valid, errors: withWizard.errors}, {valid: withShipped.valid, errors: withShipped.errors})
    assert.equal(withWizard.errors, 0)
    const a = run(['build', SHIPPED_EXPORT, '--template', saved, '--out', join(dir, 'a'), '--json'], {env}).json()
    const b = run(['build', SHIPPED_EXPORT, '--template', 'comune-excel-it', '--out', join(dir, 'b'), '--json'], {env}).json()
    const body = (f: string): string => readFileSync(f, 'utf8').replace(/Nome="[^"]+"/, '')
    assert.deepEqual(a.flussi.map((f: {file: string}) => body(f.file)), b.flussi.map((f: {file: string}) => body(f.file)))
  })

  it('on another software’s export (other and English names, labels for codes): every column with a canonical counterpart mapped', () => {
    const rows = [...psRows(21, 40)].map((r) => {
      const out: PsRow = {}
      for (const f of PS.fields) {
        let v = r[f.column] ?? ''
        if (f.column === 'Genere') v = v === '1' ? 'Maschio' : 'Femmina'
        if (f.column === 'PresaCarico') v = v === '1' ? 'Sì' : 'No'
        out[OTHER_LAYOUT[f.column] ?? f.column.replace(/([a-z])([A-Z])/g, '$1 $2')] = v
      }
      return out
    })
    const headers = PS.fields.map((f) => OTHER_LAYOUT[f.column] ?? f.column.replace(/([a-z])([A-Z])/g, '$1 $2'))
    const file = join(dir, 'altro-gestionale.csv')
    writeCsv(file, rows, {headers})
    const saved = join(dir, 'altro.yaml')
    const {exit, screen} = enterToEverything(dir, env, file, saved)
    assert.equal(exit, 0, screen)
    const template = parse(readFileSync(saved, 'utf8')) as {columns: Record<string, string | {column: string}>}
    for (const f of PS.fields) {
      const rule = template.columns[f.column]
      const column = typeof rule === 'string' ? rule : rule?.column
      assert.equal(column, OTHER_LAYOUT[f.column] ?? f.column.replace(/([a-z])([A-Z])/g, '$1 $2'), f.column)
    }
    const r = run(['validate', file, '--template', saved, '--json'], {env}).json()
    assert.deepEqual({valid: r.valid, errors: r.errors}, {valid: 40, errors: 0})
  })
})
