import cluster from 'node:cluster'

import {Flags} from '@oclif/core'

import {BaseCommand} from '../src/cli/base-command.js'
import {enteFilterFlag, profileFlag, storeFlag} from '../src/cli/flags.js'
import {UsageError} from '../src/errors/index.js'
import {say} from '../src/i18n/messages.js'
import {onGracefulStop} from '../src/runtime/interrupt.js'
import {readServedEnti, type ServedEnte} from '../src/transport/serve-enti.js'
import {createVoucherCheck} from '../src/transport/voucher-check.js'
import {startWaasServer, type VoucherCheck} from '../src/transport/waas.js'

export default class Serve extends BaseCommand {
  static override summary = 'Espone l’API WaaS dell’ente (GET /flussi, POST /esiti, GET /status) da cui INPS preleva i flussi'
  static override description = `Implementa waas-api-comuni.yaml di INPS sullo store locale: INPS legge i flussi messi in coda da "casellario submit --transport waas" (GET /flussi?since&limit, per ts_flusso crescente) e invia gli esiti (POST /esiti), che aggiornano lo stato di flussi e righe. Ogni chiamata tranne /status richiede un voucher PDND valido (firma dalla JWKS, iss, aud, exp/nbf, purposeId se configurato). Limite di richieste per client con 429 e Retry-After. Si ferma in modo ordinato con SIGTERM (systemd) o Ctrl-C.
Un esito per un id_flusso che lo store non conosce è registrato una volta e confermato con 204, perché INPS non lo ripeta all'infinito; un id_flusso fuori formato è rifiutato (400) e un esito per un flusso che INPS non ha ancora prelevato è rifiutato (409) senza cambiare nulla.
Ogni ente è un e-service a sé su PDND: con --enti FILE (JSON o YAML: codice ente → audience, purposeId, eserviceId) serve ogni ente sotto il proprio percorso {base}/{CodiceEnte}/flussi, /esiti, /status, con i soli flussi di quell'ente e i soli voucher del suo e-service. Senza --enti serve un solo ente, quello configurato (o --ente), su {base}/flussi e {base}/{CodiceEnte}/flussi: mai i flussi di un altro ente dello stesso store.
Ascolta su 127.0.0.1 se non indicato --host: per esporla serve --host (con --tls-cert e --tls-key, o un proxy HTTPS).`
  static override examples = [
    '<%= config.bin %> serve --port 8443 --jwks https://interop.pagopa.it/.well-known/jwks.json --audience https://comune.example.it/waas/v1 --tls-cert cert.pem --tls-key key.pem',
    'CASELLARIO_SERVE_JWKS=/etc/casellario/jwks.json CASELLARIO_SERVE_AUDIENCE=SIUSS <%= config.bin %> serve --port 8080   (solo 127.0.0.1, dietro un proxy HTTPS)',
    '<%= config.bin %> serve --host 0.0.0.0 --tls-cert cert.pem --tls-key key.pem --jwks jwks.json --audience https://comune.example.it/waas/v1',
    '<%= config.bin %> serve --enti enti.yaml --jwks https://interop.pagopa.it/.well-known/jwks.json --tls-cert cert.pem --tls-key key.pem   (più enti: /waas/v1/H501/flussi, /waas/v1/F205/flussi …)',
  ]
  static override flags = {
    port: Flags.integer({description: 'Porta', default: 8443, min: 0, max: 65535}),
    host: Flags.string({description: 'Indirizzo di ascolto (predefinito 127.0.0.1, solo questa macchina; 0.0.0.0 per esporla, meglio con --tls-*)'}),
    jwks: Flags.string({description: 'JWKS di PDND: file o URL (anche serve.jwks, CASELLARIO_SERVE_JWKS)'}),
    audience: Flags.string({description: 'aud attesa nei voucher (anche serve.audience); con --enti, quella di ogni ente nel file'}),
    enti: Flags.string({description: 'File JSON o YAML degli enti serviti, ognuno sul proprio percorso: codice ente → audience, purposeId, eserviceId (anche serve.enti, CASELLARIO_SERVE_ENTI)', helpValue: 'FILE', exclusive: ['ente', 'audience', 'purpose-id', 'eservice-id']}),
    ente: enteFilterFlag({description: "L'ente servito senza --enti (predefinito: l'ente configurato, ente.codice)"}),
    issuer: Flags.string({description: 'iss attesa nei voucher (predefinito interop.pagopa.it)'}),
    'purpose-id': Flags.string({description: 'purposeId accettato nei voucher (quello di INPS)'}),
    'eservice-id': Flags.string({description: 'eserviceId di questo e-service su PDND'}),
    'base-path': Flags.string({description: 'Percorso base (predefinito /waas/v1)'}),
    'rate-limit': Flags.string({description: 'Richieste al minuto per client (predefinito 600)'}),
    'tls-cert': Flags.string({description: 'Certificato PEM: serve in HTTPS'}),
    'tls-key': Flags.string({description: 'Chiave PEM del certificato HTTPS'}),
    workers: Flags.integer({description: 'Processi che servono le richieste sulla stessa porta (predefinito 1; con più CPU libere, di più)', default: 1, min: 1, max: 64}),
    store: storeFlag,
    profile: profileFlag,
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(Serve)
    this.setup(flags)
    const settings = this.settings(flags)
    const jwks = settings.get('serve.jwks')
    const entiFile = settings.get('serve.enti')
    const {enti, defaultEnte} = entiFile ? {enti: readServedEnti(entiFile), defaultEnte: undefined} : this.singleEnte(flags.ente, settings)
    if (!jwks || enti.some((e) => !e.audience)) {
      throw new UsageError('SERVE_NOT_CONFIGURED', `Per verificare i voucher PDND servono ${[!jwks && 'serve.jwks', enti.some((e) => !e.audience) && 'serve.audience'].filter(Boolean).join(' e ')}.`, {
        suggestions: ['casellario serve --jwks https://interop.pagopa.it/.well-known/jwks.json --audience <audience dell’e-service>', 'Oppure: casellario config set serve.jwks … / serve.audience …', 'Più enti: casellario serve --enti enti.yaml --jwks …'],
      })
    }
    const open = enti.filter((e) => !e.purposeId && !e.eserviceId).map((e) => e.codice)
    if (open.length > 0 && cluster.isPrimary) {
      this.note(
        entiFile
          ? `Attenzione: per ${open.join(', ')} senza purposeId o eserviceId si accetta ogni voucher PDND con quella audience, anche se emesso per un altro e-service.`
          : 'Attenzione: senza serve.purposeId o serve.eserviceId si accetta ogni voucher PDND con questa audience, anche se emesso per un altro e-service.',
      )
    }
    const tlsCert = settings.get('serve.tlsCert')
    const tlsKey = settings.get('serve.tlsKey')
    if (Boolean(tlsCert) !== Boolean(tlsKey)) throw new UsageError('SERVE_TLS_INCOMPLETE', 'Per HTTPS servono sia --tls-cert sia --tls-key.')
    if (flags.host && !isLoopback(flags.host) && !(tlsCert && tlsKey) && cluster.isPrimary) {
      // on stderr even with --json: a service run from systemd logs it where the operator looks
      process.stderr.write(`Attenzione: l'API è esposta su ${flags.host} in HTTP senza cifratura: i voucher e gli esiti viaggiano in chiaro. Usa --tls-cert e --tls-key, o un proxy HTTPS davanti.\n`)
    }
    const {workers} = flags
    // several processes share the port (node:cluster): INPS's pulls are served in parallel
    if (workers > 1 && cluster.isPrimary) return this.supervise(workers, enti)
    const store = this.openStore(settings, {create: true})
    const issuer = settings.get('serve.issuer') ?? 'interop.pagopa.it'
    // one check per ente: its e-service's audience, purpose and eservice; the keys are PDND's, shared
    // keyed by the ente as the store spells it (a code configured in lower case by an earlier version)
    const checks = new Map<string, VoucherCheck>(enti.map((e) => [store.enteNamed(e.codice), createVoucherCheck({jwks, audience: e.audience, issuer, purposeId: e.purposeId, eserviceId: e.eserviceId})]))
    const server = await startWaasServer({
      store,
      enti: checks,
      defaultEnte: defaultEnte && store.enteNamed(defaultEnte),
      basePath: settings.get('serve.basePath'),
      port: flags.port,
      host: flags.host,
      tls: tlsCert && tlsKey ? {cert: tlsCert, key: tlsKey} : undefined,
      // each process enforces its share of the limit (a client's keep-alive connection stays with one)
      rateLimit: Math.ceil(Number(settings.get('serve.rateLimit') ?? 600) / workers),
      log: (line) => process.stderr.write(`${line}\n`),
    })
    const stopped = new Promise<void>((resolve) =>
      onGracefulStop(async () => {
        await server.close()
        store.close()
        resolve()
      }),
    )
    if (cluster.isWorker) process.send!({url: server.url, port: server.port})
    else this.announce(server.url, server.port, 1, enti)
    await stopped
  }

