// IPVS through the project's own generic netlink codecs, on a real IPVS kernel: this test
// boots a `pontoon vm run` guest, which runs test/vm/ipvs-netlink-guest.ts in a namespace
// there, and judges what it read back beside what ipvsadm (a separate implementation) saw.
// On the host, whose kernel has no IPVS, opening Ipvs says so.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { BIN } from '../lib/cni.ts'
import { makeNetns } from '../lib/netns.ts'
import { Ipvs } from '../../src/netlink/index.ts'

const PONTOON = join(BIN, 'pontoon')
const ROOT = join(BIN, '..', '..')

t.test('on a kernel without IPVS, Ipvs.open fails with ENOIPVS', async (t) => {
  const ns = makeNetns('noipvs')
  t.teardown(() => ns.destroy())
  await t.rejects(Ipvs.open(ns.path), { code: 'ENOIPVS', message: /no IPVS generic netlink family/ })
})

t.test('in the guest: services and real servers programmed over genetlink, read back, and ipvsadm agrees', async (t) => {
  const r = spawnSync(PONTOON, ['vm', 'run', '--', process.execPath, '--import', 'tsx', 'test/vm/ipvs-netlink-guest.ts'],
    { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 << 20 })
  t.equal(r.status, 0, `the guest script ran through (stderr: ${r.stderr.slice(-3000)})`)
  const line = r.stdout.split('\n').find((l) => l.startsWith('IPVS-RESULT '))
  if (!t.ok(line, 'the guest reported its result')) return
  const o = JSON.parse(line!.slice('IPVS-RESULT '.length))

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const byAddr = (l: any[]): any[] => [...l].sort((a, b) => a.address.localeCompare(b.address))
  const svc = byAddr(o.first.services)
  t.match(svc[0], { protocol: 'tcp', address: '10.96.0.10', port: 80, scheduler: 'rr', timeout: 0, netmask: 0xffffffff })
  t.equal(svc[0].flags & 1, 0, 'no persistence asked, none set')
  t.match(svc[1], { protocol: 'udp', address: 'fd00::10', port: 53, scheduler: 'wrr', timeout: 600, netmask: 128 })
  t.equal(svc[1].flags & 1, 1, 'persistence (sessionAffinity ClientIP) is the PERSISTENT flag')
  t.match(byAddr(o.first.tcpDests), [{ address: '10.244.1.5', port: 8080, forward: 'masq', weight: 1 }, { address: '10.244.2.7', port: 8080, forward: 'masq', weight: 2 }])
  t.match(o.first.udpDests, [{ address: 'fd00:1::5', port: 5353, forward: 'masq', weight: 3 }])
  t.same(o.firstSave.trim().split('\n').sort(), [
    '-A -t 10.96.0.10:80 -s rr',
    '-A -u [fd00::10]:53 -s wrr -p 600',
    '-a -t 10.96.0.10:80 -r 10.244.1.5:8080 -m -w 1',
    '-a -t 10.96.0.10:80 -r 10.244.2.7:8080 -m -w 2',
    '-a -u [fd00::10]:53 -r [fd00:1::5]:5353 -m -w 3',
  ], 'ipvsadm -S in the namespace shows exactly what was programmed')
  t.match(o.guestRootList, /^IP Virtual Server.*\n.*\n.*\n$/, "the guest's root namespace has no services: the socket is bound to the namespace")

  t.equal(o.updated.service.scheduler, 'sh', 'a second put edits the scheduler in place')
  t.match(byAddr(o.updated.tcpDests), [{ address: '10.244.1.5', weight: 0 }, { address: '10.244.2.7', weight: 2 }], 'and the weight: 0 drains')
  t.match(o.updatedList, /10\.244\.1\.5:8080\s+Masq\s+0\s/, 'ipvsadm sees weight 0')

  t.same(o.timeouts, { tcp: 900, tcpFin: 120, udp: 300 }, 'timeouts read back')
  t.match(o.timeoutsIpvsadm, /900 120 300/, 'ipvsadm agrees')

  t.equal(o.delDestAgain, 'ok', 'deleting a real server twice is fine')
  t.equal(o.delServiceAgain, 'ok', 'deleting a service twice is fine')
  t.equal(o.missingService, null, 'a missing service reads as absent')
  t.same(o.afterDeletes.trim().split('\n'), ['-A -t 10.96.0.10:80 -s sh', '-a -t 10.96.0.10:80 -r 10.244.1.5:8080 -m -w 0'], 'only what was deleted is gone')
  t.equal(o.destOnMissingService, 'ESRCH', 'a real server for a missing service is the kernel\'s ESRCH')

  t.same([o.badAddress, o.badPort, o.badScheduler, o.badProtocol, o.badWeight], ['EINVAL_ADDRESS', 'EINVAL_PORT', 'EINVAL_SCHEDULER', 'EINVAL_PROTOCOL', 'EINVAL_WEIGHT'], 'bad input refused before the kernel, naming the field')
  t.equal(o.unknownScheduler, 'ENOENT', 'a scheduler the kernel does not have is its ENOENT')

  t.equal(o.manyErrors, 0, '500 services x 2 real servers in batches')
  t.equal(o.manyAgainErrors, 0, 'and again: every EEXIST counts as done')
  t.equal(o.manyServices, 501, 'the dump reads them all back')
  t.equal(o.manyIpvsadmReals, 1001, 'ipvsadm counts every real server')
  t.equal(o.afterFlush, 0, 'flush empties the namespace')
})
