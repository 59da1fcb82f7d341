import t from 'tap'
import { ErrCode } from '../../src/cni/errors.ts'
import { checkHead, decodeStdin, selectPlugin } from '../../src/cni/netconf.ts'

const stdin = (s: string) => Buffer.from(s, 'utf8')

t.test('stdin: a JSON object is decoded as is', async (t) => {
  t.same(decodeStdin(stdin(' {"cniVersion":"1.0.0","name":"n","x":[1]}\n')), { cniVersion: '1.0.0', name: 'n', x: [1] })
})

t.test('stdin: anything but a JSON object is a decode failure', async (t) => {
  for (const s of ['', ' \n\t']) {
    t.throws(() => decodeStdin(stdin(s)), { code: ErrCode.DecodeFailure, message: 'stdin: empty; expected the network configuration as JSON' }, JSON.stringify(s))
  }
  t.throws(() => decodeStdin(stdin('{"a":')), { code: ErrCode.DecodeFailure, message: /^stdin: not valid JSON: \S/ })
  for (const s of ['[]', 'null', '3', '"x"', 'true']) {
    t.throws(() => decodeStdin(stdin(s)), { code: ErrCode.DecodeFailure, message: 'stdin: expected a JSON object' }, s)
  }
})

t.test('a single-plugin config passes through selectPlugin untouched', async (t) => {
  const conf = { cniVersion: '1.0.0', name: 'n', type: 'bridge' }
  t.equal(selectPlugin(conf, ['bridge']), conf)
})

t.test('from a conflist, our entry gets the list name and version', async (t) => {
  const list = {
    cniVersion: '1.1.0', name: 'pods',
    plugins: [null, 'x', { type: 'portmap', name: 'other' }, { type: 'pontoon', bridge: 'cni0', cniVersion: '0.3.1', name: 'inner' }, { type: 'bridge' }],
  }
  t.same(selectPlugin(list, ['bridge', 'pontoon']), { type: 'pontoon', bridge: 'cni0', cniVersion: '1.1.0', name: 'pods' })
  t.same(selectPlugin(list, ['bridge']), { type: 'bridge', cniVersion: '1.1.0', name: 'pods' })
})

t.test('a conflist without our entry, or with plugins not a list, is a config error', async (t) => {
  t.throws(() => selectPlugin({ plugins: [{ type: 'portmap' }] }, ['bridge', 'pontoon']),
    { code: ErrCode.InvalidConfig, message: 'plugins: no entry has type "bridge" or "pontoon"' })
  t.throws(() => selectPlugin({ plugins: [] }, ['bridge']), { code: ErrCode.InvalidConfig, message: 'plugins: no entry has type "bridge"' })
  for (const plugins of [{ type: 'bridge' }, 'bridge', null]) {
    t.throws(() => selectPlugin({ plugins }, ['bridge']), { code: ErrCode.InvalidConfig, message: 'plugins: expected an array of plugin configurations' })
  }
})

t.test('the head: cniVersion, name and type', async (t) => {
  t.same(checkHead({ cniVersion: '0.4.0', name: 'a_b.c-1', type: 'bridge', extra: 1 }), { cniVersion: '0.4.0', name: 'a_b.c-1', type: 'bridge' })
  t.same(checkHead({ cniVersion: '1.1.0', name: '9', type: 'x' }), { cniVersion: '1.1.0', name: '9', type: 'x' })
})

const badHeads: Array<[string, Record<string, unknown>, number, string | RegExp]> = [
  ['no cniVersion', { name: 'n', type: 't' }, ErrCode.InvalidConfig, /^cniVersion: missing/],
  ['unsupported cniVersion', { cniVersion: '0.2.0', name: 'n', type: 't' }, ErrCode.IncompatibleVersion, /^cniVersion: version "0.2.0" is not supported/],
  ['no name', { cniVersion: '1.0.0', type: 't' }, ErrCode.InvalidConfig, 'name: required string is missing'],
  ['empty name', { cniVersion: '1.0.0', name: '', type: 't' }, ErrCode.InvalidConfig, 'name: required string is missing'],
  ['name not a string', { cniVersion: '1.0.0', name: 7, type: 't' }, ErrCode.InvalidConfig, 'name: required string is missing'],
  ['name starting with a dot', { cniVersion: '1.0.0', name: '.n', type: 't' }, ErrCode.InvalidConfig,
    `name: ".n" must start with a letter or digit and hold only letters, digits, '_', '.' and '-'`],
  ['name with a slash', { cniVersion: '1.0.0', name: 'a/b', type: 't' }, ErrCode.InvalidConfig, /^name: "a\/b" must start/],
  ['name with a trailing newline', { cniVersion: '1.0.0', name: 'ab\n', type: 't' }, ErrCode.InvalidConfig, /^name: "ab\\n" must start/],
  ['no type', { cniVersion: '1.0.0', name: 'n' }, ErrCode.InvalidConfig, 'type: required string is missing'],
  ['empty type', { cniVersion: '1.0.0', name: 'n', type: '' }, ErrCode.InvalidConfig, 'type: required string is missing'],
  ['type not a string', { cniVersion: '1.0.0', name: 'n', type: ['bridge'] }, ErrCode.InvalidConfig, 'type: required string is missing'],
]
for (const [name, conf, code, message] of badHeads) {
  t.test(`head rejected: ${name}`, async (t) => t.throws(() => checkHead(conf), { code, message }))
}
