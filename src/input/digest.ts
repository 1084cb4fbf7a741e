import {createHash} from 'node:crypto'
import {createReadStream} from 'node:fs'

import {UsageError} from '../errors/index.js'

/** SHA-256 of a file, streamed: how the store recognises the same spreadsheet content. */
export async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash('sha256')
  try {
    for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    throw new UsageError(
      'INPUT_NOT_FOUND',
      code === 'ENOENT'
        ? {it: `Il file ${path} non esiste.`, en: `The file ${path} does not exist.`}
        : {it: `Il file ${path} non si può leggere (${code}).`, en: `The file ${path} cannot be read (${code}).`},
    )
  }
  return hash.digest('hex')
}
