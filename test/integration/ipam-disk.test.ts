// The disk store against the real filesystem and the reference host-local:
// the same config and container ids give the same files, byte for byte and
// mode for mode; and 50 processes allocating at once get 50 distinct addresses.
import { execFileSync, spawn } from 'node:child_process'
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import t from 'tap'
import { CniError, ErrCode } from '../../src/cni/errors.ts'
import type { CniCommand, CniRequest } from '../../src/cni/types.ts'
import { ipamAdd, ipamCheck, ipamDel, ipamStatus } from '../../src/ipam/plugin.ts'
import { makeNetns } from '../lib/netns.ts'

const HOST_LOCAL = '/usr/lib/cni/host-local'
const ROOT = resolve(import.meta.dirname, '../..')

function ensureHostLocal(): void {
  if (!existsSync(HOST_LOCAL)) execFileSync('apt-get', ['install', '-y', 'containernetworking-plugins'], { stdio: 'ignore' })
}

function tmp(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'pt-ipam-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

function netConfig(dataDir: string, ipam: Record<string, unknown>): Record<string, unknown> {
  return { cniVersion: '1.0.0', name: 'pods', type: 'bridge', ipam: { type: 'host-local', dataDir, ...ipam } }
}

function hostLocal(cmd: 'ADD' | 'DEL', config: Record<string, unknown>, id: string, netns: string): string {
  return execFileSync(HOST_LOCAL, [], {
    input: JSON.stringify(config),
    env: { CNI_COMMAND: cmd, CNI_CONTAINERID: id, CNI_NETNS: netns, CNI_IFNAME: 'eth0', CNI_PATH: '/usr/lib/cni' },
    encoding: 'utf8',
  })
}

function req(command: CniCommand, config: Record<string, unknown>, id: string, netns: string): CniRequest {
  return { command, containerId: id, netns, ifName: 'eth0', args: {}, path: ['/usr/lib/cni'], config, stdin: Buffer.from(JSON.stringify(config)), env: {} }
}

/** Every file of a network dir: name -> [mode, bytes as hex]. */
function snapshot(dir: string): Record<string, [string, string]> {
  const out: Record<string, [string, string]> = {}
  for (const name of readdirSync(dir).sort()) {
    const st = lstatSync(join(dir, name))
    out[name] = [(st.mode & 0o7777).toString(8), readFileSync(join(dir, name)).toString('hex')]
  }
  return out
}

t.test('same ADDs and DELs leave the same files as host-local, byte for byte', async (t) => {
  ensureHostLocal()
  const ns = makeNetns('ipam')
  t.teardown(() => ns.destroy())
  const ours = tmp(t), theirs = tmp(t)
  const ipam = { ranges: [[{ subnet: '10.77.0.0/28' }], [{ subnet: 'fd00:77::/120' }]] }
  const oursCfg = netConfig(ours, ipam), theirsCfg = netConfig(theirs, ipam)
  for (const id of ['c1', 'c2', 'c3']) {
    const r = await ipamAdd(req('ADD', oursCfg, id, ns.path))
    const h = JSON.parse(hostLocal('ADD', theirsCfg, id, ns.path)) as { ips: unknown[] }
    t.same(r.ips, h.ips, `${id}: same addresses and gateways as host-local`)
  }
  await ipamDel(req('DEL', oursCfg, 'c2', ns.path))
  hostLocal('DEL', theirsCfg, 'c2', ns.path)
  const a = snapshot(join(ours, 'pods')), b = snapshot(join(theirs, 'pods'))
  t.same(a, b, 'identical names, modes and bytes')
  t.same(Object.keys(a), ['10.77.0.2', '10.77.0.4', 'fd00:77::2', 'fd00:77::4', 'last_reserved_ip.0', 'last_reserved_ip.1', 'lock'])
  t.equal(readFileSync(join(ours, 'pods', '10.77.0.4'), 'utf8'), 'c3\r\neth0')
  t.equal(readFileSync(join(ours, 'pods', 'last_reserved_ip.1'), 'utf8'), 'fd00:77::4')
})

// A worker in its own process: one ADD through the disk store, the result on stdout.
const WORKER = `
import { ipamAdd } from ${JSON.stringify(join(ROOT, 'src/ipam/plugin.ts'))}
const config = JSON.parse(process.env.IPAM_TEST_CONFIG)
const r = await ipamAdd({ command: 'ADD', containerId: process.env.IPAM_TEST_ID, netns: '/proc/self/ns/net', ifName: 'eth0',
  args: {}, path: [], config, stdin: Buffer.alloc(0), env: {} })
process.stdout.write(JSON.stringify(r))
`

function run(file: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, ['--import', 'tsx', file], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = '', err = ''
    child.stdout.on('data', (d: Buffer) => (out += d))
    child.stderr.on('data', (d: Buffer) => (err += d))
    child.on('close', (code) => resolvePromise({ code, out, err }))
  })
}

