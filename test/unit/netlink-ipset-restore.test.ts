// The restore text parser and the order Ipset sends it in: every form the proxy
// renderers write, every refusal (with its line), phases, and set types along the text.
import t from 'tap'
import { IpsetRestoreError, MAX_LINE_BYTES, MAX_LINES, parseRestore, phases, setsToLookUp, setTypesAt, type RestoreCommand } from '../../src/netlink/ipset-restore.ts'

t.test('every form the renderers write', async (t) => {
  const text = [
    'create KUBE-CLUSTER-IP hash:ip,port family inet maxelem 1048576 -exist',
    'create KUBE6-X hash:net family inet6 maxelem 1 -exist',
    'create KUBE-NODE-PORT-TCP bitmap:port range 0-65535 -exist',
    'create P bitmap:port range 30000-30000',
    'create Q hash:ip family inet maxelem 2147483647',
    '',
    'flush KUBT-CLUSTER-IP',
    'add KUBT-CLUSTER-IP 10.96.0.1,tcp:80',
    'add KUBT-CLUSTER-IP 10.96.0.2,udp:53 -exist',
    'del KUBE-CLUSTER-IP 10.96.0.3,tcp:80 -exist',
    '  swap KUBT-CLUSTER-IP KUBE-CLUSTER-IP  ',
    'destroy KUBT-CLUSTER-IP',
    '',
  ].join('\n')
  t.same(parseRestore(text), [
    { line: 1, text: 'create KUBE-CLUSTER-IP hash:ip,port family inet maxelem 1048576 -exist', kind: 'create', set: 'KUBE-CLUSTER-IP', type: 'hash:ip,port', family: 4, maxelem: 1048576 },
    { line: 2, text: 'create KUBE6-X hash:net family inet6 maxelem 1 -exist', kind: 'create', set: 'KUBE6-X', type: 'hash:net', family: 6, maxelem: 1 },
    { line: 3, text: 'create KUBE-NODE-PORT-TCP bitmap:port range 0-65535 -exist', kind: 'create', set: 'KUBE-NODE-PORT-TCP', type: 'bitmap:port', family: undefined, range: [0, 65535] },
    { line: 4, text: 'create P bitmap:port range 30000-30000', kind: 'create', set: 'P', type: 'bitmap:port', family: undefined, range: [30000, 30000] },
    { line: 5, text: 'create Q hash:ip family inet maxelem 2147483647', kind: 'create', set: 'Q', type: 'hash:ip', family: 4, maxelem: 2147483647 },
    { line: 7, text: 'flush KUBT-CLUSTER-IP', kind: 'flush', set: 'KUBT-CLUSTER-IP' },
    { line: 8, text: 'add KUBT-CLUSTER-IP 10.96.0.1,tcp:80', kind: 'add', set: 'KUBT-CLUSTER-IP', element: '10.96.0.1,tcp:80' },
    { line: 9, text: 'add KUBT-CLUSTER-IP 10.96.0.2,udp:53 -exist', kind: 'add', set: 'KUBT-CLUSTER-IP', element: '10.96.0.2,udp:53' },
    { line: 10, text: 'del KUBE-CLUSTER-IP 10.96.0.3,tcp:80 -exist', kind: 'del', set: 'KUBE-CLUSTER-IP', element: '10.96.0.3,tcp:80' },
    { line: 11, text: '  swap KUBT-CLUSTER-IP KUBE-CLUSTER-IP  ', kind: 'swap', set: 'KUBT-CLUSTER-IP', set2: 'KUBE-CLUSTER-IP' },
    { line: 12, text: 'destroy KUBT-CLUSTER-IP', kind: 'destroy', set: 'KUBT-CLUSTER-IP' },
  ])
  t.same(parseRestore(''), [])
  t.same(parseRestore('\n\n'), [])
  t.equal(parseRestore('flush A').length, 1, 'no final newline')
})

