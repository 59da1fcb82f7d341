// The egress table's script: replaced whole in one transaction.
import t from 'tap'
import { egressScript } from '../../src/overlay/egress.ts'

t.test('masquerade from the cluster CIDRs to outside them, per family, not multicast', async (t) => {
  t.equal(egressScript(['10.244.0.0/16', 'fd00:10:244::/56']), [
    'table inet pontoon-egress',
    'delete table inet pontoon-egress',
    'table inet pontoon-egress {',
    '  chain postrouting {',
    '    type nat hook postrouting priority srcnat + 10; policy accept;',
    '    ip saddr { 10.244.0.0/16 } ip daddr != { 10.244.0.0/16 } ip daddr != 224.0.0.0/4 masquerade fully-random',
    '    ip6 saddr { fd00:10:244::/56 } ip6 daddr != { fd00:10:244::/56 } ip6 daddr != ff00::/8 masquerade fully-random',
    '  }',
    '}',
    '',
  ].join('\n'))
  t.match(egressScript(['10.244.0.0/16', '10.245.0.0/16']), /ip saddr \{ 10\.244\.0\.0\/16, 10\.245\.0\.0\/16 \} ip daddr != \{ 10\.244\.0\.0\/16, 10\.245\.0\.0\/16 \}/)
  t.notMatch(egressScript(['fd00:10:244::/56']), /\bip saddr/)
})

t.test('no cluster CIDR: the table is removed', async (t) => {
  t.equal(egressScript([]), 'table inet pontoon-egress\ndelete table inet pontoon-egress\n')
})
