// The control channel of `lab up --vm` over real HTTP on loopback (no VM): the token is
// required, a forwarded command runs with the guest's state dir and its bytes and exit
// status come back whole, bad words and oversized bodies are coded errors.
import t from 'tap'
import type { AddressInfo } from 'node:net'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startControl, UpLog, MAX_BODY } from '../../src/lab/vm/control-server.ts'
import { ControlClient } from '../../src/lab/vm/control-client.ts'
import { GUEST_STATE_DIR } from '../../src/lab/vm/plan.ts'

const token = 'a'.repeat(64)
const log = new UpLog()
let kube: string | undefined
const server = await startControl({ token, host: '127.0.0.1', port: 0, log, kubeconfig: () => kube, pontoon: '/nonexistent/pontoon', env: { PATH: '/usr/bin:/bin' } })
t.teardown(() => server.close())
const port = (server.address() as AddressInfo).port
const good = new ControlClient(port, token)

t.test('without the token every path is refused with 401 EVMAUTH', async (t) => {
  for (const c of [new ControlClient(port, 'b'.repeat(64)), new ControlClient(port, '')]) {
    await t.rejects(c.up(0), { code: 'EVMAUTH' })
    await t.rejects(c.kubeconfig(), { code: 'EVMAUTH' })
    await t.rejects(c.run(['status']), { code: 'EVMAUTH' })
  }
})

t.test("the guest's progress and, once up, its kubeconfig", async (t) => {
  log.push('one'); log.push('two')
  t.same(await good.up(1), { done: false, lines: ['two'], next: 2 })
  await t.rejects(good.kubeconfig(), { code: 'EVMNOTREADY' })
  kube = '{"k":1}'
  t.equal(await good.kubeconfig(), '{"k":1}')
})

t.test('a forwarded command: run as `lab <sub> --state-dir <guest dir> ...`, bytes and status back', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pontoon-lab-vm-control-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const launcher = join(dir, 'pontoon')
  writeFileSync(launcher, "#!/bin/sh\nprintf '%s|' \"$@\"; printf '\\377'; echo err >&2; exit 3\n", { mode: 0o755 })
  const srv = await startControl({ token, host: '127.0.0.1', port: 0, log, kubeconfig: () => undefined, pontoon: launcher, env: { PATH: '/usr/bin:/bin' } })
  t.teardown(() => srv.close())
  const c = new ControlClient((srv.address() as AddressInfo).port, token)
  const r = await c.run(['exec', 'web-1', '--', 'sh', '-c', 'a b'])
  t.equal(r.code, 3, "the command's exit status")
  t.equal(r.stdout, `lab|exec|--state-dir|${GUEST_STATE_DIR}|web-1|--|sh|-c|a b|\xff`, 'each word whole, in order; the byte 0xff survives')
  t.equal(r.stderr, 'err\n')
})

t.test('bad words and oversized bodies are coded errors', async (t) => {
  await t.rejects(good.run(['down']), { code: 'EVMARGS' })
  await t.rejects(good.run([]), { code: 'EVMARGS' })
  await t.rejects(good.call('POST', '/v1/run', 'not json'), { code: 'EVMARGS' })
  await t.rejects(good.call('POST', '/v1/run', JSON.stringify({ args: ['status', 'x'.repeat(MAX_BODY)] })), { code: 'EVMBODY' })
  await t.rejects(good.call('GET', '/v1/nothing'), { code: 'EVMNOTFOUND' })
})

t.test('a VM that no longer answers is EVMDOWN, not a bare socket error', async (t) => {
  const gone = await startControl({ token, host: '127.0.0.1', port: 0, log, kubeconfig: () => undefined, pontoon: '/nonexistent', env: {} })
  const p = (gone.address() as AddressInfo).port
  await new Promise<void>((r) => gone.close(() => r()))
  await t.rejects(new ControlClient(p, token).run(['status']), { code: 'EVMDOWN', message: /does not answer on 127\.0\.0\.1:\d+/ })
})
