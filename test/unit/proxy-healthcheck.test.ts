import t from 'tap'
import type { PortIntent } from '../../src/proxy/plan/intent.ts'
import { healthAnswer, healthTargets } from '../../src/proxy/healthcheck/targets.ts'

const ep = (ip: string) => ({ ip, port: 8080, local: true })

function intent(o: Partial<PortIntent> = {}): PortIntent {
  return {
    key: 'default/web:http:tcp:4', service: 'default/web', portName: 'http', family: 4, protocol: 'tcp',
    clusterIP: '10.96.0.10', port: 80, nodePort: 30080, externalIPs: [], loadBalancerIPs: ['198.51.100.7'], loadBalancerSourceRanges: [],
    affinityTimeoutSeconds: 0, internalPolicyLocal: false, externalPolicyLocal: true, healthCheckNodePort: 32000,
    clusterEndpoints: [ep('10.244.1.7'), ep('10.244.2.9')], localEndpoints: [ep('10.244.1.7')], hasAnyEndpoints: true, ...o,
  }
}

t.test('one target per healthCheckNodePort; the most local endpoints of any port or family', async (t) => {
  const { targets, conflicts } = healthTargets([
    intent(),
    intent({ key: 'default/web:https:tcp:4', localEndpoints: [ep('10.244.1.7'), ep('10.244.1.8')] }),
    intent({ key: 'default/web:http:tcp:6', family: 6, localEndpoints: [] }),
    intent({ key: 'default/plain:http:tcp:4', service: 'default/plain', healthCheckNodePort: null }),
    intent({ key: 'kube-system/lb:x:udp:4', service: 'kube-system/lb', healthCheckNodePort: 32001, localEndpoints: [] }),
  ])
  t.same([...targets.values()], [
    { port: 32000, namespace: 'default', name: 'web', localEndpoints: 2 },
    { port: 32001, namespace: 'kube-system', name: 'lb', localEndpoints: 0 },
  ])
  t.same(conflicts, [])
  t.same(healthTargets([]).targets.size, 0)
})

t.test('two Services on one port: the first by name keeps it, the other is a conflict', async (t) => {
  const { targets, conflicts } = healthTargets([intent({ service: 'zz/b', key: 'zz/b:http:tcp:4' }), intent({ service: 'aa/a', key: 'aa/a:http:tcp:4' })])
  t.same([...targets.values()].map((x) => `${x.namespace}/${x.name}`), ['aa/a'])
  t.same(conflicts, [{ port: 32000, service: 'zz/b', holder: 'aa/a' }])
})

t.test('one Service whose intents disagree on the port keeps the lowest', async (t) => {
  const { targets } = healthTargets([intent({ healthCheckNodePort: 32005 }), intent({ key: 'k2', healthCheckNodePort: 32003 }), intent({ key: 'k3', healthCheckNodePort: 32004 })])
  t.same([...targets.keys()], [32003])
})

t.test("kube-proxy's answer: 200 with local endpoints, 503 without or when the proxy is unhealthy", async (t) => {
  const a = healthAnswer({ port: 32000, namespace: 'default', name: 'web', localEndpoints: 2 }, true)
  t.equal(a.status, 200)
  t.same(a.headers, { 'Content-Type': 'application/json', 'X-Content-Type-Options': 'nosniff', 'X-Load-Balancing-Endpoint-Weight': '2' })
  t.equal(a.body, '{\n\t"service": {\n\t\t"namespace": "default",\n\t\t"name": "web"\n\t},\n\t"localEndpoints": 2,\n\t"serviceProxyHealthy": true\n}')
  t.same(JSON.parse(a.body), { service: { namespace: 'default', name: 'web' }, localEndpoints: 2, serviceProxyHealthy: true })
  const none = healthAnswer({ port: 32000, namespace: 'default', name: 'web', localEndpoints: 0 }, true)
  t.same([none.status, none.headers['X-Load-Balancing-Endpoint-Weight']], [503, '0'])
  const sick = healthAnswer({ port: 32000, namespace: 'default', name: 'web', localEndpoints: 3 }, false)
  t.same([sick.status, JSON.parse(sick.body).serviceProxyHealthy], [503, false])
  t.equal(JSON.parse(healthAnswer({ port: 1, namespace: 'a"b', name: 'c', localEndpoints: 1 }, true).body).service.namespace, 'a"b')
})
