import {existsSync} from 'node:fs'

import {SECRET_NAMES, SECRETS, defaultSecretsFile, secretStatus, setSecret, type SecretSource} from './index.js'

/** What commands show about secrets: whether each is set and where, never its value. */
export async function describeSecrets(profile: string, configDir: string): Promise<{name: string; env: string; set: boolean; source?: SecretSource}[]> {
  const file = defaultSecretsFile(configDir)
  const fileFallback = existsSync(file) ? file : undefined
  return Promise.all(
    SECRET_NAMES.map(async (name) => ({name, env: SECRETS[name].env, ...(await secretStatus(name, {profile, fileFallback}))})),
  )
}

/**
 * The sandbox certificate's passphrase: a throwaway secret, kept like a real one (keychain),
 * or, where there is no keychain, in the 0600 secrets file so the quick start still works.
 */
export async function storeSandboxPassphrase(passphrase: string, profile: string, configDir: string): Promise<string> {
  const {source} = await setSecret('p12-passphrase', passphrase, {profile, fileFallback: defaultSecretsFile(configDir)})
  const where = source === 'keychain' ? 'nel portachiavi del sistema' : `nel file dei segreti ${defaultSecretsFile(configDir)} (0600: qui non c'è un portachiavi)`
  return `Creato un certificato di prova autofirmato (solo sandbox, mai per INPS); la sua passphrase è ${where}.`
}
