// A real client: Debian's containerd 1.6 + runc, started inside a node netns,
// with `ctr run --cni` calling pontoon through go-cni exactly as in production.
// Two busybox containers get their IPs from pontoon and talk; removing them
// releases the IPs; a later CRI-style DEL (empty netns, no prevResult) is harmless.
import t from 'tap'
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { execFileSync } from 'node:child_process'
import { makeNetns } from '../lib/netns.ts'
import { cni, BIN, REF_DIR, ROOT, PONTOON_CNI } from '../lib/cni.ts'
import { startContainerd, mountsUnder, type Containerd } from '../lib/containerd.ts'
import { waitFor } from '../lib/wait.ts'

const SUBNET = '10.244.5.0/24'
const NETWORK = 'pontoon'

/** container id -> IP, from the IPAM's reservation files (first line is the id go-cni passed). */
function reservations(dataDir: string): Map<string, string> {
  const out = new Map<string, string>()
  let files: string[] = []
  try { files = readdirSync(join(dataDir, NETWORK)) } catch { return out }
  for (const f of files.filter((x) => /^\d+\.\d+\.\d+\.\d+$/.test(x))) {
    out.set(readFileSync(join(dataDir, NETWORK, f), 'utf8').split(/\r?\n/)[0] ?? '', f)
  }
  return out
}

function taskPid(c: Containerd, id: string): number {
  const line = c.ctr(['task', 'ls']).stdout.split('\n').find((l) => l.split(/\s+/)[0] === id)
  return Number(line?.split(/\s+/)[1] ?? 0)
}

function eth0Addrs(pid: number): string[] {
  const out = execFileSync('nsenter', [`--net=/proc/${pid}/ns/net`, '--', 'ip', '-j', '-4', 'addr', 'show', 'eth0'], { encoding: 'utf8' })
  return (JSON.parse(out)[0]?.addr_info ?? []).map((a: any) => `${a.local}/${a.prefixlen}`)
}

t.test('ctr run --cni: containers get pontoon IPs, talk to each other, and give the IPs back', async (t) => {
  const node = makeNetns('node')
  t.teardown(() => node.destroy())
  const conflist = JSON.parse(readFileSync(join(ROOT, 'cni-config/10-pontoon.conflist'), 'utf8'))
  t.equal(conflist.name, NETWORK)
  conflist.plugins[0].ipam.ranges = [[{ subnet: SUBNET }]]
  const c = await startContainerd(node, { conflist, binDir: BIN, refBinDir: REF_DIR, refPlugins: ['portmap', 'loopback'] })
  t.teardown(() => c.stop())
  const run = (args: string[]) => c.ctr(['run', '--fifo-dir', c.fifoDir, '--cni', ...args], { timeoutMs: 60_000 })

  // Container a serves a page over HTTP. ctr 1.6 sends DEL only from a
  // foreground `ctr run --rm` when its task ends (kill and rm of a detached
  // container never call CNI), so a's ctr runs in the background, like a pod.
  const rootA = c.rootfs('a')
  writeFileSync(join(rootA, 'www/index.html'), 'hello from a\n')
  const ctrA = c.ctrSpawn(['run', '--rm', '--fifo-dir', c.fifoDir, '--null-io', '--cni', '--rootfs', rootA, 'a', '/bin/httpd', '-f', '-p', '80', '-h', '/www'])
  const ipA = await waitFor('an IP reserved for default-a and task a running', () => {
    const ip = reservations(c.dataDir).get('default-a')
    return ip !== undefined && taskPid(c, 'a') > 0 ? ip : undefined
  }, { timeoutMs: 30_000, everyMs: 50 }).catch(() => reservations(c.dataDir).get('default-a'))
  t.match(ipA, /^10\.244\.5\.\d+$/, 'pontoon reserved an IP for default-a')
  const pidA = taskPid(c, 'a')
  t.ok(pidA > 0, 'task a runs')
  t.same(eth0Addrs(pidA), [`${ipA}/24`], 'the container\'s eth0 carries that IP')

  // Container b runs to completion in the foreground: ping and fetch a's page, print its own address.
  // (nc, not wget: Debian's static busybox wget crashes looking up the "http" service.)
  const rb = run(['--rm', '--rootfs', c.rootfs('b'), 'b', '/bin/sh', '-c',
    `ip -4 -o addr show eth0; ping -c 1 -W 2 ${ipA} >/dev/null && echo ping-ok; printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 ${ipA} 80`])
  t.equal(rb.status, 0, rb.stderr)
  t.match(rb.stdout, /inet 10\.244\.5\.\d+\/24/, 'b got an address on the pod network')
  t.notMatch(rb.stdout, new RegExp(`inet ${ipA!.replace(/\./g, '\\.')}/`), 'a different one from a')
  t.match(rb.stdout, /ping-ok/, 'b pings a')
  t.match(rb.stdout, /hello from a/, 'b fetched a\'s page over TCP')
  t.same([...reservations(c.dataDir).keys()], ['default-a'], 'b\'s IP was released when ctr run --rm finished')

  // Removing a: kill its task; a's ctr sees the exit, sends DEL (netns "") and deletes the container.
  const hostVeths = () => JSON.parse(node.run('ip', ['-j', 'link', 'show', 'master', 'cni0']) || '[]').length
  t.equal(hostVeths(), 1, 'one pod veth on the bridge')
  const k = c.ctr(['task', 'kill', '-s', 'SIGKILL', 'a'])
  t.equal(k.status, 0, k.stderr)
  const endA = await ctrA.done
  t.equal(endA.status, 137, `a's ctr reports the SIGKILL exit: ${endA.stderr}`)
  t.notMatch(c.ctr(['container', 'ls', '-q']).stdout, /^a$/m, 'container a is gone')
  t.same([...reservations(c.dataDir).keys()], [], 'a\'s IP was released: data dir empty again')
  t.equal(hostVeths(), 0, 'no pod veth left on the bridge')

  // CRI repeats DEL later with an empty netns and no prevResult: still success, nothing changes.
  const conf = { ...conflist.plugins[0], cniVersion: conflist.cniVersion, name: conflist.name }
  conf.ipam = { ...conf.ipam, dataDir: c.dataDir }
  for (let i = 0; i < 2; i++) {
    const d = cni(node, PONTOON_CNI, { command: 'DEL', containerId: 'default-a', netns: '', ifName: 'eth0' }, conf)
    t.equal(d.status, 0, `repeated DEL #${i + 1}: ${d.stdout}${d.stderr}`)
  }
  t.same([...reservations(c.dataDir).keys()], [])

  c.stop()
  t.same(mountsUnder(c.dir), [], 'no mounts left under the containerd dir')
  t.notOk(existsSync(c.dir), 'containerd dir removed')
})
