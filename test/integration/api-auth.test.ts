// Every listener, loopback included, speaks HTTPS and requires the bearer
// token written into the kubeconfig; files holding secrets are owner-only.
// Everything off loopback runs inside throwaway namespaces joined by a veth
// pair, never in the root namespace.
import t from 'tap'
import { join } from 'node:path'
import { readFileSync, statSync } from 'node:fs'
import { makeNetns, linkNamespaces } from '../lib/netns.ts'
import { ROOT, eventually, request, startApi, tempDir } from '../fixtures/api/harness.ts'

t.test('token required on every listener, written into the kubeconfig', async (t) => {
  const server = makeNetns('apisrv')
  const client = makeNetns('apicli')
  t.teardown(() => {
    server.destroy()
    client.destroy()
  })
  linkNamespaces(server, '10.77.0.1/24', client, '10.77.0.2/24', 'pa')
  const dataDir = tempDir(t, 'auth')
  const proc = server.spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'cmd/pontoon.ts'), 'api', '--data-dir', dataDir, '--listen', '10.77.0.1:0', '--listen', '127.0.0.1:0'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] })
  let err = ''
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()))
  await eventually(() => (err.includes('"msg":"ready"') ? true : undefined), 30_000, `api start: ${err}`)
  const addrs = [...err.matchAll(/"address":"([\d.]+):(\d+)"/g)].map((m) => ({ host: m[1]!, port: m[2]! }))
  const outside = addrs.find((a) => a.host === '10.77.0.1')!
  const loop = addrs.find((a) => a.host === '127.0.0.1')!

  const kubeconfig = JSON.parse(readFileSync(join(dataDir, 'kubeconfig'), 'utf8'))
  t.equal(kubeconfig.clusters[0].cluster.server, `https://10.77.0.1:${outside.port}`)
  t.ok(kubeconfig.clusters[0].cluster['certificate-authority-data'], 'the CA is in the kubeconfig')
  const loopConfig = JSON.parse(readFileSync(join(dataDir, 'kubeconfig-127.0.0.1'), 'utf8'))
  t.equal(loopConfig.clusters[0].cluster.server, `https://127.0.0.1:${loop.port}`, 'loopback speaks HTTPS too')
  const token = kubeconfig.users[0].user.token as string
  t.ok(token && token.length >= 20, 'a token is in the kubeconfig')
  t.same(loopConfig.users[0].user, { token }, 'the loopback kubeconfig carries the token')
  t.equal(loopConfig.clusters[0].cluster['certificate-authority-data'], kubeconfig.clusters[0].cluster['certificate-authority-data'], 'one CA for every listener')
  for (const f of ['token', 'tls.key', 'kubeconfig', 'kubeconfig-127.0.0.1', 'kubeconfig-10.77.0.1']) t.equal(statSync(join(dataDir, f)).mode & 0o777, 0o600, `${f} is mode 0600`)

  const curl = (ns: typeof client, url: string, auth?: string) =>
    ns.run('curl', ['-s', '--cacert', join(dataDir, 'tls.crt'), '-o', '/dev/null', '-w', '%{http_code}', ...(auth ? ['-H', `Authorization: Bearer ${auth}`] : []), url])
  t.equal(curl(client, `https://10.77.0.1:${outside.port}/api/v1/namespaces`), '401', 'no token: 401')
  t.equal(curl(client, `https://10.77.0.1:${outside.port}/api/v1/namespaces`, 'wrong'), '401', 'wrong token: 401')
  t.equal(curl(client, `https://10.77.0.1:${outside.port}/api/v1/namespaces`, token), '200', 'token: 200')
  t.equal(curl(client, `https://10.77.0.1:${outside.port}/healthz`), '200', 'health is anonymous')
  const loopUrl = `https://127.0.0.1:${loop.port}`
  t.equal(curl(server, `${loopUrl}/api/v1/namespaces`), '401', 'loopback, no token: 401')
  t.equal(curl(server, `${loopUrl}/api/v1/namespaces`, 'wrong'), '401', 'loopback, wrong token: 401')
  t.equal(curl(server, `${loopUrl}/version`), '401', 'loopback, discovery without a token: 401')
  t.equal(curl(server, `${loopUrl}/api/v1/namespaces`, token), '200', 'loopback, token: 200')
  t.equal(curl(server, `${loopUrl}/healthz`), '200', 'loopback health is anonymous')
  t.equal(server.try('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', `http://127.0.0.1:${loop.port}/api/v1/namespaces`]).stdout, '000', 'no plain HTTP answer on loopback')
  const loopOut = server.run('kubectl', ['--kubeconfig', join(dataDir, 'kubeconfig-127.0.0.1'), 'get', 'ns', 'default', '-o', 'name'], { env: { ...process.env, KUBECACHEDIR: join(dataDir, 'kubecache') } })
  t.equal(loopOut.trim(), 'namespace/default', 'kubectl with the loopback kubeconfig works')

  // kubectl from the other namespace with the written kubeconfig
  const out = client.run('kubectl', ['--kubeconfig', join(dataDir, 'kubeconfig'), 'get', 'ns', '-o', 'name'], { env: { ...process.env, KUBECACHEDIR: join(dataDir, 'kubecache') } })
  t.match(out, 'namespace/default')
  t.match(out, 'namespace/kube-system')
})

