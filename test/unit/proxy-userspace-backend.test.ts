// The userspace backend's refusals, before any socket or rule: the host
// namespace PONTOON_FORBID_NETNS names, and a netns it cannot open sockets in.
import t from 'tap'
import { readlinkSync } from 'node:fs'
import { openBackend } from '../../src/proxy/backends.ts'
import { UserspaceBackend } from '../../src/proxy/userspace/backend.ts'
import type { ProxyPlan } from '../../src/proxy/plan/intent.ts'

const plan: ProxyPlan = { globals: { nodeName: 'n', masqueradeAll: false, families: [{ family: 4, clusterCIDRs: [], nodePortAddresses: 'local' }] }, intents: new Map() }

t.test('the forbidden namespace is refused by openBackend and by the backend itself', async (t) => {
  const saved = process.env.PONTOON_FORBID_NETNS
  process.env.PONTOON_FORBID_NETNS = readlinkSync('/proc/thread-self/ns/net')
  t.teardown(() => { if (saved === undefined) delete process.env.PONTOON_FORBID_NETNS; else process.env.PONTOON_FORBID_NETNS = saved })
  await t.rejects(openBackend('userspace'), { code: 'HOST_NETNS_FORBIDDEN', message: /--proxy-mode userspace: refusing/ })
  const b = new UserspaceBackend({})
  t.teardown(() => b.close())
  await t.rejects(b.syncAll(plan), { code: 'HOST_NETNS_FORBIDDEN' })
  await t.rejects(b.syncDelta(plan, { upserted: [], removed: [], previous: new Map() }), { code: 'HOST_NETNS_FORBIDDEN' })
})

t.test('a namespace path is for cleanup only: syncs are refused, with the reason', async (t) => {
  const b = new UserspaceBackend({ netnsPath: '/run/netns/none' })
  t.teardown(() => b.close())
  await t.rejects(b.syncAll(plan), { code: 'PROXY_APPLY', message: /opens its sockets in its own network namespace/ })
  t.equal(await b.flushed(), true, 'never synced: a full sync is due')
})

t.test('a closed backend refuses work', async (t) => {
  const b = new UserspaceBackend({})
  b.close()
  await t.rejects(b.syncAll(plan), { code: 'PROXY_APPLY', message: /closed/ })
  t.equal(b.mode, 'userspace')
  t.same([...b.ports()], [])
})
