import cluster from 'node:cluster'

import {Flags} from '@oclif/core'

import {BaseCommand} from '../src/cli/base-command.js'
import {enteFilterFlag, profileFlag, storeFlag} from '../src/cli/flags.js'
import {UsageError} from '../src/errors/index.js'
import {say} from '../src/i18n/messages.js'
import {onGracefulStop} from '../src/runtime/interrupt.js'
import {readServedEnti, type ServedEnte} from '../src/transport/serve-enti.js'
import {createVoucherCheck, voucherKeys} from '../src/transport/voucher-check.js'
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
  static override english = {
    summary: "Expose the ente's WaaS API (GET /flussi, POST /esiti, GET /status) from which INPS pulls the flussi",
    description: `Implements INPS's waas-api-comuni.yaml over the local store: INPS reads the flussi queued by "casellario submit --transport waas" (GET /flussi?since&limit, by increasing ts_flusso) and sends the esiti (POST /esiti), which update the state of flussi and rows. Every call but /status needs a valid PDND voucher (signature from the JWKS, iss, aud, exp/nbf, purposeId if configured). Requests per client are limited with 429 and Retry-After. Stops in order on SIGTERM (systemd) or Ctrl-C.
An esito for an id_flusso the store does not know is recorded once and confirmed with 204, so that INPS does not repeat it forever; a malformed id_flusso is refused (400) and an esito for a flusso INPS has not pulled yet is refused (409) without changing anything.
Listens on 127.0.0.1 unless --host says otherwise: to expose it use --host (with --tls-cert and --tls-key, or an HTTPS proxy in front).`,
    flags: {
      port: 'Port',
      host: 'Address to listen on (default 127.0.0.1, this machine only; 0.0.0.0 to expose it, better with --tls-*)',
      jwks: "PDND's JWKS: a file or URL (also serve.jwks, CASELLARIO_SERVE_JWKS)",
      audience: 'Expected aud of vouchers (also serve.audience)',
      issuer: 'Expected iss of vouchers (default interop.pagopa.it)',
      'purpose-id': "purposeId accepted in vouchers (INPS's)",
      'eservice-id': "This e-service's eserviceId on PDND",
      'base-path': 'Base path (default /waas/v1)',
      'rate-limit': 'Requests per minute per client (default 600)',
      'tls-cert': 'PEM certificate: serve over HTTPS',
      'tls-key': "The HTTPS certificate's PEM key",
      workers: 'Processes serving requests on the same port (default 1; more with more free CPUs)',
      enti: 'JSON or YAML file of the enti served, each on its own path: ente code → audience, purposeId, eserviceId (also serve.enti, CASELLARIO_SERVE_ENTI)',
      ente: 'The ente served without --enti (default: the configured ente, ente.codice)',
    },
  }

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
      const needed = [!jwks && 'serve.jwks', enti.some((e) => !e.audience) && 'serve.audience'].filter(Boolean)
      throw new UsageError('SERVE_NOT_CONFIGURED', {it: `Per verificare i voucher PDND servono ${needed.join(' e ')}.`, en: `To check PDND vouchers serve needs ${needed.join(' and ')}.`}, {
        suggestions: [
          'casellario serve --jwks https://interop.pagopa.it/.well-known/jwks.json --audience <audience>',
          {it: 'Oppure: casellario config set serve.jwks … / serve.audience …', en: 'Or: casellario config set serve.jwks … / serve.audience …'},
          {it: 'Più enti: casellario serve --enti enti.yaml --jwks …', en: 'Several enti: casellario serve --enti enti.yaml --jwks …'},
        ],
      })
    }
    const open = enti.filter((e) => !e.purposeId && !e.eserviceId).map((e) => e.codice)
    if (open.length > 0 && cluster.isPrimary) {
      this.note(
        entiFile
          ? say({
              it: `Attenzione: per ${open.join(', ')} senza purposeId o eserviceId si accetta ogni voucher PDND con quella audience, anche se emesso per un altro e-service.`,
              en: `Warning: for ${open.join(', ')}, without purposeId or eserviceId any PDND voucher with that audience is accepted, even one issued for another e-service.`,
            })
          : say({
              it: 'Attenzione: senza serve.purposeId o serve.eserviceId si accetta ogni voucher PDND con questa audience, anche se emesso per un altro e-service.',
              en: 'Warning: without serve.purposeId or serve.eserviceId any PDND voucher with this audience is accepted, even one issued for another e-service.',
            }),
      )
    }
    const tlsCert = settings.get('serve.tlsCert')
    const tlsKey = settings.get('serve.tlsKey')
    if (Boolean(tlsCert) !== Boolean(tlsKey)) throw new UsageError('SERVE_TLS_INCOMPLETE', {it: 'Per HTTPS servono sia --tls-cert sia --tls-key.', en: 'HTTPS needs both --tls-cert and --tls-key.'})
    if (flags.host && !isLoopback(flags.host) && !(tlsCert && tlsKey) && cluster.isPrimary) {
      // on stderr even with --json: a service run from systemd logs it where the operator looks
      process.stderr.write(`${say({
        it: `Attenzione: l'API è esposta su ${flags.host} in HTTP senza cifratura: i voucher e gli esiti viaggiano in chiaro. Usa --tls-cert e --tls-key, o un proxy HTTPS davanti.`,
        en: `Warning: the API is exposed on ${flags.host} over plain HTTP: vouchers and esiti travel in clear. Use --tls-cert and --tls-key, or an HTTPS proxy in front.`,
      })}\n`)
    }
    const {workers} = flags
    // several processes share the port (node:cluster): INPS's pulls are served in parallel
    if (workers > 1 && cluster.isPrimary) return this.supervise(workers, enti)
    const store = this.openStore(settings, {create: true})
    const issuer = settings.get('serve.issuer') ?? 'interop.pagopa.it'
    // one check per ente: its e-service's audience, purpose and eservice; the keys are PDND's, shared
    // keyed by the ente as the store spells it (a code configured in lower case by an earlier version)
    const named = store.entiNamed(enti.map((e) => e.codice))
    // one JWKS for all: its keys imported once, a voucher's signature verified once whatever ente's path it comes on
    const keys = voucherKeys(jwks)
    const checks = new Map<string, VoucherCheck>(enti.map((e) => [named.get(e.codice)!, createVoucherCheck({jwks, audience: e.audience, issuer, purposeId: e.purposeId, eserviceId: e.eserviceId}, keys)]))
    const server = await startWaasServer({
      store,
      enti: checks,
      defaultEnte: defaultEnte && (named.get(defaultEnte) ?? store.enteNamed(defaultEnte)),
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
            w.once('exit', (code) => reject(new UsageError('SERVE_WORKER_FAILED', {it: `Un processo di serve si è fermato all'avvio (uscita ${code}).`, en: `A serve process stopped while starting (exit ${code}).`})))
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
    else {
      const paths = codes.length > 0 ? `; enti: ${codes.map((c) => `${url}/${c}`).join(', ')}` : ''
      this.out(say({
        it: `API WaaS in ascolto su ${url} (${workers === 1 ? '1 processo' : `${workers} processi`}; SIGTERM o Ctrl-C per fermarla)${paths}.`,
        en: `WaaS API listening on ${url} (${workers === 1 ? '1 process' : `${workers} processes`}; SIGTERM or Ctrl-C to stop it)${paths}.`,
      }))
    }
  }
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host)
}
