import t from 'tap'
import { envName, serviceEnv, serviceFromObject, servicesForPod, serviceVariables, type ServiceLike } from '../../src/lab/kubelet/service-env.ts'

const svc = (namespace: string, name: string, clusterIP: string | undefined, ports: ServiceLike['ports']): ServiceLike => ({ namespace, name, ...(clusterIP === undefined ? {} : { clusterIP }), ports })
const kubernetes = svc('default', 'kubernetes', '10.96.0.1', [{ name: 'https', port: 443, protocol: 'TCP' }])
const asMap = (pairs: Array<{ name: string; value: string }>) => Object.fromEntries(pairs.map((p) => [p.name, p.value]))

t.test('names: upper case, dashes to underscores', async (t) => {
  t.equal(envName('redis-master'), 'REDIS_MASTER')
  t.equal(envName('a-b-c'), 'A_B_C')
  t.equal(envName('x'), 'X')
})

t.test("one Service's variables, in kubelet's order, as its documentation shows for redis-master", async (t) => {
  const vars = serviceVariables(svc('default', 'redis-master', '10.0.0.11', [{ port: 6379, protocol: 'TCP' }]))
  t.same(vars, [
    { name: 'REDIS_MASTER_SERVICE_HOST', value: '10.0.0.11' },
    { name: 'REDIS_MASTER_SERVICE_PORT', value: '6379' },
    { name: 'REDIS_MASTER_PORT', value: 'tcp://10.0.0.11:6379' },
    { name: 'REDIS_MASTER_PORT_6379_TCP', value: 'tcp://10.0.0.11:6379' },
    { name: 'REDIS_MASTER_PORT_6379_TCP_PROTO', value: 'tcp' },
    { name: 'REDIS_MASTER_PORT_6379_TCP_PORT', value: '6379' },
    { name: 'REDIS_MASTER_PORT_6379_TCP_ADDR', value: '10.0.0.11' },
  ])
})

t.test('named ports, several ports, protocol default and case, IPv6', async (t) => {
  const v = asMap(serviceVariables(svc('ns', 'dns-svc', '10.96.0.10', [{ name: 'dns-udp', port: 53, protocol: 'UDP' }, { name: 'metrics', port: 9153 }, { port: 8080, protocol: 'sctp' }])))
  t.equal(v.DNS_SVC_SERVICE_PORT, '53', 'SERVICE_PORT is the first port')
  t.equal(v.DNS_SVC_SERVICE_PORT_DNS_UDP, '53')
  t.equal(v.DNS_SVC_SERVICE_PORT_METRICS, '9153')
  t.notOk(Object.keys(v).some((k) => k.startsWith('DNS_SVC_SERVICE_PORT_') && k.endsWith('8080')), 'an unnamed port has no SERVICE_PORT_<NAME>')
  t.equal(v.DNS_SVC_PORT, 'udp://10.96.0.10:53', '<NAME>_PORT is the first port only')
  t.equal(v.DNS_SVC_PORT_9153_TCP, 'tcp://10.96.0.10:9153', 'no protocol means TCP')
  t.equal(v.DNS_SVC_PORT_9153_TCP_PROTO, 'tcp')
  t.equal(v.DNS_SVC_PORT_8080_SCTP, 'sctp://10.96.0.10:8080')
  t.equal(v.DNS_SVC_PORT_8080_SCTP_PROTO, 'sctp')
  t.equal(v.DNS_SVC_PORT_53_UDP_PORT, '53')
  t.equal(v.DNS_SVC_PORT_53_UDP_ADDR, '10.96.0.10')
  t.equal(Object.keys(v).length, 2 + 2 + 1 + 3 * 4)
  const v6 = asMap(serviceVariables(svc('ns', 'six', 'fd00::10', [{ port: 80 }])))
  t.equal(v6.SIX_PORT, 'tcp://[fd00::10]:80', 'IPv6 in brackets, as net.JoinHostPort writes it')
  t.equal(v6.SIX_PORT_80_TCP, 'tcp://[fd00::10]:80')
  t.equal(v6.SIX_PORT_80_TCP_ADDR, 'fd00::10')
  t.equal(v6.SIX_SERVICE_HOST, 'fd00::10')
})

