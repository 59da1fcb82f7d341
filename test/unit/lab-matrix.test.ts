import t from 'tap'
import { judge, matrixPassed, parseEchoLine, planMatrix, renderMatrix, type MatrixInput } from '../../src/lab/matrix.ts'

const input: MatrixInput = {
  client: { name: 'client', node: 'node-1', ip: '10.244.0.7' },
  echo: [
    { name: 'echo-node-1', node: 'node-1', ip: '10.244.0.5' },
    { name: 'echo-node-2', node: 'node-2', ip: '10.244.1.5' },
    { name: 'echo-node-3', node: 'node-3', ip: '10.244.2.5' },
  ],
  duo: { name: 'duo', node: 'node-1', ip: '10.244.0.6' },
  service: { name: 'echo', clusterIP: '10.96.0.20', port: 80, nodePort: 30080 },
  nodes: [{ name: 'node-1', ip: '172.18.0.11' }, { name: 'node-2', ip: '172.18.0.12' }, { name: 'node-3', ip: '172.18.0.13' }],
  echoPort: 8080,
  relayPort: 9090,
}

t.test('the plan has every case of the issue, in order', async (t) => {
  const cases = planMatrix(input)
  t.same(cases.map((c) => c.kind), [
    'pod-pod-same-node', 'pod-pod-cross-node', 'pod-pod-cross-node',
    'container-localhost', 'pod-clusterip', 'pod-service-name',
    'outside-nodeport', 'outside-nodeport', 'outside-nodeport',
  ])
  const same = cases[0]!
  t.same(same.from, { pod: 'client' })
  t.same(same.to, { host: '10.244.0.5', port: 8080 })
  t.same(same.names, ['echo-node-1'])
  t.equal(same.peer, '10.244.0.7', 'pod to pod keeps the source address')
  t.equal(cases[1]!.title, 'pod -> pod across nodes (node-1 -> node-2)')
  t.equal(cases[1]!.peer, '10.244.0.7', 'across nodes too: no NAT')
  const duo = cases[3]!
  t.same(duo.to, { host: '10.244.0.6', port: 9090 })
  t.same(duo.names, ['duo'])
  t.equal(duo.peer, '127.0.0.1', 'the relay container reached the echo container over loopback')
  const cip = cases[4]!
  t.same(cip.to, { host: '10.96.0.20', port: 80 })
  t.same(cip.names, ['echo-node-1', 'echo-node-2', 'echo-node-3'])
  t.equal(cip.peer, undefined)
  const byName = cases[5]!
  t.same(byName.to, { host: 'echo', port: 80 }, 'the Service by its short name: the pod resolves it')
  t.equal(byName.resolve, true)
  t.same(byName.from, { pod: 'client' })
  t.same(byName.names, ['echo-node-1', 'echo-node-2', 'echo-node-3'])
  t.equal(byName.title, 'pod -> Service echo by its short name (cluster DNS)')
  t.equal(cip.resolve, undefined, 'the ClusterIP case connects to the address as is')
  const np = cases.slice(6)
  t.same(np.map((c) => c.to), [{ host: '172.18.0.11', port: 30080 }, { host: '172.18.0.12', port: 30080 }, { host: '172.18.0.13', port: 30080 }])
  t.ok(np.every((c) => 'outside' in c.from && c.peer === undefined))
  t.equal(np[1]!.title, 'outside -> NodePort on node-2')
})

t.test('one node: the same-node case only, no cross-node case', async (t) => {
  const one = planMatrix({ ...input, echo: [input.echo[0]!], nodes: [input.nodes[0]!] })
  t.same(one.map((c) => c.kind), ['pod-pod-same-node', 'container-localhost', 'pod-clusterip', 'pod-service-name', 'outside-nodeport'])
})

t.test('echo lines parse, IPv4 and IPv6, and bad ones do not', async (t) => {
  t.same(parseEchoLine('echo-node-1 10.244.0.7:41234\n'), { name: 'echo-node-1', ip: '10.244.0.7', port: 41234 })
  t.same(parseEchoLine('duo 127.0.0.1:5'), { name: 'duo', ip: '127.0.0.1', port: 5 })
  t.same(parseEchoLine('p fd00::7:80'), { name: 'p', ip: 'fd00::7', port: 80 })
  t.same(parseEchoLine('p [fd00::7]:80'), { name: 'p', ip: 'fd00::7', port: 80 })
  t.same(parseEchoLine('p ::ffff:10.0.0.1:80'), { name: 'p', ip: '10.0.0.1', port: 80 })
  t.equal(parseEchoLine('p 10.0.0.1'), undefined, 'no port')
  t.equal(parseEchoLine('p 10.0.0.1:70000'), undefined, 'port out of range')
  t.equal(parseEchoLine('p 010.0.0.1:80'), undefined, 'not a strict address')
  t.equal(parseEchoLine('10.0.0.1:80'), undefined, 'no name')
  t.equal(parseEchoLine(''), undefined)
})

