import {createHash, type Hash} from 'node:crypto'
import {closeSync, existsSync, openSync, writeSync} from 'node:fs'
import {join} from 'node:path'

import {UsageError} from '../errors/index.js'
import type {FlowSpec} from '../flows/model.js'
import type {EnteIdentity} from '../flows/ente.js'
import type {FlussoWriter} from '../xml/writer.js'

export const PROGRESSIVE_MAX = 9_999_999
const FLUSH_BYTES = 1 << 20
/** a range this long is written from where it is: a copy through the staging buffer would cost more than the call */
const DIRECT_BYTES = 64 << 10

export interface FlussoResult {
  id_flusso: string
  file: string
  beneficiari: number
  prestazioni: number
  sha256: string
  /** spreadsheet rows of its records (only for a submission) */
  rows?: number[]
}

/** Where and under which names a run writes its flussi. */
export interface FileTarget {
  flow: FlowSpec
  writer: FlussoWriter
  day: string
  outDir: string
  workDir: string
}

export function nome(codice: string, flow: FlowSpec, day: string, progressive: number): string {
  return `${codice}.${flow.nameCode}.${day}.${String(progressive).padStart(7, '0')}`
}

export function tooManyFlussi(): UsageError {
  return new UsageError('TOO_MANY_FLUSSI', {
    it: 'Progressivo giornaliero esaurito (9.999.999 flussi).',
    en: 'The daily progressive is exhausted (9,999,999 flussi).',
  })
}

/** One output flusso, written in the private folder (0600) and moved to `path` once the store knows it. */
export class FlussoFile {
  readonly idFlusso: string
  /** where it will be: in the output folder */
  readonly path: string
  /** where it is written */
  readonly workPath: string
  beneficiari = 0
  prestazioni = 0
  private readonly sink: ByteSink

  constructor(target: FileTarget, ente: EnteIdentity, progressive: number) {
    if (progressive > PROGRESSIVE_MAX) throw tooManyFlussi()
    this.idFlusso = nome(ente.codice, target.flow, target.day, progressive)
    this.path = join(target.outDir, `${this.idFlusso}.xml`)
    this.workPath = join(target.workDir, `${this.idFlusso}.xml`)
    if (existsSync(this.path)) {
      throw new UsageError('OUTPUT_EXISTS', {it: `Il file ${this.path} esiste già: non lo sovrascrivo.`, en: `The file ${this.path} already exists: it is not overwritten.`})
    }
    this.sink = new ByteSink(this.workPath, true)
    this.write(Buffer.from(target.writer.open(this.idFlusso, ente)))
  }

  write(data: Buffer): void {
    this.writeRange(data, 0, data.length)
  }

  writeRange(src: Buffer, start: number, end: number): void {
    this.sink.writeRange(src, start, end)
  }

  finish(close: string): FlussoResult {
    this.write(Buffer.from(close))
    // no fsync per file: the store keeps each file's SHA-256, and every later step checks it
    const sha256 = this.sink.close()
    return {id_flusso: this.idFlusso, file: this.path, beneficiari: this.beneficiari, prestazioni: this.prestazioni, sha256}
  }
}

/**
 * Buffered synchronous writer for a private (0600) file, optionally hashing what it writes.
 * Short pieces are copied into one staging buffer (no per-record buffers or views to collect);
 * a range of DIRECT_BYTES or more is written from where it is.
 */
export class ByteSink {
  private fd: number | undefined
  private readonly staging = Buffer.allocUnsafe(FLUSH_BYTES)
  private used = 0
  private readonly hash: Hash | undefined

  constructor(path: string, hashed = false) {
    this.fd = openSync(path, 'wx', 0o600)
    this.hash = hashed ? createHash('sha256') : undefined
  }

  write(data: Buffer): void {
    this.writeRange(data, 0, data.length)
  }

  writeRange(src: Buffer, start: number, end: number): void {
    if (end - start >= DIRECT_BYTES) {
      // a long run of a file's body: straight to the file, without a copy through the staging buffer
      this.flush()
      const data = src.subarray(start, end)
      this.hash?.update(data)
      for (let off = 0; off < data.length; ) off += writeSync(this.fd!, data, off)
      return
    }
    while (start < end) {
      if (this.used === this.staging.length) this.flush()
      const n = Math.min(end - start, this.staging.length - this.used)
      src.copy(this.staging, this.used, start, start + n)
      this.used += n
      start += n
    }
  }

  private flush(): void {
    if (this.used === 0 || this.fd === undefined) return
    const data = this.staging.subarray(0, this.used)
    this.hash?.update(data)
    for (let off = 0; off < data.length; ) off += writeSync(this.fd, data, off)
    this.used = 0
  }

  /** Flushes and closes; returns the SHA-256 (hex) when hashing. */
  close(): string {
    if (this.fd === undefined) return ''
    this.flush()
    closeSync(this.fd)
    this.fd = undefined
    return this.hash?.digest('hex') ?? ''
  }
}
