import {join} from 'node:path'

import {Flags} from '@oclif/core'

import {BaseCommand} from '../src/cli/base-command.js'
import {loadSandboxIdentity, sandboxDir} from '../src/sandbox/identity.js'
import {startSandbox} from '../src/sandbox/server.js'

export default class Sandbox extends BaseCommand {
  static override summary = 'Avvia in locale un endpoint simile a quello INPS, per prove manuali'
  static override description = `Ascolta solo su 127.0.0.1. Offre un token endpoint simile a PDND (/token.oauth2) e la sua JWKS, POST /flussi, GET /esiti, GET /status del contratto push, con controlli rigorosi di voucher, Digest e Agid-JWT-Signature e i controlli di INPS sui flussi; gli esiti arrivano dopo --esiti-delay. --faults simula errori 500, 503/429 con Retry-After, connessioni interrotte (anche dopo la presa in carico) e risposte lente.
Le credenziali di prova sono create nella cartella dati; il comando stampa le variabili CASELLARIO_* per puntarci un altro terminale. Si ferma con Ctrl-C.`
  static override examples = [
    '<%= config.bin %> sandbox --port 8787',
    '<%= config.bin %> sandbox --port 8787 --faults 0.2 --json',
  ]
  static override english = {
    summary: 'Start locally an endpoint like INPS’s, for manual trials',
    description: `Listens on 127.0.0.1 only. Offers a PDND-like token endpoint (/token.oauth2) and its JWKS, and the push contract's POST /flussi, GET /esiti, GET /status, with strict checks of voucher, Digest and Agid-JWT-Signature and INPS's checks on the flussi; esiti arrive after --esiti-delay. --faults simulates 500 errors, 503/429 with Retry-After, dropped connections (also after acceptance) and slow answers.
Test credentials are created in the data folder; the command prints the CASELLARIO_* variables to point another terminal at it. Stop it with Ctrl-C.`,
    flags: {
      port: 'Port (0: any free one)',
      faults: 'Probability of a simulated fault per request (0–1)',
      latency: 'Milliseconds to wait before each answer on /flussi and /esiti (a slow network)',
      'esiti-delay': 'Milliseconds before an esito is available',
      'unknown-cf': 'Codici fiscali (comma separated) the sandbox treats as missing from the registry: esito DATI_NON_TROVATI',
      state: 'SQLite file of what the sandbox receives (by default in the data folder)',
    },
  }

  static override flags = {
    port: Flags.integer({description: 'Porta (0: una libera)', default: 8787, min: 0, max: 65535}),
    faults: Flags.custom<number>({
      description: 'Probabilità di un guasto simulato per richiesta (0–1)',
      parse: async (v) => {
        const n = Number(v)
        if (!(n >= 0 && n <= 1)) throw new Error('--faults vuole un numero tra 0 e 1')
        return n
      },
    })(),
    latency: Flags.integer({description: 'Millisecondi di attesa prima di ogni risposta su /flussi e /esiti (una rete lenta)', default: 0, min: 0}),
    'esiti-delay': Flags.integer({description: 'Millisecondi prima che un esito sia disponibile', default: 500, min: 0}),
    'unknown-cf': Flags.string({description: 'Codici fiscali (separati da virgola) che il sandbox tratta come assenti in anagrafe: esito DATI_NON_TROVATI', helpValue: 'CF,CF'}),
    state: Flags.string({description: 'File SQLite di ciò che il sandbox riceve (predefinito nella cartella dati)'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(Sandbox)
    this.setup(flags)
    const identity = loadSandboxIdentity(sandboxDir(this.config.dataDir))
    const sandbox = await startSandbox({
      identity,
      statePath: flags.state ?? join(identity.dir, 'state.db'),
      port: flags.port,
      faults: flags.faults ?? 0,
      esitiDelayMs: flags['esiti-delay'],
      latencyMs: flags.latency,
      unknownCodiciFiscali: new Set((flags['unknown-cf'] ?? '').split(',').map((cf) => cf.trim().toUpperCase()).filter(Boolean)),
      log: this.jsonOutput ? undefined : (line) => process.stderr.write(`${line}\n`),
    })
    const env = {
      CASELLARIO_ENDPOINT: sandbox.url,
      CASELLARIO_PDND_TOKEN_URL: `${sandbox.url}/token.oauth2`,
      CASELLARIO_PDND_CLIENT_ID: identity.client.clientId,
      CASELLARIO_PDND_KID: identity.client.kid,
      CASELLARIO_PDND_PURPOSE_ID: identity.client.purposeId,
      CASELLARIO_PDND_AUDIENCE: identity.client.assertionAudience,
      CASELLARIO_PDND_KEY: join(identity.dir, 'client-key.pem'),
      CASELLARIO_P12: join(identity.dir, 'ente.p12'),
    }
    // the throwaway passphrase stays in its 0600 file: the line reads it, the terminal never shows it
    const passphraseLine = `export CASELLARIO_P12_PASSPHRASE="$(cat ${join(identity.dir, 'ente.p12.passphrase')})"`
    if (this.jsonOutput) this.out(JSON.stringify({url: sandbox.url, port: sandbox.port, env, passphrase_file: join(identity.dir, 'ente.p12.passphrase')}))
    else {
      this.out(`Sandbox in ascolto su ${sandbox.url} (Ctrl-C per fermarlo). Per usarlo da un altro terminale:`)
      for (const [k, v] of Object.entries(env)) this.out(`export ${k}=${v}`)
      this.out(passphraseLine)
    }
    await new Promise<void>((resolve) => {
      const stop = (): void => resolve()
      process.once('SIGINT', stop)
      process.once('SIGTERM', stop)
    })
    await sandbox.close()
  }
}