t.test('judging: the right pod, the right client address, errors kept', async (t) => {
  const [same, , , duo, cip] = planMatrix(input)
  t.same(judge(same!, { ok: true, line: 'echo-node-1 10.244.0.7:5555' }), { case: same, pass: true, detail: 'echo-node-1 10.244.0.7:5555' })
  const wrongPod = judge(same!, { ok: true, line: 'echo-node-2 10.244.0.7:5555' })
  t.equal(wrongPod.pass, false)
  t.match(wrongPod.detail, /expected echo-node-1/)
  const natted = judge(same!, { ok: true, line: 'echo-node-1 10.244.0.1:5555' })
  t.equal(natted.pass, false, 'a masqueraded source fails the no-NAT cases')
  t.match(natted.detail, /client seen as 10\.244\.0\.1, expected 10\.244\.0\.7/)
  t.equal(judge(duo!, { ok: true, line: 'duo 127.0.0.1:40000' }).pass, true)
  t.equal(judge(duo!, { ok: true, line: 'duo 10.244.0.7:40000' }).pass, false, 'not over localhost: the relay did not make the connection')
  t.equal(judge(cip!, { ok: true, line: 'echo-node-3 10.244.0.7:1' }).pass, true, 'any echo pod behind the Service')
  t.equal(judge(cip!, { ok: true, line: 'duo 10.244.0.7:1' }).pass, false, 'a pod outside the selector')
  t.same(judge(cip!, { ok: false, error: 'ECONNREFUSED' }), { case: cip, pass: false, detail: 'ECONNREFUSED' })
  const junk = judge(cip!, { ok: true, line: 'HTTP/1.1 400 Bad Request' })
  t.equal(junk.pass, false)
  t.match(junk.detail, /not an echo answer/)
})

t.test('passed only when every case passed, and there was one', async (t) => {
  const cases = planMatrix(input)
  const ok = cases.map((c) => ({ case: c, pass: true, detail: 'x' }))
  t.equal(matrixPassed(ok), true)
  t.equal(matrixPassed([...ok.slice(1), { case: cases[0]!, pass: false, detail: 'ETIMEDOUT' }]), false)
  t.equal(matrixPassed([]), false, 'an empty matrix proves nothing')
})

t.test('the table shows each case with its result and a count', async (t) => {
  const cases = planMatrix(input)
  const results = cases.map((c, i) => ({ case: c, pass: i !== 2, detail: i === 2 ? 'ETIMEDOUT' : `${c.names[0]} 10.244.0.7:1` }))
  const text = renderMatrix(results)
  const lines = text.trimEnd().split('\n')
  t.match(lines[0], /^CASE\s+FROM\s+TO\s+ANSWER\s+RESULT$/)
  t.equal(lines.length, 1 + cases.length + 1)
  t.match(lines[1], /^pod -> pod same node \(node-1 -> node-1\)\s+pod\/client\s+10\.244\.0\.5:8080\s+echo-node-1 10\.244\.0\.7:1\s+PASS$/)
  t.match(lines[3], /ETIMEDOUT\s+FAIL$/)
  t.match(lines[6], /^pod -> Service echo by its short name \(cluster DNS\)\s+pod\/client\s+echo:80\s/)
  t.match(lines[7], /^outside -> NodePort on node-1\s+outside\s+172\.18\.0\.11:30080/)
  t.equal(lines.at(-1), '8/9 passed')
  const col = lines[0]!.indexOf('RESULT')
  t.ok(lines.slice(1, -1).every((l) => /^(PASS|FAIL)$/.test(l.slice(col))), 'columns line up')
})

t.test('what mutation testing found unpinned: titles, the outside flag, anchors, bounds, messages', async (t) => {
  const cases = planMatrix(input)
  t.equal(cases[3]!.title, 'container -> container over localhost (duo)')
  t.equal(cases[4]!.title, 'pod -> ClusterIP echo')
  t.same(cases[6]!.from, { outside: true })
  t.equal(parseEchoLine('x p 10.0.0.1:80'), undefined, 'anchored at the start')
  t.equal(parseEchoLine('p 10.0.0.1:80 extra'), undefined, 'anchored at the end')
  t.equal(parseEchoLine('p x[fd00::7]:80'), undefined, 'brackets only around the whole address')
  t.equal(parseEchoLine('p [fd00::7]x:80'), undefined)
  t.equal(parseEchoLine('p fd00::ffff:10.0.0.1:80')?.ip, 'fd00::ffff:a00:1', 'only a leading ::ffff: is unmapped')
  t.same(parseEchoLine('p 10.0.0.1:65535'), { name: 'p', ip: '10.0.0.1', port: 65535 })
  const long = `echo-node-1 ${'x'.repeat(200)}`
  t.equal(judge(cases[0]!, { ok: true, line: `  ${long}  ` }).detail, `not an echo answer: ${JSON.stringify(long.slice(0, 80))}`, 'trimmed, then cut at 80')
  t.match(judge(cases[4]!, { ok: true, line: 'duo 10.244.0.7:1' }).detail, /\(expected echo-node-1 or echo-node-2 or echo-node-3\)$/)
})
