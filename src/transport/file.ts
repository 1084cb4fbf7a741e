import {closeSync, existsSync, fstatSync, openSync, readdirSync, readSync, renameSync, rmSync, writeFileSync} from 'node:fs'
import {basename, dirname, join} from 'node:path'
import {createHash} from 'node:crypto'

import yazl from 'yazl'

import {BugError} from '../errors/index.js'
import type {FlussoRow, Store} from '../store/sqlite.js'
import {signCades} from '../sign/cades.js'
import type {Signer} from '../sign/index.js'

/**
 * The `file` transport (DESIGN §8.3): each upload flusso zipped and signed (CAdES-BES, attached
 * .p7m) in the output folder, for the INPS web portal. The folder keeps only what the operator
 * uploads: the zip is made in memory and exists only inside the .p7m, and the plain XML is removed
 * once signed (fewer copies of personal data); the operator records the portal's outcome afterwards.
 */

export interface ExportedFlusso {
  id_flusso: string
  /** the signed zip (`<id_flusso>.zip.p7m`), the file to upload */
  signed: string
}

export async function exportFlussi(store: Store, flussi: FlussoRow[], signer: Signer, now = new Date()): Promise<ExportedFlusso[]> {
  const out: ExportedFlusso[] = []
  // every flusso is read into the same buffer: a new one each would be megabytes of garbage per
  // flusso, freed only as V8 gets round to it (a million-row export is a hundred files or more)
  const reader = new FileReader()
  for (const f of flussi) {
    if (f.state !== 'built' && f.state !== 'signed') continue
    const xmlPath = f.file!
    const signed = xmlPath.replace(/\.xml$/, '.zip.p7m')
    adoptPartial(xmlPath)
    if (existsSync(xmlPath)) {
      const xml = reader.read(xmlPath)
      if (createHash('sha256').update(xml).digest('hex') !== f.sha256) {
        throw new BugError('FLUSSO_FILE_CHANGED', {it: `Il file ${xmlPath} è cambiato dopo la generazione: non lo esporto.`, en: `The file ${xmlPath} changed after it was built: it is not exported.`})
      }
      const zip = await zipOf(basename(xmlPath), xml, now)
      const der = await signCades(zip, signer.contents.privateKey, signer.contents.certificate, signer.contents.chain, {detached: false, signingTime: now})
      writePrivateAtomically(signed, der)
      rmSync(xmlPath)
      // an unsigned zip an earlier version left beside it is not for the portal
      rmSync(xmlPath.replace(/\.xml$/, '.zip'), {force: true})
    } else if (!existsSync(signed)) {
      throw new BugError('FLUSSO_FILE_MISSING', {
        it: `Il file ${xmlPath} del flusso ${f.idFlusso} non c'è più e non è stato esportato.`,
        en: `The file ${xmlPath} of flusso ${f.idFlusso} is gone and was not exported.`,
      })
    }
    store.markExported([f.idFlusso])
    out.push({id_flusso: f.idFlusso, signed})
  }
  return out
}

/** A build killed after recording its flussi, before naming their files: the partial file is complete. */
function adoptPartial(path: string): void {
  if (existsSync(path)) return
  const dir = dirname(path)
  const part = readdirSync(dir).find((name) => name.startsWith(`${basename(path)}.`) && name.endsWith('.part'))
  if (part) renameSync(join(dir, part), path)
}

/** The zip of one flusso, in memory (a flusso is at most a few MB: --max-size). */
async function zipOf(name: string, content: Buffer, mtime: Date): Promise<Buffer> {
  const zip = new yazl.ZipFile()
  zip.addBuffer(content, name, {mtime, mode: 0o100600})
  zip.end()
  const chunks: Buffer[] = []
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

/** Reads whole files into one buffer, grown when a file needs it; each result is valid until the next read. */
class FileReader {
  private buffer = Buffer.allocUnsafeSlow(0)

  read(path: string): Buffer {
    const fd = openSync(path, 'r')
    try {
      const size = fstatSync(fd).size
      if (size > this.buffer.length) this.buffer = Buffer.allocUnsafeSlow(size)
      let at = 0
      for (let n; at < size && (n = readSync(fd, this.buffer, at, size - at, at)) > 0; ) at += n
      return this.buffer.subarray(0, at)
    } finally {
      closeSync(fd)
    }
  }
}

function writePrivateAtomically(path: string, data: Buffer): void {
  const temporary = `${path}.${process.pid}.tmp`
  writeFileSync(temporary, data, {mode: 0o600})
  renameSync(temporary, path)
}
