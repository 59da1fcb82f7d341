// The IPVS mode's constant iptables rules and its ipset texts, pure: whole restore
// dumps as golden files (test/golden/ipvs), the canary, and the cleanup, which
// takes only what carries our mark.
import t, { type Test } from 'tap'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { FamilyGlobals, ProxyGlobals } from '../../src/proxy/plan/intent.ts'
import { ruleLine } from '../../src/proxy/iptables/render.ts'
import {
  builtinJumps, CHAINS, chainTail, familyRules, isOurSet, nodePortOfSet, observeBuiltinJumps, renderCleanup, renderRules,
  renderSetsCleanup, renderSetsDelta, renderSetsFull, tableFlushed,
} from '../../src/proxy/ipvs/rules.ts'

const GOLDEN = join(dirname(fileURLToPath(import.meta.url)), '..', 'golden', 'ipvs')
function golden(t: Test, name: string, text: string): void {
  const file = join(GOLDEN, `${name}.txt`)
  if (process.env.PONTOON_UPDATE_GOLDEN === '1' || !existsSync(file)) {
    if (process.env.PONTOON_UPDATE_GOLDEN !== '1') t.fail(`no golden file ${name}.txt (run with PONTOON_UPDATE_GOLDEN=1)`)
    writeFileSync(file, text)
  }
  t.equal(text, readFileSync(file, 'utf8'), `golden ${name}`)
}

const fam4: FamilyGlobals = { family: 4, clusterCIDRs: ['10.244.0.0/16'], nodePortAddresses: 'local' }
const fam6: FamilyGlobals = { family: 6, clusterCIDRs: ['fd00:10:244::/56'], nodePortAddresses: 'local' }
const globals = (over: Partial<ProxyGlobals> = {}): ProxyGlobals => ({ nodeName: 'n', masqueradeAll: false, families: [fam4], ...over })
const restore = (g: ProxyGlobals, observed = new Map()) => renderRules(g, observed).map((r) => `# IPv${r.family} (${r.rules} rules)\n${r.text}`).join('')

t.test('golden: the constant rules, per family and masquerade choice', async (t) => {
  golden(t, 'rules-v4', restore(globals()))
  golden(t, 'rules-dual-stack', restore(globals({ families: [fam4, fam6] })))
  golden(t, 'rules-masquerade-all', restore(globals({ masqueradeAll: true })))
  golden(t, 'rules-no-local-detection', restore(globals({ families: [{ ...fam4, clusterCIDRs: [] }] })))
  golden(t, 'rules-several-cluster-cidrs', restore(globals({ families: [{ ...fam4, clusterCIDRs: ['10.244.0.0/16', '10.245.0.0/16'] }] })))
})

t.test('the rule count does not depend on the Services: it is a function of the globals only', async (t) => {
  const a = familyRules(fam4, false)
  t.equal(a.nat.length + a.filter.length, renderRules(globals(), new Map())[0]!.rules)
  t.throws(() => familyRules({ ...fam4, clusterCIDRs: ['not-a-cidr'] }, false), { code: 'IPT_BAD_INTENT' })
})

t.test('a full restore deletes the jumps a dump showed before writing them again', async (t) => {
  const old = ruleLine('-A', builtinJumps().nat[0]!)
  const text = renderRules(globals(), new Map([[4, { nat: [old], filter: [] }]]))[0]!.text
  const lines = text.split('\n')
  t.ok(lines.indexOf(`-D${old.slice(2)}`) >= 0 && lines.indexOf(`-D${old.slice(2)}`) < lines.indexOf(old), 'the old jump is deleted, then written once')
  t.equal(lines.filter((l) => l === old).length, 1)
})

const save = (table: string, extra: string[] = []) => {
  const r = familyRules(fam4, false)
  const t2 = table as 'nat' | 'filter'
  const builtin = t2 === 'nat' ? ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'] : ['INPUT', 'FORWARD', 'OUTPUT']
  return [`*${table}`, ...builtin.map((c) => `:${c} ACCEPT [0:0]`), ...CHAINS[t2].map((c) => `:${c} - [0:0]`),
    ...builtinJumps()[t2].map((j) => ruleLine('-A', j)), ...r[t2].map((x) => ruleLine('-A', x)), ...CHAINS[t2].map((c) => ruleLine('-A', chainTail(c))), ...extra, 'COMMIT'].join('\n') + '\n'
}