t.test('one server in the root namespace also listens inside a lab namespace', async (t) => {
  const wire = makeNetns('apiwire')
  const agent = makeNetns('apiagent')
  t.teardown(() => {
    wire.destroy()
    agent.destroy()
  })
  linkNamespaces(wire, '10.78.0.1/24', agent, '10.78.0.2/24', 'pw')
  const dataDir = tempDir(t, 'nslisten')
  const api = await startApi(t, { dataDir, args: ['--listen', `10.78.0.1:0@${wire.path}`] })
  const m = /"address":"10\.78\.0\.1:(\d+)","tls":true,"netns":"([^"]+)"/.exec(api.stderr())
  t.ok(m, 'listening inside the namespace, with TLS')
  t.equal(m![2], wire.path)
  const port = m![1]!

  // the root namespace's loopback listener keeps working, with the token only
  t.equal((await request(api, 'GET', '/api/v1/namespaces/default')).status, 200)
  t.equal((await request(api, 'GET', '/api/v1/namespaces/default', { token: null })).status, 401)
  t.equal((await request(api, 'GET', '/api/v1/namespaces/default', { token: 'x'.repeat(api.token.length) })).status, 401, 'a wrong token of the right length: 401')

  // the agent namespace reaches the wire listener with the token, over TLS
  const kc = JSON.parse(readFileSync(join(dataDir, 'kubeconfig-10.78.0.1'), 'utf8'))
  t.equal(kc.clusters[0].cluster.server, `https://10.78.0.1:${port}`)
  const token = kc.users[0].user.token as string
  const code = (auth?: string) =>
    agent.run('curl', ['-s', '--cacert', join(dataDir, 'tls.crt'), '-o', '/dev/null', '-w', '%{http_code}', ...(auth ? ['-H', `Authorization: Bearer ${auth}`] : []), `https://10.78.0.1:${port}/api/v1/nodes`])
  t.equal(code(), '401')
  t.equal(code(token), '200')
  const out = agent.run('kubectl', ['--kubeconfig', join(dataDir, 'kubeconfig-10.78.0.1'), 'get', 'ns', 'default', '-o', 'name'], { env: { ...process.env, KUBECACHEDIR: join(dataDir, 'kubecache') } })
  t.equal(out.trim(), 'namespace/default')
  // the socket really lives in the wire namespace
  t.match(wire.run('ss', ['-Htln']), `10.78.0.1:${port}`)
})
