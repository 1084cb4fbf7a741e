import {chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {dirname, resolve} from 'node:path'

import {say} from '../i18n/messages.js'
import {SECRET_NAMES, SECRETS, defaultSecretsFile, secretStatus, type SecretSource} from './index.js'

/** What commands show about secrets: whether each is set and where, never its value. */
export async function describeSecrets(profile: string, configDir: string): Promise<{name: string; env: string; set: boolean; source?: SecretSource}[]> {
  const file = defaultSecretsFile(configDir)
  const fileFallback = existsSync(file) ? file : undefined
  return Promise.all(
    SECRET_NAMES.map(async (name) => ({name, env: SECRETS[name].env, ...(await secretStatus(name, {profile, fileFallback}))})),
  )
}

/**
 * The sandbox certificate's passphrase: a throwaway secret for a self-signed certificate that INPS
 * would never accept. It stays beside that certificate, in the sandbox's own 0700 folder (0600
 * file), never in the keychain entry or the secrets file of the profile's real passphrase.
 */
export function storeSandboxPassphrase(passphrase: string, certificate: string): string {
  mkdirSync(dirname(certificate), {recursive: true, mode: 0o700})
  chmodSync(dirname(certificate), 0o700)
  writeFileSync(sandboxPassphraseFile(certificate), `${passphrase}\n`, {mode: 0o600})
  return say({
    it: `Creato un certificato di prova autofirmato (solo sandbox, mai per INPS); la sua passphrase è in ${sandboxPassphraseFile(certificate)}, nella cartella privata della sandbox.`,
    en: `Created a self-signed test certificate (sandbox only, never for INPS); its passphrase is in ${sandboxPassphraseFile(certificate)}, in the sandbox's private folder.`,
  })
}

/** The passphrase of a sandbox certificate (one `init --sandbox` made under `configDir/sandbox/`), else undefined. */
export function sandboxPassphrase(certificate: string, configDir: string): string | undefined {
  const file = sandboxPassphraseFile(certificate)
  if (resolve(dirname(certificate)) !== resolve(configDir, 'sandbox') || !existsSync(file)) return undefined
  return readFileSync(file, 'utf8').trim()
}

function sandboxPassphraseFile(certificate: string): string {
  return certificate.replace(/\.p12$/, '') + '.passphrase'
}
