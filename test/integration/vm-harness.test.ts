// `pontoon vm run` for real: a qemu guest with Debian's kernel runs a command as root with
// IPVS there (this host has none), the project's Node and tree from the host root, its
// stdout and stderr apart, its exit status as the CLI's; and the host stays as it was.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { BIN } from '../lib/cni.ts'
import { RUN } from '../lib/netns.ts'

const PONTOON = join(BIN, 'pontoon')
const ROOT = join(BIN, '..', '..')
const NODE = process.execPath

function pontoon(args: string[], env: NodeJS.ProcessEnv = process.env) {
  const r = spawnSync(PONTOON, args, { encoding: 'utf8', env, maxBuffer: 64 << 20 })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

// What a guest could have changed on the host, were it not isolated.
function hostState(): string {
  const ip = (...a: string[]) => spawnSync('ip', a, { encoding: 'utf8' }).stdout
  const links = ip('-o', 'link', 'show').split('\n').map((l) => l.split(':')[1]?.trim()).filter(Boolean).sort()
  return JSON.stringify({ links, addrs: ip('-o', 'addr', 'show'), routes: ip('route', 'show', 'table', 'all'), rules: ip('rule', 'show') })
}

t.test('a guest runs the command with IPVS, the project and no uplink, and returns its output and status', async (t) => {
  const before = hostState()
  const marker = `/root/${RUN}-vm-marker`
  t.notOk(existsSync('/proc/net/ip_vs'), 'precondition: this host has no IPVS')
  const script = [
    'set -e',
    'cd "$1"',
    'test -e /proc/net/ip_vs && echo ipvs-present',
    // loaded at boot: without it a same-node pod -> ClusterIP -> pod reply is never un-NATed
    'echo "bridge-nf:" $(cat /proc/sys/net/bridge/bridge-nf-call-iptables)',
    // the project's Node from the host root, running the project's own code
    `"$2" -e 'console.log("node:" + process.version); import("./src/vm/console.ts").then(m => console.log("project:" + m.readConsole("PONTOON-VM-RC=9\\n").rc))'`,
    'echo "net:" $(ls /sys/class/net)',
    '/usr/bin/ip link add pvm0 type dummy && /usr/bin/ip addr add 10.123.45.6/32 dev pvm0 && /usr/bin/ip link set pvm0 up',
    'ipvsadm -A -t 10.123.45.6:80 -s rr && ipvsadm -a -t 10.123.45.6:80 -r 10.1.2.3:8080 -m',
    'ipvsadm -Ln | grep -c 10.1.2.3:8080 | sed s/^/reals:/',
    `touch ${marker} && echo wrote-marker`,
    'echo to-stderr >&2',
    'exit 7',
  ].join('\n')
  const r = pontoon(['vm', 'run', '--', 'bash', '-c', script, 'guest', ROOT, NODE])
  t.equal(r.status, 7, `a failing command fails the CLI with its own exit status (stderr: ${r.stderr.slice(-2000)})`)
  const lines = r.stdout.split('\n')
  t.ok(lines.includes('ipvs-present'), '/proc/net/ip_vs exists in the guest')
  t.ok(lines.includes('bridge-nf: 1'), 'br_netfilter is loaded in the guest and bridged traffic passes netfilter')
  t.ok(lines.includes(`node:${process.version}`), "the host's Node runs in the guest")
  t.ok(lines.includes('project:9'), "the project's own module runs there")
  t.ok(lines.includes('net: lo'), 'the guest has no network device but loopback (-nic none)')
  t.ok(lines.includes('reals:1'), 'ipvsadm programs the guest kernel')
  t.ok(lines.includes('wrote-marker'), 'the guest root is writable (overlay)')
  t.equal(r.stderr, 'to-stderr\n', 'stderr comes back apart from stdout')
  t.notMatch(r.stdout, /PONTOON-VM-|Power down/, 'no console markers or kernel lines in stdout')

  t.notOk(existsSync(marker), "the guest's writes never reach the host root")
  t.notOk(existsSync('/proc/net/ip_vs'), 'the host kernel gained no IPVS')
  t.notOk(existsSync('/sys/module/dummy'), 'nor the dummy module')
  t.equal(hostState(), before, "the host's links, addresses, routes and rules are unchanged")
})

t.test('harness failures exit 125 with a code, and leave no guest behind', async (t) => {
  const none = pontoon(['vm', 'run'])
  t.equal(none.status, 125)
  t.match(none.stderr, /EVMINPUT: name the command/)

  const noImage = pontoon(['vm', 'run', '--', 'true'], { ...process.env, PONTOON_VM_DIR: `/tmp/${RUN}-no-vm-here` })
  t.equal(noImage.status, 125)
  t.match(noImage.stderr, /EVMIMAGE: no VM image at .*: run scripts\/setup\.sh/)

  const mem = pontoon(['vm', 'run', '--mem', '64', '--', 'true'])
  t.equal(mem.status, 125)
  t.match(mem.stderr, /EVMINPUT: --mem 64/)

  // a guest that cannot finish in time is killed: the CLI returns, and its qemu is gone
  // its own TMPDIR names this run's job directory, and so its qemu, apart from guests of other tests
  const tmp = mkdtempSync(`/tmp/${RUN}-vmt`)
  t.teardown(() => rmSync(tmp, { recursive: true, force: true }))
  const slow = pontoon(['vm', 'run', '--timeout', '1', '--', 'sleep', '600'], { ...process.env, TMPDIR: tmp })
  t.equal(slow.status, 125)
  t.match(slow.stderr, /EVMTIMEOUT: the guest did not finish within 1 s/)
  const leftover = spawnSync('pgrep', ['-f', `pontoon.job=${tmp}/`], { encoding: 'utf8' }).stdout.trim()
  t.equal(leftover, '', 'its qemu is gone')
  t.same(readdirSync(tmp), [], 'and so is its job directory')
})

t.test('a working directory under /tmp (a checkout there, as CI may make) is the host one in the guest, and writable there only', async (t) => {
  const dir = mkdtempSync(`/tmp/${RUN}-vmcwd`)
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(join(dir, 'marker'), 'from the host\n')
  const r = spawnSync(PONTOON, ['vm', 'run', '--', 'sh', '-c', 'cat marker && echo guest > written && cat written && ls /tmp | wc -l'],
    { cwd: dir, encoding: 'utf8', maxBuffer: 64 << 20 })
  t.equal(r.status, 0, r.stderr)
  t.same(r.stdout.split('\n').filter(Boolean), ['from the host', 'guest', '1'], "the host's file is read there; the guest's /tmp holds only that directory")
  t.notOk(existsSync(join(dir, 'written')), 'what the guest wrote stayed in the guest')
})
