import t from 'tap'
import { txOffloadWanted } from '../../src/overlay/offload.ts'

t.test('tx checksum offload: the flag wins, else on exactly with pontoon\'s own proxy', async (t) => {
  for (const mode of ['nftables', 'iptables', 'ipvs', 'userspace']) t.equal(txOffloadWanted(undefined, mode), true, `${mode}: on`)
  t.equal(txOffloadWanted(undefined, 'none'), false, 'none: off (other rules may SNAT the tunnel)')
  t.equal(txOffloadWanted(false, 'nftables'), false, '--no-vxlan-tx-checksum-offload turns it off')
  t.equal(txOffloadWanted(true, 'none'), true, '--vxlan-tx-checksum-offload turns it on')
})
