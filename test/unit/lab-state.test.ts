import t from 'tap'
import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { addProcess, checkStateDir, readState, writeState, type LabState } from '../../src/lab/state.ts'
import { alive, isOurs, procStat, spawnDetached, stopRecorded } from '../../src/lab/procs.ts'
import { statusTables } from '../../src/lab/status.ts'
import { renderTable } from '../../src/lab/text-table.ts'
import { waitFor } from '../lib/wait.ts'

const tmp = (t: { teardown(fn: () => unknown): void }) => {
  const d = mkdtempSync(join(tmpdir(), 'pontoon-lab-state-'))
  t.teardown(() => rmSync(d, { recursive: true, force: true }))
  return d
}

const base: LabState = { version: 1, prefix: 'plab', nodes: 3, proxyMode: 'nftables', overlay: 'vxlan', processes: [], complete: false }

t.test('state round-trips, owner-only, and each process is recorded as it starts', async (t) => {
  const d = tmp(t)
  t.equal(readState(d), undefined, 'no lab yet')
  const s = structuredClone(base)
  writeState(d, s)
  addProcess(d, s, { role: 'api', pid: 123, startTime: '456', log: '/x/api.log' })
  t.same(readState(d), { ...base, processes: [{ role: 'api', pid: 123, startTime: '456', log: '/x/api.log' }] })
  t.equal(statSync(join(d, 'lab.json')).mode & 0o777, 0o600)
})

t.test('a damaged state file is a precise error', async (t) => {
  const d = tmp(t)
  writeFileSync(join(d, 'lab.json'), '{not json')
  t.throws(() => readState(d), { code: 'ESTATE_BAD', message: /not JSON/ })
  writeFileSync(join(d, 'lab.json'), JSON.stringify({ ...base, version: 2 }))
  t.throws(() => readState(d), { code: 'ESTATE_BAD', message: /not a lab state file/ })
  writeFileSync(join(d, 'lab.json'), JSON.stringify({ ...base, processes: [{ role: 'api', pid: -1, startTime: '', log: '' }] }))
  t.throws(() => readState(d), { code: 'ESTATE_BAD' })
  writeFileSync(join(d, 'lab.json'), 'x'.repeat((1 << 20) + 1))
  t.throws(() => readState(d), { code: 'ESTATE_BAD', message: /larger than/ })
})

