// The dispatcher, driven in-process with env/stdin/stdout passed in.
import t from 'tap'
import { dispatch } from '../../src/cni/skel.ts'
import { CniError } from '../../src/cni/errors.ts'
import type { CniPlugin, CniRequest } from '../../src/cni/types.ts'

function recorder() {
  const calls: Array<[string, CniRequest]> = []
  const plugin: CniPlugin = {
    add: async (r) => { calls.push(['add', r]); return { cniVersion: '1.1.0', ips: [{ address: '10.0.0.2/24', gateway: '10.0.0.1', interface: 0 }], interfaces: [{ name: 'eth0' }] } },
    del: async (r) => { calls.push(['del', r]) },
    check: async (r) => { calls.push(['check', r]) },
    gc: async (r) => { calls.push(['gc', r]) },
    status: async () => { throw new CniError(50, 'pool exhausted') },
  }
  return { calls, plugin }
}

async function run(env: NodeJS.ProcessEnv, stdin: unknown) {
  const { calls, plugin } = recorder()
  let out = ''
  const code = await dispatch(
    { env, stdin: Buffer.from(typeof stdin === 'string' ? stdin : JSON.stringify(stdin)), write: (s) => { out += s } },
    ['pontoon-cni'],
    async () => plugin,
  )
  return { code, out: out ? JSON.parse(out) : undefined, calls }
}

const env = { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c1', CNI_NETNS: '/run/netns/p', CNI_IFNAME: 'eth0', CNI_PATH: '/opt/cni/bin' }
const conf = { cniVersion: '0.4.0', name: 'net', type: 'pontoon-cni', ipam: { type: 'pontoon-ipam' } }

t.test('VERSION needs no config and lists what we speak', async (t) => {
  const r = await run({ CNI_COMMAND: 'VERSION' }, '')
  t.equal(r.code, 0)
  t.same(r.out.supportedVersions, ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'])
  t.equal(r.calls.length, 0)
})

t.test('ADD answers in the version it was asked for', async (t) => {
  const r = await run(env, conf)
  t.equal(r.code, 0)
  t.equal(r.out.cniVersion, '0.4.0')
  t.equal(r.out.ips[0].version, '4')
  t.equal(r.calls[0]![1].containerId, 'c1')
})

t.test('a conflist on stdin selects our entry', async (t) => {
  const r = await run(env, { cniVersion: '1.0.0', name: 'net', plugins: [{ type: 'pontoon-cni', ipam: { type: 'x' } }, { type: 'portmap' }] })
  t.equal(r.code, 0)
  t.equal(r.calls[0]![1].config.name, 'net')
})

t.test('errors are the spec error JSON, in the config version', async (t) => {
  const r = await run({ ...env, CNI_COMMAND: 'STATUS' }, { ...conf, cniVersion: '1.1.0' })
  t.equal(r.code, 1)
  t.same(r.out, { cniVersion: '1.1.0', code: 50, msg: 'pool exhausted' })
})

const bad: Array<[string, NodeJS.ProcessEnv, unknown, number, RegExp]> = [
  ['bad JSON', env, '{"cniVersion":', 6, /stdin: not valid JSON/],
  ['empty stdin', env, '', 6, /stdin: empty/],
  ['array stdin', env, '[]', 6, /expected a JSON object/],
  ['unsupported version', env, { ...conf, cniVersion: '0.2.0' }, 1, /cniVersion: version "0.2.0" is not supported/],
  ['no version', env, { ...conf, cniVersion: undefined }, 7, /cniVersion: missing/],
  ['no name', env, { ...conf, name: undefined }, 7, /name: required/],
  ['bad name', env, { ...conf, name: 'a b' }, 7, /name: "a b"/],
  ['wrong type', env, { ...conf, type: 'bridge' }, 7, /type: "bridge" is not this plugin/],
  ['CHECK on 0.3.1', { ...env, CNI_COMMAND: 'CHECK' }, { ...conf, cniVersion: '0.3.1' }, 1, /does not support CHECK/],
  ['GC on 1.0.0', { ...env, CNI_COMMAND: 'GC' }, { ...conf, cniVersion: '1.0.0' }, 1, /does not support GC/],
  ['conflist without us', env, { cniVersion: '1.0.0', name: 'n', plugins: [{ type: 'portmap' }] }, 7, /plugins: no entry/],
  ['bad env', { ...env, CNI_IFNAME: '' }, conf, 4, /CNI_IFNAME/],
]
for (const [name, e, stdin, code, msg] of bad) {
  t.test(`bad input: ${name} → code ${code}, plugin not called`, async (t) => {
    const r = await run(e, stdin)
    t.equal(r.code, 1)
    t.equal(r.out.code, code)
    t.match(r.out.msg, msg)
    t.equal(r.calls.length, 0)
  })
}

t.test('each command is logged to PONTOON_CNI_LOG, never to stdout', async (t) => {
  const { mkdtempSync, readFileSync, rmSync } = await import('node:fs')
  const { join } = await import('node:path')
  const { tmpdir } = await import('node:os')
  const dir = mkdtempSync(join(tmpdir(), 'pontoon-log-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'cni.log')
  const ok = await run({ ...env, PONTOON_CNI_LOG: file }, conf)
  t.equal(ok.code, 0)
  t.equal(ok.out.cniVersion, '0.4.0', 'stdout is only the result')
  const bad = await run({ ...env, PONTOON_CNI_LOG: file }, { ...conf, mtu: 'x', type: 'nope' })
  t.equal(bad.code, 1)
  const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l))
  t.equal(lines.length, 2)
  t.match(lines[0], { command: 'ADD', containerId: 'c1', ifName: 'eth0', network: 'net' })
  t.notOk('code' in lines[0])
  t.match(lines[1], { command: 'ADD', code: 7, msg: /type: "nope"/ })
})
