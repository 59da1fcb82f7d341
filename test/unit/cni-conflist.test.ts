import t from 'tap'
import { mkdtempSync, readFileSync, rmSync, statSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { planConflist } from '../../src/cni/conflist.ts'
import { writeFileAtomic } from '../../src/sys/atomic-write.ts'

t.test('the conflist follows the podCIDRs, dual stack included', async (t) => {
  const c = planConflist({ podCIDRs: ['10.244.3.0/24', 'fd00:10:244:3::/64'], agentSocket: '/run/pontoon/cni.sock', mtu: 1450 }) as any
  t.equal(c.cniVersion, '1.0.0', "the highest version Debian's portmap speaks")
  t.same(c.plugins.map((p: any) => p.type), ['pontoon-cni', 'portmap'])
  t.same(c.plugins[0].ipam.ranges, [[{ subnet: '10.244.3.0/24' }], [{ subnet: 'fd00:10:244:3::/64' }]])
  t.equal(c.plugins[0].agentSocket, '/run/pontoon/cni.sock')
  t.equal(c.plugins[0].mtu, 1450)
  t.notOk(c.plugins[0].ipMasq, 'masquerade belongs to the service proxy, not per pod')
  const bare = planConflist({ podCIDRs: ['10.244.3.0/24'] }) as any
  t.notOk('agentSocket' in bare.plugins[0])
  t.notOk('mtu' in bare.plugins[0])
  t.notOk('dataDir' in bare.plugins[0].ipam, 'pontoon-ipam keeps its default directory')
})

t.test('the conflist can name the IPAM directory (each lab node keeps its own, inside the lab state dir)', async (t) => {
  const c = planConflist({ podCIDRs: ['10.244.3.0/24'], ipamDataDir: '/var/lib/pontoon-lab/nodes/node-1/ipam' }) as any
  t.equal(c.plugins[0].ipam.dataDir, '/var/lib/pontoon-lab/nodes/node-1/ipam')
})

t.test('atomic write: replaces whole, and leaves an unchanged file alone', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pontoon-aw-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const p = join(dir, 'sub', 'x.conflist')
  t.equal(writeFileAtomic(p, 'one\n'), true, 'created, with its directory')
  const ino = statSync(p).ino
  t.equal(writeFileAtomic(p, 'one\n'), false, 'same content: no write')
  t.equal(statSync(p).ino, ino, 'not even a rename')
  t.equal(writeFileAtomic(p, 'two\n'), true)
  t.equal(readFileSync(p, 'utf8'), 'two\n')
  t.not(statSync(p).ino, ino, 'replaced by rename, never rewritten in place')
  t.same(readdirSync(join(dir, 'sub')), ['x.conflist'], 'no temp file left')
})
