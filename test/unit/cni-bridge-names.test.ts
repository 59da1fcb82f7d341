// The kernel names and tags an attachment is known by. Their format is pinned:
// DEL and GC of a newer plugin must find what an older ADD made.
import t from 'tap'
import { ALIAS_MAX, hostVethName, masqNetworkPrefix, masqTag, MASQ_TAG_MAX, vethAlias } from '../../src/cni/bridge/names.ts'

t.test('host veth name: "pnv" and 12 hex (48 bits) of FNV-1a 64 over "containerID/ifname"', async (t) => {
  t.equal(hostVethName('c1', 'eth0'), 'pnv9e27a0abdbb0', 'pinned: fnv1a64("c1/eth0") = 9e27a0abdbb07ad3')
  for (const [id, ifn] of [['c1', 'eth0'], ['x'.repeat(300), 'net1'], ['0123456789abcdef'.repeat(4), 'e'.repeat(15)]] as const) {
    const n = hostVethName(id, ifn)
    t.match(n, /^pnv[0-9a-f]{12}$/, n)
    t.equal(Buffer.byteLength(n), 15, 'exactly IFNAMSIZ - 1')
  }
  t.not(hostVethName('c1', 'eth0'), hostVethName('c1', 'eth1'))
  t.not(hostVethName('c1', 'eth0'), hostVethName('c2', 'eth0'))
})

t.test('the owner alias holds the container ID and ifname, within IFALIASZ', async (t) => {
  t.equal(vethAlias('c1', 'eth0'), 'pontoon:c1/eth0')
  const id = 'f'.repeat(64)
  t.equal(vethAlias(id, 'eth0'), `pontoon:${id}/eth0`, 'a real container ID is kept whole')
  const fits = 'a'.repeat(ALIAS_MAX - 'pontoon:/eth0'.length)
  t.equal(vethAlias(fits, 'eth0'), `pontoon:${fits}/eth0`, 'exactly 255 bytes is kept')
  t.equal(Buffer.byteLength(vethAlias(fits, 'eth0')), ALIAS_MAX)
  const long = vethAlias(fits + 'a', 'eth0')
  t.match(long, /^pontoon:~[0-9a-f]{16}\/eth0$/, 'one byte more and the ID is hashed')
  t.equal(vethAlias(fits + 'a', 'eth0'), long, 'deterministically')
  t.not(vethAlias(fits + 'b', 'eth0'), long)
})

t.test('masquerade tags stay within nft\'s 128-byte comment limit for any name', async (t) => {
  t.equal(masqTag('podnet', 'c1', 'eth0'), 'pontoon:podnet:c1:eth0', 'short names are readable')
  const net48 = 'n'.repeat(48)
  t.equal(masqNetworkPrefix(net48), `pontoon:${net48}:`, 'a 48-byte network name is kept')
  t.match(masqNetworkPrefix(net48 + 'n'), /^pontoon:~[0-9a-f]{16}:$/, 'a longer one is hashed')
  for (const net of ['p', net48, 'n'.repeat(49), 'x'.repeat(255)]) {
    for (const id of ['c1', 'f'.repeat(64), 'i'.repeat(120), 'z'.repeat(1000)]) {
      const tag = masqTag(net, id, 'e'.repeat(15))
      t.ok(Buffer.byteLength(tag) <= MASQ_TAG_MAX, `${net.length}/${id.length}: ${tag.length} bytes`)
      t.ok(tag.startsWith(masqNetworkPrefix(net)), 'GC finds a network\'s rules by its prefix')
      t.equal(masqTag(net, id, 'e'.repeat(15)), tag, 'deterministic')
    }
  }
  t.not(masqTag('x'.repeat(200), 'c1', 'eth0'), masqTag('x'.repeat(199) + 'y', 'c1', 'eth0'), 'distinct long networks get distinct tags')
  t.not(masqTag('p', 'z'.repeat(1000), 'eth0'), masqTag('p', 'z'.repeat(999) + 'y', 'eth0'), 'distinct long IDs too')
  t.not(masqNetworkPrefix('a'), masqNetworkPrefix('ab'))
})
