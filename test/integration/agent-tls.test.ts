// The built agent (dist/bin/pontoon) syncs from `pontoon api` over TLS with the
// kubeconfig the API writes (https, bearer token, CA data), follows a change
// made with kubectl, and refuses a server it cannot verify or a wrong token.
// The API's TLS listener is opened inside a namespace this test creates (the
// API serves HTTPS on non-loopback addresses); the agent runs in that namespace.
// The root namespace is not touched: kubectl uses the API's loopback listener.
import t from 'tap'
import { spawn, execFileSync, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { freePort } from '../lib/ports.ts'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { makeNetns } from '../lib/netns.ts'
import { waitFor } from '../lib/wait.ts'

const ROOT = resolve(import.meta.dirname, '../..')
const PONTOON = join(ROOT, 'dist/bin/pontoon')
const WAIT_MS = 60_000
const ADDR = '192.0.2.1' // TEST-NET-1, only inside the test's namespace

interface Proc { child: ChildProcess; out: string[]; exited: Promise<number | null> }

function track(child: ChildProcess): Proc {
  const p: Proc = { child, out: [], exited: new Promise((r) => child.once('exit', (code) => r(code))) }
  child.stdout?.on('data', (d: Buffer) => p.out.push(d.toString()))
  child.stderr?.on('data', (d: Buffer) => p.out.push(d.toString()))
  return p
}

function logs(p: Proc): Array<Record<string, unknown>> {
  return p.out.join('').split('\n').flatMap((l) => {
    try { return [JSON.parse(l) as Record<string, unknown>] } catch { return [] }
  })
}


async function eventually<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, p?: Proc): Promise<T> {
  try {
    return await waitFor(what, probe, { timeoutMs: WAIT_MS, everyMs: 100 })
  } catch (e) {
    if (p) (e as Error).message += `\n${p.out.join('')}`
    throw e
  }
}

