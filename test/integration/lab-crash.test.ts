// A lab whose `up` was SIGKILLed halfway leaves processes and namespaces; the
// next `up` cleans them first (recorded PIDs checked against /proc, the prefix
// swept), and `down` then leaves nothing.
import t from 'tap'
import { lab, labSpawn, leftovers, newLab, netnsWithPrefix, alivePid, readLabState } from '../lib/lab.ts'
import { waitFor } from '../lib/wait.ts'

t.test('up after a SIGKILLed up cleans first; down leaves nothing', async (t) => {
  const l = newLab('c')
  t.teardown(async () => { await lab(l, ['down']) })
  const first = labSpawn(l, ['up', '--nodes', '1', '--no-demo'])
  let out = ''
  first.stdout!.on('data', (d: Buffer) => { out += d })
  first.stderr!.on('data', (d: Buffer) => { out += d })
  // killed once the API and the node's processes are running, before it finishes
  const state = await waitFor('the first up to record its processes', () => {
    const s = readLabState(l)
    return s && s.processes.some((p) => p.role === 'kubelet') && s
  }, { timeoutMs: 60_000, abandon: () => first.exitCode !== null })
  process.kill(first.pid!, 'SIGKILL')
  await new Promise((r) => first.once('exit', r))
  const old = state.processes.map((p) => p.pid)
  t.ok(old.length >= 3, `api, agent and kubelet recorded: ${JSON.stringify(state.processes)}`)
  t.ok(old.every(alivePid), 'they outlive the killed up (own session)')
  t.ok(netnsWithPrefix(l.prefix).length >= 3, 'its namespaces are still there')

  const second = await lab(l, ['up', '--nodes', '1', '--no-demo'])
  t.equal(second.status, 0, `second up: ${second.stdout}\n${second.stderr}\nfirst: ${out}`)
  t.match(second.stdout, /cleaned an earlier lab: [1-9]\d* processes, [1-9]\d* namespaces/)
  t.ok(old.every((pid) => !alivePid(pid)), 'every process of the killed lab is gone')
  const now = readLabState(l)!
  t.ok(now.processes.every((p) => alivePid(p.pid) && !old.includes(p.pid)), 'the new lab runs its own processes')

  const down = await lab(l, ['down'])
  t.equal(down.status, 0, down.stderr)
  t.same(leftovers(l), [], 'no namespace, process or file left')
  t.ok(now.processes.every((p) => !alivePid(p.pid)))
})

t.test('a state dir that is not a lab is refused before anything is made', async (t) => {
  const l = newLab('x')
  const r = await lab({ ...l, stateDir: '/etc' }, ['up', '--nodes', '1'])
  t.equal(r.status, 1)
  t.match(r.stderr, /ESTATE_DIR: --state-dir \/etc is not empty and holds no lab\.json/)
  t.same(netnsWithPrefix(l.prefix), [], 'no namespace made')
  const bad = await lab(l, ['up', '--nodes', '0'])
  t.equal(bad.status, 1)
  t.match(bad.stderr, /ENODES: --nodes must be an integer from 1 to 100/)
  const none = await lab(l, ['status'])
  t.equal(none.status, 1)
  t.match(none.stderr, /ENOLAB: no lab in/)
})
