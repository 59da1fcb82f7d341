import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { CniError, ErrCode } from '../../src/cni/errors.ts'
import type { CniRequest } from '../../src/cni/types.ts'
import { formatIp } from '../../src/net/address.ts'
import { makeIpamCommands } from '../../src/ipam/plugin.ts'
import { MemoryStore } from '../../src/ipam/store-memory.ts'

function setup(ipam: Record<string, unknown>) {
  const stores = new Map<string, MemoryStore>()
  // One store per network, as the disk store keeps one directory per network.
  const cmds = makeIpamCommands((cfg) => {
    let s = stores.get(cfg.name)
    if (!s) stores.set(cfg.name, (s = new MemoryStore()))
    return s
  })
  const config = { cniVersion: '1.1.0', name: 'pods', type: 'bridge', ipam: { type: 'host-local', ...ipam } }
  const req = (containerId: string, over: Partial<CniRequest> = {}): CniRequest => ({
    command: 'ADD', containerId, netns: '/run/netns/x', ifName: 'eth0', args: {}, path: [], config,
    stdin: Buffer.alloc(0), env: {}, ...over,
  })
  const held = () => stores.get('pods')?.list().map((r) => `${formatIp(r.addr)}=${r.containerId}/${r.ifname}`).sort() ?? []
  return { cmds, req, held, config, stores }
}

async function rejection(p: Promise<unknown>): Promise<CniError> {
  try {
    await p
  } catch (e) {
    if (e instanceof CniError) return e
    throw e
  }
  throw new Error('did not reject')
}

t.test('ADD returns one address per range set with gateways and routes', async (t) => {
  const { cmds, req, held } = setup({ ranges: [[{ subnet: '10.244.1.0/24' }], [{ subnet: 'fd00:1::/64' }]], routes: [{ dst: '0.0.0.0/0' }, { dst: '::/0' }] })
  const r = await cmds.add(req('a'))
  t.same(r, {
    cniVersion: '1.1.0',
    ips: [{ address: '10.244.1.2/24', gateway: '10.244.1.1' }, { address: 'fd00:1::2/64', gateway: 'fd00:1::1' }],
    routes: [{ dst: '0.0.0.0/0' }, { dst: '::/0' }],
  })
  t.same(held(), ['10.244.1.2=a/eth0', 'fd00:1::2=a/eth0'])
  t.notOk(r.interfaces, 'IPAM results carry no interfaces')
})

t.test('ADD with resolvConf fills dns', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pt-ipam-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(join(dir, 'resolv.conf'), 'nameserver 10.96.0.10\nsearch svc.cluster.local\n')
  const { cmds, req } = setup({ subnet: '10.0.0.0/24', resolvConf: join(dir, 'resolv.conf') })
  const r = await cmds.add(req('a'))
  t.same(r.dns, { nameservers: ['10.96.0.10'], search: ['svc.cluster.local'] })
})

t.test('a missing resolvConf fails before anything is reserved', async (t) => {
  const { cmds, req, held } = setup({ subnet: '10.0.0.0/24', resolvConf: '/nonexistent/resolv.conf' })
  const e = await rejection(cmds.add(req('a')))
  t.equal(e.code, ErrCode.InvalidConfig)
  t.match(e.message, /^ipam\.resolvConf: cannot read \/nonexistent\/resolv\.conf/)
  t.same(held(), [])
})

t.test('ADD is all or nothing: an exhausted second set releases the first', async (t) => {
  const { cmds, req, held } = setup({ ranges: [[{ subnet: '10.0.0.0/24' }], [{ subnet: 'fd00::/126', rangeStart: 'fd00::2', rangeEnd: 'fd00::2' }]] })
  await cmds.add(req('a'))
  const e = await rejection(cmds.add(req('b')))
  t.equal(e.code, ErrCode.PoolExhausted)
  t.equal(e.message, 'no IP addresses available in range set fd00::/126 (fd00::2-fd00::2)')
  t.same(held(), ['10.0.0.2=a/eth0', 'fd00::2=a/eth0'], 'b holds nothing')
})

