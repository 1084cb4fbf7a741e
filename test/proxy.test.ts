import assert from 'node:assert/strict'
import {createServer, request, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {join} from 'node:path'

import {ROOT, runAsync, tempDir, userEnv} from './support/cli.js'
import {startSandboxProcess, type SandboxProcess} from './support/sandbox.js'

/**
 * A Comune's network usually reaches the outside through a proxy: `submit` honours the standard
 * proxy variables (HTTP_PROXY / HTTPS_PROXY, and NO_PROXY to bypass), like every other tool there.
 */
describe('submit through the proxy the environment names', function () {
  this.timeout(120_000)
  const dir = tempDir()
  let sandbox: SandboxProcess
  let proxy: Server
  let proxyUrl = ''
  const seen: string[] = []

  before(async () => {
    sandbox = await startSandboxProcess(dir)
    // a forwarding proxy for plain HTTP: absolute-form requests in, the same request out
    proxy = createServer((req, res) => {
      seen.push(`${req.method} ${new URL(req.url!).pathname}`)
      const upstream = request(req.url!, {method: req.method, headers: req.headers}, (answer) => {
        res.writeHead(answer.statusCode!, answer.headers)
        answer.pipe(res)
      })
      req.pipe(upstream)
    })
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve))
    proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`
  })
  after(async () => {
    proxy?.closeAllConnections()
    proxy?.close()
    await sandbox?.stop()
  })

  it('sends the token request, the flussi and the esiti reading through HTTP_PROXY', async () => {
    const env = userEnv(join(dir, 'via-proxy'), {...sandbox.env, HTTP_PROXY: proxyUrl, http_proxy: proxyUrl})
    const r = await runAsync(['submit', join(ROOT, 'templates', 'esempio-prestazioni.csv'), '--wait', '30s', '--json'], {env})
    assert.equal(r.code, 0, r.stdout + r.stderr)
    assert.equal(r.json().accepted, 30)
    assert.ok(seen.includes('POST /token.oauth2'), seen.join(', '))
    assert.ok(seen.includes('POST /flussi'), seen.join(', '))
    assert.ok(seen.includes('GET /esiti'), seen.join(', '))
  })

  it('goes direct for the hosts NO_PROXY lists', async () => {
    seen.length = 0
    const env = userEnv(join(dir, 'direct'), {...sandbox.env, HTTP_PROXY: proxyUrl, http_proxy: proxyUrl, NO_PROXY: '127.0.0.1', no_proxy: '127.0.0.1'})
    const r = await runAsync(['submit', join(ROOT, 'templates', 'esempio-prestazioni.csv'), '--wait', '30s', '--json'], {env})
    assert.equal(r.code, 0, r.stdout + r.stderr)
    assert.deepEqual(seen, [])
  })
})