t.test('every refusal names the line number and the line', async (t) => {
  const bad: Array<[string, RegExp]> = [
    ['flush', /expected "flush NAME"/],
    ['destroy', /expected "destroy NAME"/],
    ['flush A B', /expected "flush NAME"/],
    ['add A', /expected "add NAME ELEMENT \[-exist\]"/],
    ['add A 1.2.3.4 5.6.7.8', /expected "add NAME ELEMENT/],
    ['del A -exist', /expected "del NAME ELEMENT/],
    ['swap A', /expected "swap FROM TO"/],
    ['swap A B C', /expected "swap FROM TO"/],
    ['rename A B', /not a restore command/],
    ['COMMIT', /not a restore command/],
    ['# comment', /not a restore command/],
    ['test A 1.2.3.4', /not a restore command/],
    ['create A list:set', /set type "list:set" is not one pontoon uses/],
    ['create A', /set type "" is not one/],
    ['create A hash:ip family inet', /takes exactly "family inet\|inet6 maxelem N"/],
    ['create A hash:ip family inet maxelem', /takes exactly/],
    ['create A hash:ip family ipv4 maxelem 5', /takes exactly/],
    ['create A hash:ip maxelem 5 family inet', /takes exactly/],
    ['create A hash:ip family inet maxelem 0', /takes exactly/],
    ['create A hash:ip family inet maxelem 010', /takes exactly/],
    ['create A hash:ip family inet maxelem 2147483648', /takes exactly/],
    ['create A hash:ip family inet maxelem 5 hashsize 64', /takes exactly/],
    ['create A hash:ip family inet maxelem 5 -exist -exist', /takes exactly/],
    ['create A bitmap:port', /exactly "range FROM-TO"/],
    ['create A bitmap:port range 0-65536', /range FROM-TO/],
    ['create A bitmap:port range 10-9', /range FROM-TO/],
    ['create A bitmap:port range 01-9', /range FROM-TO/],
    ['create A bitmap:port range 0-', /range FROM-TO/],
    ['create A bitmap:port family inet range 0-1', /range FROM-TO/],
    ['create A bitmap:port range 0-1 x', /range FROM-TO/],
    ['add A\u00e9 1.2.3.4', /not a set name/],
    [`add ${'A'.repeat(32)} 1.2.3.4`, /not a set name/],
    ['swap A B/C', /not a set name/],
    [`add A ${'1'.repeat(MAX_LINE_BYTES)}`, /longer than 512 characters/],
  ]
  for (const [line, why] of bad) {
    const e = t.throws(() => parseRestore(`flush OK\n\n${line}\nflush OK\n`), IpsetRestoreError, line) as unknown as IpsetRestoreError
    t.equal(e.line, 3, `${line}: the line number counts blank lines`)
    t.equal(e.text, line)
    t.equal(e.code, 'EINVAL_LINE')
    t.match(e.message, why, line)
    t.match(e.message, `line 3: ${JSON.stringify(line.slice(0, 200))}`)
  }
  t.throws(() => parseRestore(42 as unknown as string), { code: 'EINVAL_TEXT' })
  t.throws(() => parseRestore('\n'.repeat(MAX_LINES) + 'flush A\n'), { line: MAX_LINES + 1, message: /more than 4000000 lines/ }, 'bounded in lines')
  t.equal(parseRestore('\n'.repeat(MAX_LINES - 1) + 'flush A\n')[0]!.line, MAX_LINES, 'the last line allowed')
  t.same(parseRestore('flush\tA')[0], { line: 1, text: 'flush\tA', kind: 'flush', set: 'A' }, 'tabs separate words too')
  t.doesNotThrow(() => parseRestore(`add A ${'1'.repeat(MAX_LINE_BYTES - 6)}`), 'a line of exactly the bound')
})

const cmds = (text: string) => parseRestore(text)
const lines = (cs: RestoreCommand[]) => cs.map((c) => c.line)

const shape = (ps: ReturnType<typeof phases>) => ps.map((x) => [lines(x.prepare), lines(x.fill), lines(x.commit)])

t.test('phases: creates and flushes first, swaps and destroys last, unless that would reorder commands on one set', async (t) => {
  const full = cmds('create A hash:ip family inet maxelem 5\ncreate A-T hash:ip family inet maxelem 5\nflush A-T\nadd A-T 1.2.3.4\nswap A-T A\ndestroy A-T\n' +
    'create B hash:ip family inet maxelem 5\ncreate B-T hash:ip family inet maxelem 5\nflush B-T\nadd B-T 1.2.3.4\nswap B-T B\ndestroy B-T\n')
  t.same(shape(phases(full)), [[[1, 2, 3, 7, 8, 9], [4, 10], [5, 6, 11, 12]]], 'twins of different names: one phase')
  const reuse = cmds('create T hash:ip family inet maxelem 5\nadd T 1.2.3.4\nswap T A\ndestroy T\ncreate T hash:ip family inet maxelem 5\nadd T 1.2.3.5\nswap T B\nflush C\n')
  t.same(shape(phases(reuse)), [[[1], [2], [3, 4]], [[5, 8], [6], [7]]], 'a twin name used again starts a new phase')
  t.same(shape(phases(cmds('swap X Y\nadd Y 1.2.3.4\n'))), [[[], [], [1]], [[], [2], []]], 'the second set of a swap holds too')
  t.same(shape(phases(cmds('destroy X\nadd Z 1.2.3.4\nadd X 1.2.3.4\n'))), [[[], [2], [1]], [[], [3], []]])
  t.same(shape(phases(cmds('destroy X\nflush X\n'))), [[[], [], [1]], [[2], [], []]], 'a flush after a destroy of its set')
  t.same(shape(phases(cmds('add X 1.2.3.4\nflush X\nadd X 1.2.3.5\n'))), [[[], [1], []], [[2], [3], []]], 'a flush after adds to its set is not hoisted over them')
  t.same(shape(phases(cmds('add X 1.2.3.4\nflush Y\ncreate Z hash:ip family inet maxelem 5\n'))), [[[2, 3], [1], []]], 'other sets\' creates and flushes are')
  t.same(phases([]), [])
  t.same(shape(phases(cmds('del A 1.2.3.4\nadd B 1.2.3.4\n'))), [[[], [1, 2], []]], 'a delta: one pipelined part')
})

t.test('the sets whose type must come from the kernel', async (t) => {
  t.same(setsToLookUp(cmds('create A hash:ip family inet maxelem 5\nadd A 1.2.3.4\nadd B 1.2.3.4\nswap C A\ndestroy D\nflush B\ncreate E hash:ip family inet maxelem 5\n')), ['B', 'C', 'D'])
  t.same(setsToLookUp(cmds('add A 1.2.3.4\ncreate A hash:ip family inet maxelem 5\n')), ['A'], 'used before it is created')
  t.same(setsToLookUp(cmds('swap A B\n')), ['A', 'B'])
})

t.test('set types along the text', async (t) => {
  const c = cmds([
    'add K 1.2.3.4', // 1: known from the kernel
    'add N 1.2.3.4', // 2: not there
    'create N hash:net family inet6 maxelem 5',
    'add N fd00::/64', // 4
    'create K bitmap:port range 0-1', // exists already: the kernel's type stays
    'add K 1.2.3.4', // 6
    'swap N K',
    'add N 1.2.3.4', // 8: now K's old type
    'add K fd00::/64', // 9: N's
    'destroy N',
    'add N 1', // 11: gone
    'swap K M', // M unknown: K becomes unknown
    'add K 1', // 13
    'add M fd00::1', // 14: N's type came along
    'flush M',
    'add M fd00::1', // 16
  ].join('\n'))
  const before = new Map([['K', { type: 'hash:ip' as const, family: 4 as const }]])
  const types = setTypesAt(c, before)
  const at = (line: number) => types[c.findIndex((x) => x.line === line)]
  t.same(at(1), { type: 'hash:ip', family: 4 })
  t.equal(at(2), undefined)
  t.same(at(4), { type: 'hash:net', family: 6 })
  t.same(at(6), { type: 'hash:ip', family: 4 })
  t.same(at(8), { type: 'hash:ip', family: 4 })
  t.same(at(9), { type: 'hash:net', family: 6 })
  t.equal(at(11), undefined)
  t.equal(at(13), undefined)
  t.same(at(14), { type: 'hash:net', family: 6 })
  t.same(at(16), { type: 'hash:net', family: 6 })
  t.equal(at(3), undefined, 'creates have no element type')
  t.equal(at(15), undefined)
  t.same(before.size, 1, 'the kernel view is not changed')
})