t.test('requested IP via CNI_ARGS; a taken one is AddressInUse', async (t) => {
  const { cmds, req, held } = setup({ subnet: '10.0.0.0/24' })
  const r = await cmds.add(req('a', { args: { IP: '10.0.0.50' } }))
  t.equal(r.ips?.[0]?.address, '10.0.0.50/24')
  const e = await rejection(cmds.add(req('b', { args: { IP: '10.0.0.50' } })))
  t.equal(e.code, ErrCode.AddressInUse)
  t.same(held(), ['10.0.0.50=a/eth0'])
})

t.test('DEL releases by containerID+ifname and is idempotent; it ignores a stale IP arg', async (t) => {
  const { cmds, req, held } = setup({ subnet: '10.0.0.0/24' })
  await cmds.add(req('a'))
  await cmds.add(req('a', { ifName: 'net1' }))
  await cmds.del(req('a', { command: 'DEL', netns: '', args: { IP: '192.168.9.9' } }))
  t.same(held(), ['10.0.0.3=a/net1'])
  await cmds.del(req('a', { command: 'DEL', netns: '' }))
  await cmds.del(req('never-added', { command: 'DEL', netns: '' }))
  t.same(held(), ['10.0.0.3=a/net1'])
})

t.test('CHECK passes while the reservation exists and fails after DEL', async (t) => {
  const { cmds, req } = setup({ ranges: [[{ subnet: '10.0.0.0/24' }], [{ subnet: 'fd00::/64' }]] })
  await cmds.add(req('a'))
  await cmds.check(req('a', { command: 'CHECK' }))
  await cmds.del(req('a', { command: 'DEL' }))
  const e = await rejection(cmds.check(req('a', { command: 'CHECK' })))
  t.equal(e.code, ErrCode.Check)
  t.match(e.message, /container a ifname eth0 has no address reserved in network pods/)
})

t.test('GC releases every reservation not among the valid attachments', async (t) => {
  const { cmds, req, held, config } = setup({ subnet: '10.0.0.0/24' })
  for (const id of ['a', 'b', 'c']) await cmds.add(req(id))
  const gcConfig = { ...config, 'cni.dev/valid-attachments': [{ containerID: 'b', ifname: 'eth0' }] }
  await cmds.gc(req('', { command: 'GC', config: gcConfig }))
  t.same(held(), ['10.0.0.3=b/eth0'])
})

t.test('GC without valid-attachments is refused rather than releasing everything', async (t) => {
  const { cmds, req, held } = setup({ subnet: '10.0.0.0/24' })
  await cmds.add(req('a'))
  const e = await rejection(cmds.gc(req('', { command: 'GC' })))
  t.equal(e.code, ErrCode.InvalidConfig)
  t.equal(e.message, 'cni.dev/valid-attachments: required for GC')
  const bad = await rejection(cmds.gc(req('', { command: 'GC', config: { ...setup({ subnet: '10.0.0.0/24' }).config, 'cni.dev/valid-attachments': [{ containerID: 'a' }] } })))
  t.match(bad.message, /^cni\.dev\/valid-attachments\[0\]\.ifname: expected an array of/)
  t.same(held(), ['10.0.0.2=a/eth0'])
})

t.test('STATUS is fine until a range set is full, then NotAvailable (50)', async (t) => {
  const { cmds, req } = setup({ ranges: [[{ subnet: '10.0.0.0/30' }], [{ subnet: 'fd00::/64' }]] })
  await cmds.status(req('', { command: 'STATUS' }))
  await cmds.add(req('a'))
  const e = await rejection(cmds.status(req('', { command: 'STATUS' })))
  t.equal(e.code, ErrCode.NotAvailable)
  t.equal(e.message, 'no IP addresses available in range set 10.0.0.0/30 (10.0.0.1-10.0.0.2)')
  await cmds.del(req('a', { command: 'DEL' }))
  await cmds.status(req('', { command: 'STATUS' }))
})