t.test("which Services: the pod's namespace, plus default/kubernetes always", async (t) => {
  const all = [
    kubernetes,
    svc('default', 'other-default', '10.96.0.20', [{ port: 1 }]),
    svc('app', 'web', '10.96.0.30', [{ port: 80 }]),
    svc('app', 'headless', 'None', [{ port: 80 }]),
    svc('app', 'external', '', [{ port: 80 }]),
    svc('app', 'unset', undefined, [{ port: 80 }]),
    svc('app', 'noports', '10.96.0.31', []),
    svc('app', 'alpha', '10.96.0.32', [{ port: 81 }]),
    svc('else', 'far', '10.96.0.40', [{ port: 80 }]),
  ]
  t.same(servicesForPod(all, 'app', true).map((s) => s.name), ['alpha', 'kubernetes', 'web'], 'sorted by name; headless, no IP, no ports, other namespaces left out')
  t.same(servicesForPod(all, 'app', false).map((s) => s.name), ['kubernetes'], 'enableServiceLinks: false keeps only kubernetes')
  t.same(servicesForPod(all, 'default', true).map((s) => s.name), ['kubernetes', 'other-default'])
  t.same(servicesForPod(all, 'default', false).map((s) => s.name), ['kubernetes'])
  t.same(servicesForPod([svc('default', 'kubernetes', 'None', [{ port: 443 }])], 'x', true), [], 'a kubernetes Service without an IP gives nothing')
  t.same(servicesForPod([svc('else', 'kubernetes', '10.96.9.9', [{ port: 443 }])], 'x', true), [], 'kubernetes only from the default namespace')
})

t.test("a Service named kubernetes in the pod's own namespace wins over default's", async (t) => {
  const own = svc('app', 'kubernetes', '10.96.5.5', [{ port: 8443 }])
  for (const order of [[kubernetes, own], [own, kubernetes]]) {
    const v = asMap(serviceEnv(order, 'app', true))
    t.equal(v.KUBERNETES_SERVICE_HOST, '10.96.5.5')
    t.equal(v.KUBERNETES_SERVICE_PORT, '8443')
  }
  t.equal(asMap(serviceEnv([kubernetes, own], 'app', false)).KUBERNETES_SERVICE_HOST, '10.96.0.1', 'without links, the default one')
})

t.test('serviceEnv is the variables of every chosen Service, in name order', async (t) => {
  const env = serviceEnv([svc('a', 'b', '10.96.0.2', [{ port: 2 }]), svc('a', 'a', '10.96.0.1', [{ port: 1 }])], 'a', true)
  t.same(env.filter((e) => e.name.endsWith('_SERVICE_HOST')).map((e) => e.name), ['A_SERVICE_HOST', 'B_SERVICE_HOST'])
  t.equal(env.length, 14)
})

t.test('Service objects from the API are read defensively', async (t) => {
  t.same(serviceFromObject({ metadata: { namespace: 'n', name: 's' }, spec: { clusterIP: '10.96.0.1', ports: [{ name: 'http', port: 80, protocol: 'TCP' }, { port: 'x' }, null, { port: 53 }] } }),
    { namespace: 'n', name: 's', clusterIP: '10.96.0.1', ports: [{ port: 80, name: 'http', protocol: 'TCP' }, { port: 53 }] })
  t.same(serviceFromObject({ metadata: { namespace: 'n', name: 's' }, spec: {} }), { namespace: 'n', name: 's', ports: [] })
  t.same(serviceFromObject({ metadata: { namespace: 'n', name: 's' } }), { namespace: 'n', name: 's', ports: [] })
  t.same(serviceFromObject({ metadata: { namespace: 'n', name: 's' }, spec: { clusterIP: 5, ports: [{ port: 1, name: 2, protocol: 3 }] } }), { namespace: 'n', name: 's', ports: [{ port: 1 }] })
  t.equal(serviceFromObject(null), undefined)
  t.equal(serviceFromObject('x'), undefined)
  t.equal(serviceFromObject({ metadata: { name: 's' } }), undefined)
  t.equal(serviceFromObject({ metadata: { namespace: 'n' } }), undefined)
  t.equal(serviceFromObject({}), undefined)
})
