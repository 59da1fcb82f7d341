import t from 'tap'
import { parseResolvConf } from '../../src/ipam/resolv-conf.ts'

t.test('reads nameservers, domain, search and options as host-local does', async (t) => {
  const text = [
    '# generated',
    '; also a comment',
    'nameserver 10.96.0.10',
    'nameserver   fd00::a  extra-ignored',
    'domain first.example',
    'domain cluster.local',
    'search default.svc.cluster.local svc.cluster.local',
    'search cluster.local',
    'options ndots:5 timeout:1\r',
    'nameserver',
    '   ',
    'sortlist 10.0.0.0/8',
  ].join('\n')
  t.same(parseResolvConf(text), {
    nameservers: ['10.96.0.10', 'fd00::a'],
    domain: 'cluster.local',
    search: ['default.svc.cluster.local', 'svc.cluster.local', 'cluster.local'],
    options: ['ndots:5', 'timeout:1'],
  })
})

t.test('an empty file gives an empty dns block', async (t) => {
  t.same(parseResolvConf(''), {})
})