t.test('the agent syncs from pontoon api over TLS with the kubeconfig the API writes', async (t) => {
  t.ok(existsSync(PONTOON), 'dist/bin/pontoon is built')
  const ns = makeNetns('tls')
  t.teardown(() => ns.destroy())
  // On the namespace's own lo: the API judges by address, and this kernel has no dummy links.
  ns.run('ip', ['addr', 'add', `${ADDR}/32`, 'dev', 'lo'])

  const dir = mkdtempSync(join(tmpdir(), 'pontoon-agent-tls-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const [loopPort, tlsPort] = [await freePort(), await freePort()]
  const api = track(spawn(PONTOON, ['api', '--data-dir', dir, '--listen', `127.0.0.1:${loopPort}`, '--listen', `${ADDR}:${tlsPort}@${ns.path}`],
    { stdio: ['ignore', 'pipe', 'pipe'] }))
  t.teardown(async () => {
    if (api.child.exitCode === null) api.child.kill('SIGTERM')
    await api.exited
  })
  const tlsKubeconfig = join(dir, `kubeconfig-${ADDR}`)
  await eventually('the API to be ready', () => logs(api).some((l) => l.msg === 'ready') && existsSync(tlsKubeconfig), api)

  // What the agent is handed: https, a bearer token and the API's CA, nothing insecure.
  const kc = JSON.parse(readFileSync(tlsKubeconfig, 'utf8')) as { clusters: Array<{ cluster: Record<string, unknown> }>; users: Array<{ user: Record<string, unknown> }> }
  t.equal(kc.clusters[0]?.cluster.server, `https://${ADDR}:${tlsPort}`)
  t.match(kc.clusters[0]?.cluster['certificate-authority-data'], /^[A-Za-z0-9+/=]{100,}$/)
  t.notOk(kc.clusters[0]?.cluster['insecure-skip-tls-verify'])
  t.match(kc.users[0]?.user.token, /^\S{16,}$/)

  const kubectl = (args: string[], input?: string) =>
    execFileSync('kubectl', ['--kubeconfig', join(dir, 'kubeconfig'), ...args], { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] })
  const svc = (port: number) => `apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: default}\nspec:\n  selector: {app: web}\n  ports: [{name: http, port: ${port}, targetPort: 8080}]\n`
  kubectl(['apply', '-f', '-'], svc(80))

  // freePort asks the root namespace, but the three agents share the test namespace's lo:
  // a port one agent holds there looks free here, so no port is handed out twice.
  const taken = new Set<number>()
  const nsPort = async (): Promise<number> => {
    for (;;) {
      const port = await freePort()
      if (!taken.has(port)) return (taken.add(port), port)
    }
  }
  const startAgent = async (kubeconfig: string) => {
    const [hp, mp] = [await nsPort(), await nsPort()]
    const p = track(ns.spawn(PONTOON, ['agent', '--kubeconfig', kubeconfig, '--node-name', 'node-1', '--overlay', 'none',
      '--healthz-bind-address', `127.0.0.1:${hp}`, '--metrics-bind-address', `127.0.0.1:${mp}`, '--min-sync-period', '0.1']))
    t.teardown(async () => {
      if (p.child.exitCode === null) p.child.kill('SIGTERM')
      await p.exited
    })
    // The agent's listeners are on the namespace's loopback: ask from inside it.
    const get = (port: number, path: string) => {
      const r = ns.try('curl', ['-s', '-o', '-', '-w', '\n%{http_code}', `http://127.0.0.1:${port}${path}`])
      const text = r.stdout
      const i = text.lastIndexOf('\n')
      return { status: Number(text.slice(i + 1)), text: text.slice(0, i) }
    }
    return { p, healthz: () => get(hp, '/healthz'), snapshot: () => JSON.parse(get(mp, '/debug/snapshot').text) as { services: Record<string, { ports: Array<{ port: number }> }> } }
  }

  const agent = await startAgent(tlsKubeconfig)
  await eventually('the agent to turn healthy', () => agent.healthz().status === 200, agent.p)
  t.same(agent.snapshot().services['default/web']?.ports.map((p) => p.port), [80], 'the Service is in the cache')
  kubectl(['apply', '-f', '-'], svc(8081))
  await eventually('the change to arrive over the TLS watch', () => agent.snapshot().services['default/web']?.ports[0]?.port === 8081, agent.p)
  t.pass('a change made with kubectl reaches the agent over the TLS watch')
  t.equal(logs(agent.p).filter((l) => l.msg === 'list/watch failed; keeping the cache and retrying').length, 0, 'no failed request on the way')

  // Without the CA the server cannot be verified; with a wrong token it says 401. Neither agent turns healthy.
  const noCa = join(dir, 'kubeconfig-no-ca')
  writeFileSync(noCa, JSON.stringify({ ...kc, clusters: [{ name: 'pontoon', cluster: { server: kc.clusters[0]?.cluster.server } }] }), { mode: 0o600 })
  const badToken = join(dir, 'kubeconfig-bad-token')
  writeFileSync(badToken, JSON.stringify({ ...kc, users: [{ name: 'pontoon', user: { token: 'not-the-token' } }] }), { mode: 0o600 })
  const unverified = await startAgent(noCa)
  const refused = await startAgent(badToken)
  const failure = (p: Proc) => logs(p).find((l) => l.msg === 'list/watch failed; keeping the cache and retrying')
  const f1 = await eventually('the unverified server to be refused', () => failure(unverified.p), unverified.p)
  t.match(f1.err, /certificate/i, 'a TLS verification error')
  const f2 = await eventually('the wrong token to be refused', () => failure(refused.p), refused.p)
  t.match(f2.err, /401|Unauthorized/i)
  t.equal(unverified.healthz().status, 503)
  t.equal(refused.healthz().status, 503)

  t.equal(await (agent.p.child.kill('SIGTERM'), agent.p.exited), 0, 'the agent exits cleanly')
})