  /**
   * Serve without --enti: one ente, the one named by --ente or configured (ente.codice), with the
   * voucher expectations of the flags/config. Never every ente of the store.
   */
  private singleEnte(flag: string | undefined, settings: ReturnType<BaseCommand['settings']>): {enti: ServedEnte[]; defaultEnte: string} {
    const codice = (flag ?? settings.get('ente.codice'))?.trim().toUpperCase()
    if (!codice) {
      throw new UsageError(
        'SERVE_ENTE_REQUIRED',
        say({
          it: "Serve sa quali flussi servire solo per un ente: manca il codice dell'ente (ente.codice), e uno store può tenere i flussi di più enti.",
          en: 'Serve only serves the flussi of one ente: the ente code (ente.codice) is missing, and a store may hold the flussi of several enti.',
        }),
        {suggestions: ['casellario serve --ente H501 --jwks … --audience …', 'casellario serve --enti enti.yaml --jwks …   (più enti, ognuno sul proprio percorso)', 'casellario config set ente.codice H501']},
      )
    }
    const audience = settings.get('serve.audience') ?? ''
    const purposeId = settings.get('serve.purposeId')
    const eserviceId = settings.get('serve.eserviceId')
    return {enti: [{codice, audience, ...(purposeId ? {purposeId} : {}), ...(eserviceId ? {eserviceId} : {})}], defaultEnte: codice}
  }

