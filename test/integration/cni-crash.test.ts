// Crash consistency: the plugin is SIGKILLed at each step of ADD in turn (via
// PONTOON_FAILPOINT). Afterwards a DEL, or a GC that names no attachment, must
// leave no IP, link or rule behind, and a fresh ADD must work.
import t from 'tap'
import { readdirSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { makeNetns, type Netns } from '../lib/netns.ts'
import { cni, bridgeConf, tempDataDir, PONTOON_CNI } from '../lib/cni.ts'
import { ADD_STEPS } from '../../src/cni/failpoint.ts'

function leftovers(node: Netns, pod: Netns, dataDir: string) {
  const links = (JSON.parse(node.run('ip', ['-j', 'link'])) as Array<{ ifname: string }>).map((l) => l.ifname).filter((n) => n.startsWith('pnv'))
  const dir = join(dataDir, 'podnet')
  const ips = existsSync(dir) ? readdirSync(dir).filter((f) => /^\d/.test(f)) : []
  const table = node.try('nft', ['list', 'table', 'inet', 'pontoon-cni'])
  const rules = table.status === 0 ? table.stdout.split('\n').filter((l) => l.includes('masquerade')) : []
  const podIf = pod.try('ip', ['link', 'show', 'eth0']).status === 0
  return { links, ips, rules, podIf }
}

for (const cleanup of ['DEL', 'GC'] as const) {
  for (const step of ADD_STEPS) {
    t.test(`killed after step "${step}", cleaned by ${cleanup}`, async (t) => {
      const node = makeNetns('node'), pod = makeNetns('pod')
      const data = tempDataDir('crash')
      t.teardown(() => { pod.destroy(); node.destroy(); data.cleanup() })
      const conf = bridgeConf({ dataDir: data.dir, ipMasq: true })
      const call = { command: 'ADD' as const, containerId: 'c-crash', netns: pod.path, ifName: 'eth0' }

      const killed = cni(node, PONTOON_CNI, { ...call, env: { PONTOON_FAILPOINT: step } }, conf)
      t.equal(killed.status, -1, 'the plugin died by signal')
      t.equal(killed.stdout, '', 'and printed nothing')

      const r = cleanup === 'DEL'
        ? cni(node, PONTOON_CNI, { ...call, command: 'DEL' }, conf)
        : cni(node, PONTOON_CNI, { command: 'GC' }, { ...conf, 'cni.dev/valid-attachments': [] })
      t.equal(r.status, 0, r.stdout)
      t.same(leftovers(node, pod, data.dir), { links: [], ips: [], rules: [], podIf: false }, 'nothing left behind')

      const again = cni(node, PONTOON_CNI, call, conf)
      t.equal(again.status, 0, `a fresh ADD works: ${again.stdout}`)
    })
  }
}
