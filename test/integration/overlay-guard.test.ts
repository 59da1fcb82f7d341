// The overlay refuses the namespace PONTOON_FORBID_NETNS names (the test
// runner's own, the root one here) before it opens a netlink socket, and bad
// overlay flags exit 2 naming the flag. Nothing is written anywhere: the agent
// stops before its first sync.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readlinkSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PONTOON } from '../lib/proxy-lab.ts'

const dir = mkdtempSync(join(tmpdir(), 'pontoon-overlay-guard-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))
// Never contacted: the agent must stop before it talks to the API.
const kubeconfig = join(dir, 'kubeconfig')
writeFileSync(kubeconfig, JSON.stringify({
  apiVersion: 'v1', kind: 'Config', 'current-context': 'c',
  clusters: [{ name: 'c', cluster: { server: 'https://127.0.0.1:1', 'insecure-skip-tls-verify': true } }],
  users: [{ name: 'u', user: { token: 'x' } }],
  contexts: [{ name: 'c', context: { cluster: 'c', user: 'u' } }],
}))

const agent = (args: string[]) => spawnSync(PONTOON, ['agent', '--kubeconfig', kubeconfig, '--node-name', 'node-1', '--proxy-mode', 'none',
  '--healthz-bind-address', '127.0.0.1:0', '--metrics-bind-address', '127.0.0.1:0', ...args],
{ encoding: 'utf8', timeout: 60_000, env: { ...process.env, PONTOON_FORBID_NETNS: readlinkSync('/proc/self/ns/net') } })

t.test('the overlay will not start in the forbidden namespace', async (t) => {
  const r = agent(['--overlay', 'vxlan'])
  t.equal(r.status, 1, r.stdout + r.stderr)
  t.match(r.stdout, /"code":"HOST_NETNS_FORBIDDEN"/)
  t.match(r.stdout, /the overlay: refusing to write into the host's network namespace/)
  t.notMatch(r.stdout, /overlay device created/)
})

t.test('bad overlay flags exit 2 and name the flag', async (t) => {
  for (const [args, msg] of [
    [['--overlay', 'udp'], /--overlay: "udp" is not one of vxlan, host-gw, none/],
    [['--iface', 'a b'], /--iface "a b": not an interface name/],
    [['--iface-cidr', '10.0.0.1/8'], /--iface-cidr "10\.0\.0\.1\/8"/],
    [['--public-ip', '1.2.3'], /--public-ip "1\.2\.3"/],
    [['--cluster-cidr', '10.244.0.0/33'], /--cluster-cidr: item 1/],
  ] as const) {
    const r = agent(args as unknown as string[])
    t.equal(r.status, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`)
    const logged = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { code?: string; msg: string })
    t.ok(logged.some((l) => msg.test(l.msg) && /^BAD_/.test(l.code ?? '')), `${args.join(' ')}: ${msg}`)
  }
})
