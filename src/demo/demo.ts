// `pontoon demo`: one node namespace, two pods added by the CNI plugin exactly as
// containerd would call it (env + stdin, inside the node's netns), real TCP
// between them, then DEL and a full clean-up. Everything lives in namespaces
// named with a per-run prefix; stale ones from a killed run are swept first.
import { execa } from 'execa'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const PREFIX = 'pdemo'

/** dist/bin, whether we run bundled (dist/bin/pontoon.d/) or from source (src/demo/). */
export function binDir(): string {
  const here = dirname(fileURLToPath(import.meta.url))
  for (const d of [resolve(here, '..'), resolve(here, '../../dist/bin')]) {
    if (existsSync(join(d, 'pontoon-cni'))) return d
  }
  throw new Error('pontoon-cni not found: run `npm run build` first')
}

async function sh(cmd: string, args: string[], input?: string, env?: NodeJS.ProcessEnv) {
  return execa(cmd, args, { input, env: env ?? { PATH: process.env.PATH }, extendEnv: false, reject: false })
}

async function sweepStale(): Promise<void> {
  const { stdout } = await sh('ip', ['netns', 'list'])
  for (const line of stdout.split('\n')) {
    const name = line.split(' ')[0]
    if (name && new RegExp(`^${PREFIX}[0-9a-f]{4}-`).test(name)) await sh('ip', ['netns', 'del', name])
  }
}

export async function runDemo(log: (s: string) => void): Promise<boolean> {
  await sweepStale()
  const run = `${PREFIX}${randomBytes(2).toString('hex')}`
  const ns = { node: `${run}-node`, a: `${run}-pod-a`, b: `${run}-pod-b` }
  const path = (n: string) => `/run/netns/${n}`
  const dataDir = mkdtempSync(join(tmpdir(), `${run}-ipam-`))
  const bin = binDir()
  const conf = {
    cniVersion: '1.1.0', name: 'demo', type: 'pontoon-cni', bridge: 'cni0', isDefaultGateway: true, hairpinMode: true,
    ipam: { type: 'pontoon-ipam', ranges: [[{ subnet: '10.244.0.0/24' }]], dataDir },
  }
  const plugin = (command: string, id: string, netns: string) => sh('nsenter', ['--net=' + path(ns.node), '--', join(bin, 'pontoon-cni')],
    JSON.stringify(conf), { PATH: process.env.PATH, CNI_COMMAND: command, CNI_CONTAINERID: id, CNI_NETNS: netns, CNI_IFNAME: 'eth0', CNI_PATH: bin })
  let server: ReturnType<typeof execa> | undefined
  let ok = false
  try {
    for (const n of Object.values(ns)) {
      await execa('ip', ['netns', 'add', n])
      await execa('ip', ['-n', n, 'link', 'set', 'lo', 'up'])
    }
    log(`node namespace ${ns.node}, pods ${ns.a} and ${ns.b}`)
    const ips: Record<string, string> = {}
    for (const [id, n] of [['pod-a', ns.a], ['pod-b', ns.b]] as const) {
      const t0 = performance.now()
      const r = await plugin('ADD', id, path(n))
      if (r.exitCode !== 0) throw new Error(`ADD ${id} failed: ${r.stdout}${r.stderr}`)
      const result = JSON.parse(r.stdout)
      ips[id] = result.ips[0].address.split('/')[0]
      log(`CNI ADD ${id}: ${result.ips[0].address} via ${result.ips[0].gateway} on ${result.interfaces[1].name} (${(performance.now() - t0).toFixed(0)} ms)`)
    }
    server = execa('nsenter', ['--net=' + path(ns.b), '--', 'socat', 'TCP-LISTEN:8080,reuseaddr,fork', 'SYSTEM:echo hello from pod-b - you are $SOCAT_PEERADDR'], { reject: false })
    let answer = ''
    for (let i = 0; i < 50 && !answer; i++) {
      await new Promise((r) => setTimeout(r, 50))
      const r = await sh('nsenter', ['--net=' + path(ns.a), '--', 'socat', '-T', '2', '-', `TCP:${ips['pod-b']}:8080`], '')
      answer = r.exitCode === 0 ? r.stdout.trim() : ''
    }
    if (!answer) throw new Error('pod-a could not reach pod-b over TCP')
    log(`TCP pod-a -> ${ips['pod-b']}:8080: "${answer}"`)
    const gw = await sh('nsenter', ['--net=' + path(ns.a), '--', 'busybox', 'ping', '-c', '1', '-W', '1', '10.244.0.1'])
    log(`ping pod-a -> gateway 10.244.0.1: ${gw.exitCode === 0 ? 'ok' : 'FAILED'}`)
    for (const [id, n] of [['pod-a', ns.a], ['pod-b', ns.b]] as const) {
      const r = await plugin('DEL', id, path(n))
      if (r.exitCode !== 0) throw new Error(`DEL ${id} failed: ${r.stdout}`)
    }
    const left = readdirSync(join(dataDir, 'demo')).filter((f) => /^\d/.test(f))
    log(`CNI DEL both: reservations left ${left.length}`)
    ok = gw.exitCode === 0 && left.length === 0
  } finally {
    if (server?.pid) { try { process.kill(server.pid, 'SIGKILL') } catch { /* gone */ } }
    for (const n of Object.values(ns)) await sh('ip', ['netns', 'del', n])
    rmSync(dataDir, { recursive: true, force: true })
    log('cleaned up')
  }
  return ok
}
