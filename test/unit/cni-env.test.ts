import t from 'tap'
import { CniError, ErrCode } from '../../src/cni/errors.ts'
import { parseArgs, parseCommand, parseEnv, validateIfName } from '../../src/cni/env.ts'

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

/** The message of the InvalidEnv error parseEnv throws. */
function envError(env: NodeJS.ProcessEnv): string {
  try {
    parseEnv(env)
  } catch (e) {
    if (e instanceof CniError && e.code === ErrCode.InvalidEnv) return e.message
    throw e
  }
  throw new Error(`accepted ${JSON.stringify(env)}`)
}

t.test('each command requires exactly its variables (spec "Parameters")', async (t) => {
  const need: Record<string, string[]> = {
    ADD: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH'],
    CHECK: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH'],
    DEL: ['CNI_CONTAINERID', 'CNI_IFNAME', 'CNI_PATH'],
    GC: ['CNI_PATH'],
    STATUS: ['CNI_PATH'],
    VERSION: [],
  }
  for (const [command, vars] of Object.entries(need)) {
    t.equal(parseEnv({ ...full, CNI_COMMAND: command }).command, command, `${command} with everything set`)
    if (vars.length) t.equal(envError({ CNI_COMMAND: command }), `${vars.join(', ')}: required for ${command} but not set`, `${command} with nothing set`)
    else t.equal(parseEnv({ CNI_COMMAND: command }).command, command, `${command} needs nothing`)
    for (const v of ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME']) {
      const env = { ...full, CNI_COMMAND: command, [v]: undefined }
      if (vars.includes(v)) t.equal(envError(env), `${v}: required for ${command} but not set`, `${command} without ${v}`)
      else t.equal(parseEnv(env).command, command, `${command} without ${v}`)
    }
  }
})

t.test('CHECK requires CNI_NETNS: unset or empty', async (t) => {
  t.equal(envError({ ...full, CNI_COMMAND: 'CHECK', CNI_NETNS: undefined }), 'CNI_NETNS: required for CHECK but not set')
  t.equal(envError({ ...full, CNI_COMMAND: 'CHECK', CNI_NETNS: '' }), 'CNI_NETNS: required for CHECK but not set')
})

t.test('an empty CNI_PATH counts as set; its empty entries are dropped', async (t) => {
  t.same(parseEnv({ ...full, CNI_PATH: '' }).path, [])
  t.same(parseEnv({ ...full, CNI_PATH: ':/opt/cni/bin::/usr/lib/cni:' }).path, ['/opt/cni/bin', '/usr/lib/cni'])
  t.equal(envError({ ...full, CNI_CONTAINERID: '' }), 'CNI_CONTAINERID: required for ADD but not set', 'other variables may not be empty')
})

t.test('a parsed environment carries every field', async (t) => {
  t.same(parseEnv({ ...full, CNI_ARGS: 'IP=10.0.0.5' }), {
    command: 'ADD', containerId: 'abc', netns: '/run/netns/x', ifName: 'eth0', args: { IP: '10.0.0.5' }, path: ['/opt/cni/bin', '/usr/lib/cni'],
  })
  t.same(parseEnv({ CNI_COMMAND: 'VERSION' }), { command: 'VERSION', containerId: '', netns: '', ifName: '', args: {}, path: [] })
})

t.test('command names are exact', async (t) => {
  t.equal(envError({ CNI_COMMAND: '' }), 'CNI_COMMAND: required environment variable is not set')
  t.equal(envError({}), 'CNI_COMMAND: required environment variable is not set')
  t.equal(envError({ CNI_COMMAND: 'add' }), 'CNI_COMMAND: unknown command "add"; expected one of ADD, DEL, CHECK, VERSION, GC, STATUS')
  for (const c of ['ADD', 'DEL', 'CHECK', 'VERSION', 'GC', 'STATUS']) t.equal(parseCommand({ CNI_COMMAND: c }), c)
})

t.test('container IDs: letters, digits, _ . - and a letter or digit first', async (t) => {
  for (const id of ['a', '0', 'A_b.c-d', 'x-']) t.equal(parseEnv({ ...full, CNI_CONTAINERID: id }).containerId, id, id)
  for (const id of ['_a', '.a', 'a b', 'a:b', 'ä']) {
    t.equal(envError({ ...full, CNI_CONTAINERID: id }),
      `CNI_CONTAINERID: ${JSON.stringify(id)} must start with a letter or digit and hold only letters, digits, '_', '.' and '-'`, id)
  }
  t.equal(parseEnv({ CNI_COMMAND: 'GC', CNI_PATH: '/x', CNI_CONTAINERID: 'ok' }).containerId, 'ok', 'checked even where not required')
  t.equal(envError({ CNI_COMMAND: 'GC', CNI_PATH: '/x', CNI_CONTAINERID: '-x' }).startsWith('CNI_CONTAINERID:'), true)
})

t.test('interface names as the kernel takes them', async (t) => {
  for (const name of ['eth0', 'a', 'net1.100', 'a23456789012345', 'ü234567890123']) {
    t.doesNotThrow(() => validateIfName(name), name)
  }
  const why: Array<[string, string]> = [
    ['', 'is empty'],
    ['a234567890123456', 'is longer than 15 bytes (IFNAMSIZ)'],
    ['ü23456789012345', 'is longer than 15 bytes (IFNAMSIZ)'],
    ['.', 'is not a valid interface name'],
    ['..', 'is not a valid interface name'],
    ['eth:0', "must not contain '/', ':' or whitespace"],
    ['eth/0', "must not contain '/', ':' or whitespace"],
    ['eth 0', "must not contain '/', ':' or whitespace"],
    ['eth\t0', "must not contain '/', ':' or whitespace"],
    ['eth0\n', "must not contain '/', ':' or whitespace"],
  ]
  for (const [name, msg] of why) {
    t.throws(() => validateIfName(name), { code: ErrCode.InvalidEnv, message: `CNI_IFNAME: ${JSON.stringify(name)} ${msg}` }, JSON.stringify(name))
  }
  t.equal(envError({ ...full, CNI_IFNAME: 'eth:0' }), `CNI_IFNAME: "eth:0" must not contain '/', ':' or whitespace`, 'parseEnv checks it')
  t.equal(envError({ CNI_COMMAND: 'GC', CNI_PATH: '/x', CNI_IFNAME: '..' }), 'CNI_IFNAME: ".." is not a valid interface name', 'checked even where not required')
  t.equal(parseEnv({ CNI_COMMAND: 'GC', CNI_PATH: '/x' }).ifName, '', 'absent where not required')
})

t.test('CNI_ARGS: empty pairs are skipped, a key is required, values keep their "="', async (t) => {
  t.same(parseArgs(';A=1;;B=;'), { A: '1', B: '' })
  t.throws(() => parseArgs('=x'), { code: ErrCode.InvalidEnv, message: 'CNI_ARGS: "=x" is not KEY=VALUE' })
  t.throws(() => parseArgs('A=1;B'), { code: ErrCode.InvalidEnv, message: 'CNI_ARGS: "B" is not KEY=VALUE' })
  t.same(parseArgs('K=a=b=c'), { K: 'a=b=c' })
})
