// The pure parts of `lab up --vm`: qemu's forwards (restrict=on, loopback only, the NIC
// driver and the guest address on the kernel line), the guest's command and environment,
// the host's kubeconfig, the words a forwarded command may have, the token check, the log.
import t from 'tap'
import { qemuArgs, GUEST_ADDR } from '../../src/vm/qemu-args.ts'
import { guestArgv, guestEnv, guestLabArgs, hostKubeconfig, vmPaths, GUEST_STATE_DIR, MAX_FORWARD_ARGS } from '../../src/lab/vm/plan.ts'
import { authorized, makeToken } from '../../src/lab/vm/control-auth.ts'
import { UpLog, MAX_LOG_LINES } from '../../src/lab/vm/control-server.ts'

const spec = { kernel: '/c/vmlinux', initrd: '/c/initramfs.cpio.gz', mem: 2048, jobDir: '/var/lib/pontoon-lab/vm', modules: ['ip_vs'] }
const after = (a: string[], flag: string) => a[a.indexOf(flag) + 1]

t.test('qemu: forwards only from host loopback, into a restricted user-mode network', async (t) => {
  const a = qemuArgs({ ...spec, forwards: [{ hostPort: 40001, guestPort: 6443 }, { hostPort: 40002, guestPort: 7070 }], outputFiles: { stdout: '/s/logs/o.log', stderr: '/s/logs/e.log' } })
  t.equal(after(a, '-nic'), 'user,model=virtio-net-pci,restrict=on,hostfwd=tcp:127.0.0.1:40001-:6443,hostfwd=tcp:127.0.0.1:40002-:7070')
  const cmdline = after(a, '-append')!
  t.match(cmdline, /pontoon\.modules=virtio_net,ip_vs( |$)/, 'the NIC driver is loaded first')
  t.match(cmdline, new RegExp(`pontoon\\.addr=${GUEST_ADDR.replace(/\./g, '\\.')}/24`))
  t.same(a.filter((w) => w.startsWith('file,')), ['file,id=out,path=/s/logs/o.log', 'file,id=err,path=/s/logs/e.log'])
  t.notOk(a.some((w) => w.startsWith('socket,')), 'no sockets when outputs go to files')
})

t.test('qemu: without forwards there is still no network device at all', async (t) => {
  const a = qemuArgs(spec)
  t.equal(after(a, '-nic'), 'none')
  t.notMatch(after(a, '-append')!, /pontoon\.addr|virtio_net/)
})

t.test('qemu: bad forwards and output paths are refused', async (t) => {
  for (const f of [{ hostPort: 0, guestPort: 1 }, { hostPort: 1, guestPort: 65536 }, { hostPort: 1.5, guestPort: 2 }]) {
    t.throws(() => qemuArgs({ ...spec, forwards: [f] }), { code: 'EVMINPUT' }, JSON.stringify(f))
  }
  t.throws(() => qemuArgs({ ...spec, outputFiles: { stdout: '/a,b', stderr: '/e' } }), { code: 'EVMINPUT' })
  t.throws(() => qemuArgs({ ...spec, outputFiles: { stdout: '/o', stderr: 'rel' } }), { code: 'EVMINPUT' })
})

