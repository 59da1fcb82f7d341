// Our IPAM and Debian's host-local sharing one data dir: alternating ADDs never
// hand out the same address and continue each other's round-robin, each one's
// DEL releases the other's reservations, and our flock excludes host-local.
import { execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { CniError, ErrCode } from '../../src/cni/errors.ts'
import type { CniRequest } from '../../src/cni/types.ts'
import { ipamAdd, ipamCheck, ipamDel } from '../../src/ipam/plugin.ts'
import { DiskStore } from '../../src/ipam/store-disk.ts'
import { makeNetns } from '../lib/netns.ts'
import { waitFor } from '../lib/wait.ts'

const HOST_LOCAL = '/usr/lib/cni/host-local'
if (!existsSync(HOST_LOCAL)) execFileSync('apt-get', ['install', '-y', 'containernetworking-plugins'], { stdio: 'ignore' })

function setup(t: { teardown(fn: () => void): void }, ipam: Record<string, unknown>) {
  const dataDir = mkdtempSync(join(tmpdir(), 'pt-ipam-'))
  const ns = makeNetns('ipam')
  t.teardown(() => {
    ns.destroy()
    rmSync(dataDir, { recursive: true, force: true })
  })
  const config = { cniVersion: '1.0.0', name: 'shared', type: 'bridge', ipam: { type: 'host-local', dataDir, ...ipam } }
  const env = (cmd: string, id: string) => ({ CNI_COMMAND: cmd, CNI_CONTAINERID: id, CNI_NETNS: ns.path, CNI_IFNAME: 'eth0', CNI_PATH: '/usr/lib/cni' })
  /** host-local's verdict: the addresses it returned, or its error JSON. */
  const theirs = (cmd: 'ADD' | 'DEL' | 'CHECK', id: string, extra: Record<string, string> = {}): { ok: boolean; addrs: string[]; msg: string } => {
    try {
      const out = execFileSync(HOST_LOCAL, [], { input: JSON.stringify(config), env: { ...env(cmd, id), ...extra }, encoding: 'utf8' })
      const r = out ? (JSON.parse(out) as { ips?: { address: string }[] }) : {}
      return { ok: true, addrs: (r.ips ?? []).map((i) => i.address), msg: '' }
    } catch (e) {
      const out = String((e as { stdout?: string }).stdout ?? '')
      return { ok: false, addrs: [], msg: out ? String((JSON.parse(out) as { msg?: string }).msg) : String(e) }
    }
  }
  const req = (command: 'ADD' | 'DEL' | 'CHECK', id: string): CniRequest => ({
    command, containerId: id, netns: ns.path, ifName: 'eth0', args: {}, path: ['/usr/lib/cni'], config, stdin: Buffer.alloc(0), env: {},
  })
  const ours = async (id: string) => ((await ipamAdd(req('ADD', id))).ips ?? []).map((i) => i.address)
  const dir = join(dataDir, 'shared')
  const files = () => readdirSync(dir).filter((n) => n !== 'lock' && !n.startsWith('last_reserved_ip')).sort()
  return { config, ns, theirs, ours, req, dir, files, env }
}

t.test('alternating ADDs share the walk and never collide', async (t) => {
  const s = setup(t, { ranges: [[{ subnet: '10.79.0.0/24' }], [{ subnet: 'fd00:79::/64' }]] })
  const got: string[][] = []
  for (let i = 0; i < 8; i++) {
    const id = `c${i}`
    if (i % 2 === 0) {
      const r = s.theirs('ADD', id)
      t.ok(r.ok, `host-local ADD ${id}: ${r.msg}`)
      got.push(r.addrs)
    } else {
      got.push(await s.ours(id))
    }
  }
  t.same(got.map((a) => a[0]), ['10.79.0.2/24', '10.79.0.3/24', '10.79.0.4/24', '10.79.0.5/24', '10.79.0.6/24', '10.79.0.7/24', '10.79.0.8/24', '10.79.0.9/24'])
  t.same(got.map((a) => a[1]), ['fd00:79::2/64', 'fd00:79::3/64', 'fd00:79::4/64', 'fd00:79::5/64', 'fd00:79::6/64', 'fd00:79::7/64', 'fd00:79::8/64', 'fd00:79::9/64'])
  t.equal(s.files().length, 16)
})

t.test('each DEL releases the other one\'s reservations; CHECK agrees on both sides', async (t) => {
  const s = setup(t, { subnet: '10.80.0.0/24' })
  t.ok(s.theirs('ADD', 'theirs1').ok)
  t.same(await s.ours('ours1'), ['10.80.0.3/24'])
  await ipamCheck(s.req('CHECK', 'theirs1'))
  t.ok(s.theirs('CHECK', 'ours1').ok, 'host-local CHECK finds our reservation')

  await ipamDel(s.req('DEL', 'theirs1'))
  t.same(s.files(), ['10.80.0.3'], 'our DEL removed host-local\'s file')
  t.ok(s.theirs('DEL', 'ours1').ok)
  t.same(s.files(), [], 'host-local\'s DEL removed our file')
  t.notOk(s.theirs('CHECK', 'ours1').ok, 'host-local CHECK now fails')
  let err: unknown
  try {
    await ipamCheck(s.req('CHECK', 'theirs1'))
  } catch (e) {
    err = e
  }
  t.ok(err instanceof CniError && err.code === ErrCode.Check, 'our CHECK now fails')
})

t.test('a requested IP held by host-local is AddressInUse for us, and vice versa', async (t) => {
  const s = setup(t, { subnet: '10.81.0.0/24' })
  t.ok(s.theirs('ADD', 'theirs1').ok)
  let err: unknown
  try {
    await ipamAdd({ ...s.req('ADD', 'ours1'), args: { IP: '10.81.0.2' } })
  } catch (e) {
    err = e
  }
  t.ok(err instanceof CniError && err.code === ErrCode.AddressInUse, 'refused')
  t.match((err as Error).message, /requested IP 10\.81\.0\.2 is already in use .*held by container theirs1 ifname eth0/)
  await ipamAdd({ ...s.req('ADD', 'ours2'), args: { IP: '10.81.0.50' } })
  const hl = s.theirs('ADD', 'theirs2', { CNI_ARGS: 'IP=10.81.0.50' })
  t.notOk(hl.ok, 'host-local refuses our address')
  t.match(hl.msg, /requested IP address 10\.81\.0\.50 is not available/)
  t.same(s.files(), ['10.81.0.2', '10.81.0.50'])
})

t.test('filling a small pool from both sides: every address once, then both report exhaustion', async (t) => {
  const s = setup(t, { subnet: '10.82.0.0/29' })
  const got: string[] = []
  for (let i = 0; i < 5; i++) {
    if (i % 2 === 0) got.push(...s.theirs('ADD', `h${i}`).addrs)
    else got.push(...(await s.ours(`o${i}`)))
  }
  t.same(got.sort(), ['10.82.0.2/29', '10.82.0.3/29', '10.82.0.4/29', '10.82.0.5/29', '10.82.0.6/29'])
  const h = s.theirs('ADD', 'late-theirs')
  t.notOk(h.ok)
  t.match(h.msg, /no IP addresses available/)
  let err: unknown
  try {
    await s.ours('late-ours')
  } catch (e) {
    err = e
  }
  t.ok(err instanceof CniError && err.code === ErrCode.PoolExhausted)
})

t.test('host-local waits on our flock of <dir>/lock', async (t) => {
  const s = setup(t, { subnet: '10.83.0.0/24' })
  const store = new DiskStore(JSON.parse(JSON.stringify(s.config.ipam)).dataDir as string, 'shared')
  t.teardown(() => store.close())
  const lockInode = statSync(join(s.dir, 'lock')).ino
  store.lock()
  const child = spawn(HOST_LOCAL, [], { env: s.env('ADD', 'blocked'), stdio: ['pipe', 'pipe', 'pipe'] })
  child.stdin.end(JSON.stringify(s.config))
  let out = ''
  child.stdout.on('data', (d: Buffer) => (out += d))
  const exited = new Promise<number | null>((r) => child.on('close', r))
  // /proc/locks lists a process waiting for an flock as "N: -> FLOCK ADVISORY WRITE <pid> <maj:min:inode> ...".
  const waiting = () => readFileSync('/proc/locks', 'utf8').split('\n')
    .some((l) => l.includes('->') && l.includes('FLOCK') && l.split(/\s+/).includes(String(child.pid)) && l.includes(`:${lockInode} `))
  await waitFor('host-local to block on the lock', waiting, { everyMs: 20, abandon: () => child.exitCode !== null }).catch(() => false)
  t.ok(waiting(), 'host-local is blocked on the same lock file')
  t.same(s.files(), [], 'and has reserved nothing while we hold it')
  store.unlock()
  t.equal(await exited, 0)
  t.match(out, /10\.83\.0\.2\/24/)
  t.same(s.files(), ['10.83.0.2'])
})