  /** The primary process: starts the workers, replaces one that dies, stops them in order. */
  private async supervise(count: number, enti: ServedEnte[]): Promise<void> {
    let stopping = false
    const first = Array.from({length: count}, () => cluster.fork())
    const listening = await Promise.all(
      first.map(
        (w) =>
          new Promise<{url: string; port: number}>((resolve, reject) => {
            w.once('message', resolve)
            w.once('exit', (code) => reject(new UsageError('SERVE_WORKER_FAILED', `Un processo di serve si è fermato all'avvio (uscita ${code}).`)))
          }),
      ),
    )
    this.announce(listening[0].url, listening[0].port, count, enti)
    const allExited = new Promise<void>((resolve) => {
      cluster.on('exit', (worker, code, signal) => {
        if (!stopping) {
          process.stderr.write(`${JSON.stringify({at: new Date().toISOString(), worker: worker.id, exit: code ?? signal, restart: true})}\n`)
          setTimeout(() => cluster.fork(), 1000)
        } else if (Object.keys(cluster.workers ?? {}).length === 0) resolve()
      })
    })
    onGracefulStop(async () => {
      stopping = true
      const alive = Object.values(cluster.workers ?? {}).filter((w) => w && !w.isDead())
      if (alive.length === 0) return
      for (const w of alive) w!.process.kill('SIGTERM')
      await allExited
    })
    await new Promise<never>(() => {})
  }

  private announce(url: string, port: number, workers: number, enti: ServedEnte[]): void {
    const codes = enti.map((e) => e.codice)
    if (this.jsonOutput) this.out(JSON.stringify({url, port, workers, ...(codes.length > 0 ? {enti: Object.fromEntries(codes.map((c) => [c, `${url}/${c}`]))} : {})}))
    else this.out(`API WaaS in ascolto su ${url} (${workers} processi; SIGTERM o Ctrl-C per fermarla)${codes.length > 0 ? `; enti: ${codes.map((c) => `${url}/${c}`).join(', ')}` : ''}.`)
  }
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host)
}