t.test('the guest runs lab guest with the same lab flags, its own state dir and the token from the job dir', async (t) => {
  t.same(guestArgv('/p/dist/bin/pontoon', { nodes: 2, proxyMode: 'iptables', overlay: 'host-gw', prefix: 'x1', demo: false }), [
    '/p/dist/bin/pontoon', 'lab', 'guest', '--token-file', '/run/pontoon-vm/token', '--state-dir', GUEST_STATE_DIR,
    '--nodes', '2', '--proxy-mode', 'iptables', '--overlay', 'host-gw', '--prefix', 'x1', '--no-demo'])
  t.equal(guestArgv('/p', { nodes: 1, proxyMode: 'nftables', overlay: 'vxlan', prefix: 'p', demo: true }).at(-1), '--demo')
  t.same(guestEnv({ PATH: '/b', SECRET: 's', PONTOON_FORBID_NETNS: 'net:[1]' }), { PATH: '/b', HOME: '/root', PONTOON_FORBID_NETNS: 'net:[1]' })
  t.same(guestEnv({}), { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/root' })
  t.same(vmPaths('/s'), { jobDir: '/s/vm', token: '/s/vm/token', console: '/s/logs/vm-console.log', guestStdout: '/s/logs/vm-guest.log', guestStderr: '/s/logs/vm-guest.err' })
})

t.test("the host's kubeconfig: the guest's, with the server at the host forward", async (t) => {
  const guest = JSON.stringify({ apiVersion: 'v1', clusters: [{ name: 'pontoon', cluster: { server: 'https://127.0.0.1:43729', 'certificate-authority-data': 'Q0E=' } }], users: [{ name: 'pontoon', user: { token: 'tok' } }] })
  const h = JSON.parse(hostKubeconfig(guest, 45417))
  t.equal(h.clusters[0].cluster.server, 'https://127.0.0.1:45417')
  t.equal(h.clusters[0].cluster['certificate-authority-data'], 'Q0E=')
  t.equal(h.users[0].user.token, 'tok')
  for (const bad of ['not json', '{}', JSON.stringify({ clusters: [] }), JSON.stringify({ clusters: [{ cluster: {} }] }), JSON.stringify({ clusters: [{ cluster: { server: 'a' } }, { cluster: { server: 'b' } }] })]) {
    t.throws(() => hostKubeconfig(bad, 1), { code: 'EVMKUBECONFIG' }, bad)
  }
})

t.test('forwarded commands: status, exec and restart only, with the guest state dir before the rest', async (t) => {
  t.same(guestLabArgs(['exec', 'client', '--namespace', 'default', '--', 'sh', '-c', 'x']), ['lab', 'exec', '--state-dir', GUEST_STATE_DIR, 'client', '--namespace', 'default', '--', 'sh', '-c', 'x'])
  t.same(guestLabArgs(['status']), ['lab', 'status', '--state-dir', GUEST_STATE_DIR])
  t.same(guestLabArgs(['restart', 'api']), ['lab', 'restart', '--state-dir', GUEST_STATE_DIR, 'api'])
  for (const bad of [undefined, 'status', [], ['down'], ['up'], ['guest'], [1], ['exec', 'a\0b'], ['exec', 'x'.repeat(4097)], Array(MAX_FORWARD_ARGS + 1).fill('status')]) {
    t.throws(() => guestLabArgs(bad), { code: 'EVMARGS' }, JSON.stringify(bad)?.slice(0, 40))
  }
  t.doesNotThrow(() => guestLabArgs(['exec', 'x'.repeat(4096)]))
  t.doesNotThrow(() => guestLabArgs(Array(MAX_FORWARD_ARGS).fill('status')))
})

t.test('the token: random, and only the exact bearer token passes', async (t) => {
  const tok = makeToken()
  t.match(tok, /^[0-9a-f]{64}$/)
  t.not(makeToken(), tok)
  t.ok(authorized(`Bearer ${tok}`, tok))
  for (const h of [undefined, '', tok, `Bearer ${tok}x`, `Bearer ${tok.slice(1)}`, `bearer ${tok}`, `Basic ${tok}`, 'Bearer ']) t.notOk(authorized(h, tok), String(h))
  t.notOk(authorized('Bearer ', ''), 'an empty token never authorizes')
})

t.test('the guest log: read from an index on, bounded, indices stay valid after old lines go', async (t) => {
  const l = new UpLog()
  t.same(l.since(0), { done: false, lines: [], next: 0 })
  l.push('a'); l.push('b')
  t.same(l.since(0), { done: false, lines: ['a', 'b'], next: 2 })
  t.same(l.since(1).lines, ['b'])
  t.same(l.since(2).lines, [])
  for (let i = 0; i < MAX_LOG_LINES + 3; i++) l.push(`n${i}`)
  const all = l.since(0)
  t.equal(all.lines.length, MAX_LOG_LINES)
  t.equal(all.next, MAX_LOG_LINES + 5)
  t.same(l.since(all.next - 1).lines, [`n${MAX_LOG_LINES + 2}`])
  l.done = true; l.passed = false; l.error = { code: 'E', message: 'm' }
  t.same(l.since(all.next), { done: true, passed: false, error: { code: 'E', message: 'm' }, lines: [], next: all.next })
})
