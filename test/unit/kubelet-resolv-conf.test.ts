// A pod's resolv.conf as kubelet writes it, for each dnsPolicy, with dnsConfig merged and its limits.
import t from 'tap'
import { podResolvConf, type ClusterDns } from '../../src/lab/kubelet/resolv-conf.ts'

const cluster: ClusterDns = { servers: ['10.96.0.10'], domain: 'cluster.local' }
const node = '# the host\nnameserver 192.0.2.53\nnameserver 192.0.2.54\nsearch corp.example\noptions edns0 timeout:2\n'

t.test('ClusterFirst (the default): kube-dns, the namespace search path then the node\'s, ndots:5', async (t) => {
  const want = 'nameserver 10.96.0.10\nsearch shop.svc.cluster.local svc.cluster.local cluster.local corp.example\noptions ndots:5\n'
  t.equal(podResolvConf({}, 'shop', cluster, node), want)
  t.equal(podResolvConf({ dnsPolicy: 'ClusterFirst' }, 'shop', cluster, node), want)
  t.equal(podResolvConf({ dnsPolicy: 'ClusterFirstWithHostNet' }, 'shop', cluster, node), want)
  t.equal(podResolvConf({}, 'default', { servers: ['10.96.0.10'], domain: 'lab.test' }, ''), 'nameserver 10.96.0.10\nsearch default.svc.lab.test svc.lab.test lab.test\noptions ndots:5\n')
  t.equal(podResolvConf({}, 'shop', cluster, 'domain only.example\n'), 'nameserver 10.96.0.10\nsearch shop.svc.cluster.local svc.cluster.local cluster.local only.example\noptions ndots:5\n', "the node's domain when it has no search line")
})

t.test('ClusterFirst without --cluster-dns, or on the host network: the node\'s file, as kubelet falls back', async (t) => {
  t.equal(podResolvConf({}, 'shop', { servers: [], domain: 'cluster.local' }, node), null)
  t.equal(podResolvConf({ dnsPolicy: 'ClusterFirstWithHostNet' }, 'shop', { servers: [], domain: 'cluster.local' }, node), null)
  t.equal(podResolvConf({ hostNetwork: true }, 'shop', cluster, node), null)
  t.not(podResolvConf({ hostNetwork: true, dnsPolicy: 'ClusterFirstWithHostNet' }, 'shop', cluster, node), null, 'WithHostNet keeps cluster DNS')
})

t.test('Default: the node\'s file; with dnsConfig, the node\'s settings merged', async (t) => {
  t.equal(podResolvConf({ dnsPolicy: 'Default' }, 'shop', cluster, node), null)
  t.equal(podResolvConf({ dnsPolicy: 'Default', dnsConfig: { nameservers: ['198.51.100.1'], options: [{ name: 'timeout', value: '5' }, { name: 'rotate' }] } }, 'shop', cluster, node),
    'nameserver 192.0.2.53\nnameserver 192.0.2.54\nnameserver 198.51.100.1\nsearch corp.example\noptions edns0 timeout:5 rotate\n')
})

t.test('None: dnsConfig alone; without one it is an error', async (t) => {
  t.equal(podResolvConf({ dnsPolicy: 'None', dnsConfig: { nameservers: ['1.1.1.1'], searches: ['a.example', 'b.example', 'a.example'], options: [{ name: 'ndots', value: '2' }] } }, 'shop', cluster, node),
    'nameserver 1.1.1.1\nsearch a.example b.example\noptions ndots:2\n')
  t.equal(podResolvConf({ dnsPolicy: 'None', dnsConfig: { nameservers: ['1.1.1.1'] } }, 'shop', cluster, node), 'nameserver 1.1.1.1\n')
  t.equal(podResolvConf({ dnsPolicy: 'None', dnsConfig: {} }, 'shop', cluster, node), '\n')
  t.throws(() => podResolvConf({ dnsPolicy: 'None' }, 'shop', cluster, node), { code: 'EPODDNS', message: 'dnsPolicy None needs a dnsConfig' })
})

t.test('ClusterFirst with dnsConfig: appended, options overridden by name', async (t) => {
  t.equal(podResolvConf({ dnsConfig: { nameservers: ['10.96.0.10', '1.1.1.1'], searches: ['extra.example'], options: [{ name: 'ndots', value: '2' }, { name: 'single-request' }] } }, 'shop', cluster, ''),
    'nameserver 10.96.0.10\nnameserver 1.1.1.1\nsearch shop.svc.cluster.local svc.cluster.local cluster.local extra.example\noptions ndots:2 single-request\n')
})

t.test('bad input: each refused with the field, nothing that could split a line', async (t) => {
  const bad = (dnsConfig: unknown, message: RegExp | string) => t.throws(() => podResolvConf({ dnsPolicy: 'None', dnsConfig }, 'shop', cluster, node), { code: 'EPODDNS', message })
  bad('x', 'dnsConfig must be an object')
  bad([], 'dnsConfig must be an object')
  bad({ nameservers: ['1.1.1.1\nnameserver 6.6.6.6'] }, 'dnsConfig.nameservers must be a list of single words')
  bad({ nameservers: '1.1.1.1' }, 'dnsConfig.nameservers must be a list of single words')
  bad({ searches: ['a b'] }, 'dnsConfig.searches must be a list of single words')
  bad({ searches: [7] }, 'dnsConfig.searches must be a list of single words')
  bad({ options: 'ndots' }, 'dnsConfig.options must be a list')
  bad({ options: [{ value: '1' }] }, 'dnsConfig.options[0].name must be a single word')
  bad({ options: [{ name: 'a:b' }] }, 'dnsConfig.options[0].name must be a single word')
  bad({ options: [{ name: 'ndots', value: '1 2' }] }, 'dnsConfig.options[0].value must be a single word')
  bad({ options: [{ name: 'ndots', value: 3 }] }, 'dnsConfig.options[0].value must be a single word')
  bad({ nameservers: ['1.1.1.1', '1.1.1.2', '1.1.1.3', '1.1.1.4'] }, '4 nameservers: at most 3')
  bad({ searches: Array.from({ length: 33 }, (_, i) => `s${i}.example`) }, '33 search domains: at most 32')
  t.equal(podResolvConf({ dnsPolicy: 'None', dnsConfig: { options: [{ name: 'rotate', value: null }] } }, 'shop', cluster, node), 'options rotate\n')
  t.throws(() => podResolvConf({ dnsPolicy: 'Sometimes' }, 'shop', cluster, node), { code: 'EPODDNS', message: 'dnsPolicy "Sometimes" is not one of ClusterFirst, ClusterFirstWithHostNet, Default, None' })
  t.equal(podResolvConf({ dnsConfig: null }, 'shop', cluster, ''), 'nameserver 10.96.0.10\nsearch shop.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n')
})