t.test('50 processes allocating at once from a pool of exactly 50 get 50 distinct addresses', async (t) => {
  const dir = tmp(t)
  const worker = join(dir, 'worker.mts')
  writeFileSync(worker, WORKER)
  const config = netConfig(join(dir, 'data'), { ranges: [[{ subnet: '10.78.0.0/24', rangeStart: '10.78.0.10', rangeEnd: '10.78.0.59' }]] })
  const env = { IPAM_TEST_CONFIG: JSON.stringify(config) }
  const results = await Promise.all(Array.from({ length: 50 }, (_, i) => run(worker, { ...env, IPAM_TEST_ID: `ctr${i}` })))
  const failed = results.filter((r) => r.code !== 0)
  t.same(failed.map((r) => r.err.slice(0, 300)), [], 'every process succeeded')
  const addrs = results.filter((r) => r.code === 0).map((r) => (JSON.parse(r.out) as { ips: { address: string }[] }).ips[0]!.address)
  t.equal(new Set(addrs).size, 50, 'all distinct')
  const files = readdirSync(join(dir, 'data', 'pods')).filter((n) => n.startsWith('10.78.'))
  t.equal(files.length, 50, 'one file per address')
  const owners = new Set(files.map((f) => readFileSync(join(dir, 'data', 'pods', f), 'utf8')))
  t.equal(owners.size, 50, 'each file names a different container')
  const worker2 = await run(worker, { ...env, IPAM_TEST_ID: 'one-too-many' })
  t.not(worker2.code, 0, 'the 51st allocation fails')
  t.match(worker2.err, /no IP addresses available in range set 10\.78\.0\.0\/24 \(10\.78\.0\.10-10\.78\.0\.59\)/)
})

t.test('old id-only records (written before ifnames were stored) are found and released', async (t) => {
  const dir = tmp(t)
  const config = netConfig(dir, { subnet: '10.79.0.0/24' })
  await ipamAdd(req('ADD', config, 'fresh', '/proc/self/ns/net'))
  writeFileSync(join(dir, 'pods', '10.79.0.9'), 'oldctr\n')
  await ipamCheck(req('CHECK', config, 'oldctr', '/proc/self/ns/net'))
  await ipamDel(req('DEL', config, 'oldctr', ''))
  t.same(readdirSync(join(dir, 'pods')).filter((n) => n.startsWith('10.')), ['10.79.0.2'])
})

t.test('STATUS reports a data dir that cannot be used as NotAvailable (50)', async (t) => {
  const dir = tmp(t)
  writeFileSync(join(dir, 'not-a-dir'), '')
  const config = netConfig(join(dir, 'not-a-dir'), { subnet: '10.79.0.0/24' })
  let err: unknown
  try {
    await ipamStatus(req('STATUS', config, '', ''))
  } catch (e) {
    err = e
  }
  t.ok(err instanceof CniError, 'a CniError')
  t.equal((err as CniError).code, ErrCode.NotAvailable)
  t.match((err as CniError).message, /^ipam data dir .*not-a-dir is not usable: .*ENOTDIR/)
  await ipamStatus(req('STATUS', netConfig(dir, { subnet: '10.79.0.0/24' }), '', ''))
  t.ok(existsSync(join(dir, 'pods', 'lock')), 'a usable dir gets its lock file')
})
