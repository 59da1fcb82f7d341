// Namespace entry: a socket opened for a namespace stays bound to it, the
// thread always comes back home, and sysctls land only where they were aimed.
// The root namespace is only ever read here, never changed.
import t from 'tap'
import { readlinkSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import { makeNetns } from '../lib/netns.ts'
import { Rtnl } from '../../src/netlink/index.ts'
import { inNetns, openNetnsFd, readSysctl, writeSysctl } from '../../src/netns/index.ts'

const a = makeNetns('nna')
const b = makeNetns('nnb')
t.teardown(() => { a.destroy(); b.destroy() })
const home = () => readlinkSync('/proc/thread-self/ns/net')

t.test('Rtnl.open(path) binds to that namespace only', async (t) => {
  const before = home()
  const nl = await Rtnl.open(a.path)
  t.teardown(() => nl.close())
  t.equal(home(), before, 'the thread is back in its own namespace')
  const name = `pt${process.pid % 10000}x`
  await nl.addBridge(name)
  t.equal(a.try('ip', ['link', 'show', name]).status, 0, 'created in A')
  t.equal(b.try('ip', ['link', 'show', name]).status, 1, 'not in B')
  const rootLinks = JSON.parse(execFileSync('ip', ['-j', 'link', 'show'], { encoding: 'utf8' })) as { ifname: string }[]
  t.notOk(rootLinks.some((l) => l.ifname === name), 'not in the test process namespace')
  // The socket stays bound even while the thread visits elsewhere.
  const seen = inNetns(b.path, () => home())
  t.not(seen, before)
  t.ok(await nl.linkByName(name), 'still answers for A')
  t.equal(home(), before)
})

t.test('Rtnl.open() without a path uses the current namespace (read-only check)', async (t) => {
  const nl = await Rtnl.open()
  t.teardown(() => nl.close())
  const lo = await nl.linkByName('lo')
  const shown = JSON.parse(execFileSync('ip', ['-j', 'link', 'show', 'lo'], { encoding: 'utf8' }))[0]
  t.equal(lo?.index, shown.ifindex)
})

t.test('writeSysctl changes only the target namespace', async (t) => {
  const rootBefore = readSysctl(undefined, 'net/ipv4/ip_forward')
  writeSysctl(a.path, 'net/ipv4/ip_forward', '1')
  writeSysctl(b.path, 'net.ipv4.ip_forward', '0')
  t.equal(a.run('cat', ['/proc/sys/net/ipv4/ip_forward']).trim(), '1')
  t.equal(b.run('cat', ['/proc/sys/net/ipv4/ip_forward']).trim(), '0')
  t.equal(readSysctl(a.path, 'net.ipv4.ip_forward'), '1')
  t.equal(readSysctl(undefined, 'net/ipv4/ip_forward'), rootBefore, 'root namespace untouched')
  writeSysctl(a.path, 'net/ipv4/ip_forward', '0')
  t.equal(a.run('cat', ['/proc/sys/net/ipv4/ip_forward']).trim(), '0')
  t.throws(() => writeSysctl(a.path, 'net/ipv4/no_such_key', '1'), { code: 'ENOENT' })
  t.throws(() => writeSysctl(a.path, '../../etc/passwd', '1'), { code: 'EINVAL_KEY' })
})

t.test('inNetns refuses async callbacks and always returns home', async (t) => {
  const before = home()
  t.throws(() => inNetns(a.path, async () => 1), { code: 'EASYNC' })
  t.equal(home(), before)
  t.throws(() => inNetns(a.path, () => { throw new Error('boom') }), /boom/)
  t.equal(home(), before)
  t.throws(() => openNetnsFd('/run/netns/pt-no-such-ns'), { code: 'ENONETNS' })
  await t.rejects(Rtnl.open('/run/netns/pt-no-such-ns'), { code: 'ENONETNS' })
  t.equal(home(), before)
})
