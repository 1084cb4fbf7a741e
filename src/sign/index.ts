import {existsSync, readFileSync, renameSync, writeFileSync} from 'node:fs'

import {UsageError} from '../errors/index.js'
import {defaultSecretsFile, getSecret, type SecretSource} from '../secrets/index.js'
import {sandboxPassphrase} from '../secrets/status.js'
import {signCades, verifyCades, type VerifyResult} from './cades.js'
import {checkSigningCertificate, describeCertificate, loadPkcs12, type CertificateDescription, type Pkcs12Contents} from './pkcs12.js'

/**
 * Signing flussi with the ente's certificate (DESIGN §7): the PKCS#12 from `sign.certificate`
 * or CASELLARIO_P12, its passphrase from the secrets chain (environment, keychain, opt-in file).
 */

export interface Signer {
  contents: Pkcs12Contents
  signer: CertificateDescription
  passphraseSource: SecretSource
}

export async function openSigner(opts: {certificate?: string; profile: string; configDir: string; now?: Date}): Promise<Signer> {
  if (!opts.certificate) {
    throw new UsageError('CERTIFICATE_NOT_CONFIGURED', {it: 'Nessun certificato di firma configurato.', en: 'No signing certificate is configured.'}, {
      suggestions: [
        'casellario config set sign.certificate /percorso/ente.p12',
        {it: 'Oppure, negli script: export CASELLARIO_P12=/percorso/ente.p12', en: 'Or, in scripts: export CASELLARIO_P12=/path/to/ente.p12'},
        {it: 'Per provare: casellario init --sandbox', en: 'To try things out: casellario init --sandbox'},
      ],
    })
  }
  if (!existsSync(opts.certificate)) throw new UsageError('CERTIFICATE_NOT_FOUND', {it: `Il certificato ${opts.certificate} non esiste.`, en: `The certificate ${opts.certificate} does not exist.`})
  const secretsFile = defaultSecretsFile(opts.configDir)
  // the sandbox's throwaway certificate has its passphrase beside it (init --sandbox)
  const sandbox = sandboxPassphrase(opts.certificate, opts.configDir)
  const {value, source} = sandbox !== undefined ? {value: sandbox, source: 'file' as const} : await getSecret('p12-passphrase', {profile: opts.profile, fileFallback: existsSync(secretsFile) ? secretsFile : undefined})
  const contents = loadPkcs12(opts.certificate, value)
  checkSigningCertificate(contents.certificate, opts.now ?? new Date())
  return {contents, signer: describeCertificate(contents.certificate), passphraseSource: source}
}

export interface SignedFile {
  file: string
  signature: string
  detached: boolean
}

/** Signs each file; the signature goes next to it (.p7m attached, .p7s detached), 0600. */
export async function signFiles(files: string[], signer: Signer, opts: {detached: boolean; now?: Date}): Promise<SignedFile[]> {
  // every input checked before the first signature: no half-signed batch
  for (const file of files) {
    if (file.startsWith('-')) throw new UsageError('SIGN_UNKNOWN_FLAG', {it: `Opzione sconosciuta: ${file}.`, en: `Unknown flag: ${file}.`}, {suggestions: ['casellario sign --help']})
    if (!existsSync(file)) throw new UsageError('SIGN_INPUT_NOT_FOUND', {it: `Il file da firmare ${file} non esiste.`, en: `The file to sign, ${file}, does not exist.`})
  }
  const out: SignedFile[] = []
  for (const file of files) {
    const der = await signCades(readFileSync(file), signer.contents.privateKey, signer.contents.certificate, signer.contents.chain, {
      detached: opts.detached,
      signingTime: opts.now ?? new Date(),
    })
    const signature = `${file}.${opts.detached ? 'p7s' : 'p7m'}`
    // a new private file renamed over any old one: never an old, readable mode, never half a signature
    const temporary = `${signature}.${process.pid}.tmp`
    writeFileSync(temporary, der, {mode: 0o600, flag: 'wx'})
    renameSync(temporary, signature)
    out.push({file, signature, detached: opts.detached})
  }
  return out
}

/** Verifies a .p7m (or a .p7s with its content: the file next to it without the extension, or `content`). */
export async function verifyFile(file: string, opts: {content?: string; caFile?: string}): Promise<VerifyResult & {file: string}> {
  if (!existsSync(file)) throw new UsageError('VERIFY_INPUT_NOT_FOUND', {it: `Il file ${file} non esiste.`, en: `The file ${file} does not exist.`})
  const der = readFileSync(file)
  const sibling = file.replace(/\.p7s$/i, '')
  const content = opts.content ?? (/\.p7s$/i.test(file) && existsSync(sibling) ? sibling : undefined)
  const result = await verifyCades(der, {detachedContent: content ? readFileSync(content) : undefined, caFile: opts.caFile})
  return {...result, file}
}
