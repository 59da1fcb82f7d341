import t from 'tap'
import { parseArgs, parseEnv } from '../../src/cni/env.ts'

const full = { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'abc', CNI_NETNS: '/run/netns/x', CNI_IFNAME: 'eth0', CNI_PATH: '/opt/cni/bin:/usr/lib/cni' }

t.test('a full ADD environment parses', async (t) => {
  const e = parseEnv(full)
  t.equal(e.command, 'ADD')
  t.same(e.path, ['/opt/cni/bin', '/usr/lib/cni'])
  t.same(e.args, {})
})

t.test('DEL tolerates an empty CNI_NETNS', async (t) => {
  const e = parseEnv({ ...full, CNI_COMMAND: 'DEL', CNI_NETNS: '' })
  t.equal(e.netns, '')
})

const bad: Array<[string, NodeJS.ProcessEnv, RegExp]> = [
  ['no command', { ...full, CNI_COMMAND: undefined }, /CNI_COMMAND: required/],
  ['unknown command', { ...full, CNI_COMMAND: 'FROB' }, /CNI_COMMAND: unknown command "FROB"/],
  ['ADD without netns', { ...full, CNI_NETNS: '' }, /CNI_NETNS: required for ADD/],
  ['ADD without container id', { ...full, CNI_CONTAINERID: undefined }, /CNI_CONTAINERID: required/],
  ['CHECK without ifname', { ...full, CNI_COMMAND: 'CHECK', CNI_IFNAME: undefined }, /CNI_IFNAME: required/],
  ['bad container id', { ...full, CNI_CONTAINERID: '-abc' }, /CNI_CONTAINERID: "-abc" must start/],
  ['container id with slash', { ...full, CNI_CONTAINERID: 'a/b' }, /CNI_CONTAINERID/],
  ['long ifname', { ...full, CNI_IFNAME: 'a234567890123456' }, /CNI_IFNAME: .* longer than 15/],
  ['ifname with slash', { ...full, CNI_IFNAME: 'et/h0' }, /CNI_IFNAME: .*must not contain/],
  ['ifname dot', { ...full, CNI_IFNAME: '..' }, /CNI_IFNAME/],
  ['bad CNI_ARGS', { ...full, CNI_ARGS: 'IP' }, /CNI_ARGS: "IP" is not KEY=VALUE/],
]
for (const [name, env, msg] of bad) {
  t.test(`invalid env: ${name} gives code 4`, async (t) => {
    t.throws(() => parseEnv(env), { name: "CniError", code: 4, message: msg })
  })
}

t.test('CNI_ARGS parsing', async (t) => {
  t.same(parseArgs('IgnoreUnknown=1;IP=10.0.0.5;K8S_POD_NAME=a=b'), { IgnoreUnknown: '1', IP: '10.0.0.5', K8S_POD_NAME: 'a=b' })
  t.same(parseArgs(''), {})
})
