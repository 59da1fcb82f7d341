// 50 ADDs at once into one node, as a busy kubelet would: every one succeeds,
// every IP is unique, and every pod can reach the gateway.
import t from 'tap'
import { spawn } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { makeNetns, type Netns } from '../lib/netns.ts'
import { bridgeConf, tempDataDir, PONTOON_CNI, CNI_PATH } from '../lib/cni.ts'
import { ping } from '../lib/traffic.ts'

const N = 50

function addAsync(node: Netns, pod: Netns, id: string, conf: unknown): Promise<{ status: number | null; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn('nsenter', ['--net=' + node.path, '--', PONTOON_CNI], {
      env: { PATH: process.env.PATH, CNI_COMMAND: 'ADD', CNI_CONTAINERID: id, CNI_NETNS: pod.path, CNI_IFNAME: 'eth0', CNI_PATH },
    })
    let stdout = ''
    child.stdout.on('data', (d) => { stdout += d })
    child.on('close', (status) => resolve({ status, stdout }))
    child.stdin.end(JSON.stringify(conf))
  })
}

t.test(`${N} parallel ADDs give ${N} unique IPs and no errors`, async (t) => {
  const node = makeNetns('node')
  const data = tempDataDir('par')
  const pods = Array.from({ length: N }, () => makeNetns('pod'))
  t.teardown(() => { for (const p of pods) p.destroy(); node.destroy(); data.cleanup() })
  const conf = bridgeConf({ dataDir: data.dir })

  const results = await Promise.all(pods.map((p, i) => addAsync(node, p, `c-par-${i}`, conf)))
  const failed = results.filter((r) => r.status !== 0)
  t.same(failed, [], 'no ADD failed')
  const ips = results.map((r) => JSON.parse(r.stdout).ips[0].address as string)
  t.equal(new Set(ips).size, N, 'all IPs unique')
  t.equal(readdirSync(join(data.dir, 'podnet')).filter((f) => /^\d/.test(f)).length, N, `${N} reservations on disk`)
  const ports = JSON.parse(node.run('ip', ['-j', 'link', 'show', 'master', 'cni0'])) as unknown[]
  t.equal(ports.length, N, `${N} ports on the bridge`)
  // Every pod has a working network, not just an address.
  t.ok(ping(pods[0]!, '10.244.7.1') && ping(pods[N - 1]!, '10.244.7.1'), 'first and last pod reach the gateway')
  const addrs = pods.map((p) => JSON.parse(p.run('ip', ['-j', '-4', 'addr', 'show', 'eth0']))[0].addr_info[0].local)
  t.same(addrs.sort(), ips.map((a) => a.split('/')[0]).sort(), 'each pod holds the IP it was given')
})
