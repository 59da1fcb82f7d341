import { makeNetns } from '../test/lib/netns.ts'
import { inNetns } from '../src/netns/index.ts'
import { NlSocket } from '../src/netlink/socket.ts'
import { NETLINK_NETFILTER } from '../src/netlink/constants.ts'
import { batchBegin, batchEnd, elemAttr, setElemMsgs } from '../src/netlink/codec-nft.ts'
const ns = makeNetns('nftr')
try {
  ns.run('nft', ['add table inet t; add set inet t s { type ipv4_addr . inet_proto . inet_service ; }; add map inet t m { type ipv4_addr : verdict ; }; add chain inet t c; add map inet t b { typeof ip daddr . meta l4proto . th dport . numgen random mod 65536 : ip daddr . tcp dport ; }'])
  const sock = inNetns(ns.path, () => new NlSocket({ protocol: NETLINK_NETFILTER, timeoutMs: 2000 }))
  const key = Buffer.from([10, 96, 0, 1, 6, 0, 0, 0, 0, 80, 0, 0])
  const el = setElemMsgs('add', 't', 's', [elemAttr({ key })])
  const m = setElemMsgs('add', 't', 'm', [elemAttr({ key: Buffer.from([10, 96, 0, 2]), data: { kind: 'verdict', code: 'goto', chain: 'c' } })])
  const bkey = Buffer.from([10, 96, 0, 1, 6, 0, 0, 0, 0, 80, 0, 0, 3, 0, 0, 0])
  const b = setElemMsgs('add', 't', 'b', [elemAttr({ key: bkey, data: { kind: 'value', bytes: Buffer.from([10, 128, 0, 5, 0x1f, 0x40, 0, 0]) } })])
  try { console.log('ack on END:', await sock.quietBatch('nft', [batchBegin(), ...el, batchEnd()])) } catch (e) { console.log('END ack err', (e as Error).message) }
  try { console.log('ack on last elem:', await sock.quietBatch('nft', [batchBegin(), ...m, ...b, batchEnd()])) } catch (e) { console.log('last ack err', (e as Error).message) }
  console.log(ns.run('nft', ['list table inet t']))
  sock.close()
} finally { ns.destroy() }