t.test("a state dir must be the lab's: absent, empty, or holding lab.json", async (t) => {
  const d = tmp(t)
  t.doesNotThrow(() => checkStateDir(join(d, 'absent')))
  mkdirSync(join(d, 'empty'))
  t.doesNotThrow(() => checkStateDir(join(d, 'empty')))
  mkdirSync(join(d, 'lab'))
  writeFileSync(join(d, 'lab', 'lab.json'), '{}')
  writeFileSync(join(d, 'lab', 'other'), '')
  t.doesNotThrow(() => checkStateDir(join(d, 'lab')))
  mkdirSync(join(d, 'foreign'))
  writeFileSync(join(d, 'foreign', 'passwd'), '')
  t.throws(() => checkStateDir(join(d, 'foreign')), { code: 'ESTATE_DIR', message: /not a lab's directory/ })
  t.throws(() => checkStateDir('relative/dir'), { code: 'ESTATE_DIR', message: /absolute/ })
})

t.test('a recorded PID is ours only with the same start time and our marker in its command line', async (t) => {
  const d = tmp(t)
  const marker = join(d, 'marker-arg')
  const rec = spawnDetached('sleeper', 'sleep', ['1000'], join(d, 'log'), { PATH: process.env.PATH })
  t.teardown(() => { try { process.kill(rec.pid, 'SIGKILL') } catch { /* gone */ } })
  t.ok(rec.startTime, 'start time recorded')
  t.equal(isOurs(rec, 'sleep'), true)
  t.equal(isOurs(rec, marker), false, 'a process whose command line does not name the lab is not ours')
  t.equal(isOurs({ ...rec, startTime: String(Number(rec.startTime) + 1) }, 'sleep'), false, 'a PID reused by a later process is not ours')
  t.equal(isOurs({ pid: 2 ** 22 + 7, startTime: rec.startTime }, 'sleep'), false, 'no such process')
  t.equal(procStat(rec.pid)?.state !== undefined, true)
})

t.test('stopRecorded: SIGTERM, then SIGKILL for one that ignores it; a foreign PID is left alone', async (t) => {
  const d = tmp(t)
  const log = join(d, 'log')
  const polite = spawnDetached('polite', 'sleep', ['1000'], log, { PATH: process.env.PATH })
  // a shell that ignores SIGTERM, its command line naming the marker
  const stubborn = spawnDetached('stubborn', 'sh', ['-c', `trap '' TERM; while :; do sleep 0.05; done # ${d}`], log, { PATH: process.env.PATH })
  const foreign = spawn('sleep', ['1000'], { stdio: 'ignore' })
  t.teardown(() => { for (const p of [polite.pid, stubborn.pid, foreign.pid!]) try { process.kill(p, 'SIGKILL') } catch { /* gone */ } })
  await waitFor('the shell to set its trap', () => procStat(stubborn.pid)?.state !== undefined)
  const foreignRec = { role: 'x', pid: foreign.pid!, startTime: procStat(foreign.pid!)!.startTime, log }
  const stopped = await stopRecorded([{ ...polite, log }, stubborn, foreignRec], d, 300)
  t.same(stopped.sort(), [stubborn.pid], 'only the process naming the marker (the sleeps do not)')
  t.equal(alive(stubborn.pid), false, 'killed after the grace period')
  t.equal(alive(foreign.pid!), true, 'a process without the marker is never signalled')
  const stopped2 = await stopRecorded([polite], 'sleep', 2000)
  t.same(stopped2, [polite.pid])
  t.equal(alive(polite.pid), false, 'SIGTERM was enough')
})

t.test('status tables', async (t) => {
  const text = statusTables({
    nodes: [{ metadata: { name: 'node-1', annotations: { 'pontoon.io/backend-type': 'vxlan', 'pontoon.io/vtep-mac': '02:00:00:00:00:01' } }, spec: { podCIDR: '10.244.0.0/24' },
      status: { addresses: [{ type: 'Hostname', address: 'node-1' }, { type: 'InternalIP', address: '172.18.0.11' }], conditions: [{ type: 'Ready', status: 'True' }] } }],
    pods: [{ metadata: { namespace: 'default', name: 'client' }, spec: { nodeName: 'node-1' }, status: { podIP: '10.244.0.7', phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] } },
      { metadata: { namespace: 'default', name: 'pending' }, spec: {} }],
    services: [{ metadata: { namespace: 'default', name: 'echo' }, spec: { type: 'NodePort', clusterIP: '10.96.0.20', ports: [{ port: 80, nodePort: 30080, protocol: 'TCP' }] } }],
    health: [{ node: 'node-1', role: 'agent', pid: 10, running: true, healthz: 200 }, { node: 'node-1', role: 'kubelet', pid: 11, running: false, healthz: undefined }],
  })
  t.match(text, /^NODE\s+INTERNAL-IP\s+POD-CIDR\s+READY\s+BACKEND\s+VTEP-MAC\nnode-1\s+172\.18\.0\.11\s+10\.244\.0\.0\/24\s+True\s+vxlan\s+02:00:00:00:00:01\n/)
  t.match(text, /client\s+node-1\s+10\.244\.0\.7\s+Running\s+True/)
  t.match(text, /pending\s+<none>\s+<none>\s+Pending\s+Unknown/)
  t.match(text, /echo\s+NodePort\s+10\.96\.0\.20\s+80:30080\/TCP/)
  t.match(text, /node-1\s+agent\s+10\s+yes\s+200/)
  t.match(text, /node-1\s+kubelet\s+11\s+no\s+no answer/)
  t.equal(renderTable(['A', 'BB'], [['xxx', 'y'], ['', 'z']]), 'A     BB\nxxx   y\n      z\n')
})