t.test('canary: a flushed chain or a deleted jump shows', async (t) => {
  t.notOk(tableFlushed('nat', save('nat')))
  t.notOk(tableFlushed('filter', save('filter')))
  t.ok(tableFlushed('filter', save('filter').split('\n').filter((l) => !l.startsWith('-A KUBE-IPVS-FILTER')).join('\n')), 'KUBE-IPVS-FILTER flushed')
  t.ok(tableFlushed('nat', save('nat').split('\n').filter((l) => !l.startsWith('-A PREROUTING')).join('\n')), 'the PREROUTING jump deleted')
  t.ok(tableFlushed('nat', ''), 'a flushed table')
  t.same(observeBuiltinJumps(save('nat', ['-A PREROUTING -j FOREIGN'])).length, 3, 'only our marked jumps in built-in chains')
})

t.test('cleanup takes our rules and chains, and nothing else', async (t) => {
  const foreign = ['-A INPUT -s 198.51.100.7/32 -j ACCEPT', '-A FORWARD -m comment --comment "pontoon something" -j ACCEPT']
  const text = renderCleanup('filter', save('filter', foreign))
  t.match(text, /^\*filter\n:KUBE-IPVS-FILTER - \[0:0\]\n-D INPUT .*pontoon-ipvs.*-j KUBE-IPVS-FILTER\n-X KUBE-IPVS-FILTER\nCOMMIT\n$/)
  t.notMatch(text, /198\.51\.100\.7|pontoon something/, 'foreign rules, and the iptables mode\'s, stay')
  t.equal(renderCleanup('filter', '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j ACCEPT\nCOMMIT\n'), '', 'nothing of ours: nothing to do')
  const adopted = renderCleanup('filter', save('filter', ['-A FORWARD -j KUBE-IPVS-FILTER']))
  t.notMatch(adopted, /-X KUBE-IPVS-FILTER/, 'a chain a foreign rule jumps to stays')
  t.match(adopted, /-D KUBE-IPVS-FILTER .*pontoon-ipvs/, 'emptied of our rules')
})

t.test('sets: a full sync fills twins and swaps them in; a delta adds and deletes members', async (t) => {
  const sets = new Map([['KUBE-CLUSTER-IP', new Set(['10.96.0.10,tcp:80', '10.96.0.1,tcp:443'])], ['KUBE6-CLUSTER-IP', new Set(['fd00::a,udp:53'])]])
  golden(t, 'sets-full', renderSetsFull({ sets }, [4, 6]))
  t.equal(renderSetsDelta(['KUBE-CLUSTER-IP 10.96.0.10,tcp:80'], ['KUBE-NODE-PORT-TCP 30080']), 'del KUBE-CLUSTER-IP 10.96.0.10,tcp:80 -exist\nadd KUBE-NODE-PORT-TCP 30080 -exist\n')
  t.equal(renderSetsDelta([], []), '')
  t.equal(renderSetsCleanup(['FOREIGN-SET', 'KUBE-CLUSTER-IP', 'KUBE6-LOOP-BACK', 'KUBT-CLUSTER-IP', 'KUBE-CLUSTER-IP-T', 'PONTOON-CLUSTER-IPS-4']), 'destroy KUBE-CLUSTER-IP\ndestroy KUBE6-LOOP-BACK\ndestroy KUBT-CLUSTER-IP\n')
  t.ok(renderSetsFull({ sets: new Map() }, [4, 6]).split('\n').every((l) => !/^create (\S+)/.test(l) || /^create (\S+)/.exec(l)![1]!.length <= 31), 'every set and twin name within ipset\'s 31 characters')
  t.equal(renderSetsCleanup(['FOREIGN-SET']), '')
  t.ok(isOurSet('KUBE-NODE-PORT-LOCAL-SCTP'))
  t.notOk(isOurSet('KUBE-NODE-PORT-ICMP'))
})

t.test('our NodePort sets, whose members record our NodePorts, by name', async (t) => {
  t.equal(nodePortOfSet('KUBE-NODE-PORT-TCP'), 'tcp')
  t.equal(nodePortOfSet('KUBE-NODE-PORT-LOCAL-UDP'), 'udp')
  t.equal(nodePortOfSet('KUBE6-NODE-PORT-SCTP'), 'sctp')
  t.equal(nodePortOfSet('KUBE6-NODE-PORT-LOCAL-TCP'), 'tcp')
  for (const n of ['FOREIGN-PORTS', 'KUBE-CLUSTER-IP', 'KUBT-NODE-PORT-TCP', 'KUBE-NODE-PORT-ICMP', 'KUBE-NODE-PORT-TCP-X', 'XKUBE-NODE-PORT-TCP', 'KUBE4-NODE-PORT-TCP']) t.equal(nodePortOfSet(n), undefined, n)
})
