// The four service proxy modes side by side (issue 10), in one run and one qemu guest with
// Debian's kernel (this host has no IPVS): for each mode a one-node lab in the guest, the
// same Service with 10 endpoints (pods running `pontoon echo` on 8080 and a socat sink on
// 9000) and a client pod that measures through the ClusterIP (bench/lib/service-client.ts):
//   TCP connect latency p50/p99, short connections per second, bulk throughput (MiB/s).
// A mode that fails to start (ipvs before its backend exists) is reported as "n/a: <reason>"
// and the run goes on. Prints a markdown table for the README. No thresholds.
// Run (root, after npm run build):
//   node --import tsx bench/proxy-modes.ts [--modes userspace,iptables,ipvs,nftables]
//     [--connects 500] [--seconds 5] [--concurrency 8] [--bulk-mib 256] [--timeout-ms 30000] [--mem 2048] [--timeout 3600]
// Everything runs in the guest (its namespaces die with it); the host only boots it.
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { arg, NODE, ROOT } from './lib/shipped-node.ts'

const MODES = arg('modes', 'userspace,iptables,ipvs,nftables').split(',').filter(Boolean)
const ENDPOINTS = 10
const client = ['connects', 'seconds', 'concurrency', 'bulk-mib', 'timeout-ms'].flatMap((k) => process.argv.includes(`--${k}`) ? [`--${k}`, arg(k, '')] : [])

interface Row { mode: string; figures?: { connectP50: number; connectP99: number; rps: number; mibps: number; failed: number }; na?: string }

if (process.argv.includes('--in-guest')) {
  await inGuest()
} else {
  const { runInVm } = await import('../src/vm/run.ts')
  const t0 = performance.now()
  const r = await runInVm({
    argv: [NODE, '--no-warnings', '--import', 'tsx', join(ROOT, 'bench/proxy-modes.ts'), '--in-guest', '--modes', MODES.join(','), ...client],
    cwd: ROOT, mem: Number(arg('mem', '2048')), timeout: Number(arg('timeout', '3600')), maxOutput: 1 << 20,
    onStdout: (d) => process.stdout.write(d), onStderr: (d) => process.stderr.write(d),
  })
  console.log(`\n(one guest, ${((performance.now() - t0) / 1000).toFixed(0)} s from qemu's start to power-off; guest exit ${r.status})`)
  process.exitCode = r.status
}

async function inGuest(): Promise<void> {
  const { labUp, labApi } = await import('../src/lab/up.ts')
  const { cleanLab } = await import('../src/lab/teardown.ts')
  const { setLabPatience } = await import('../src/lab/wait.ts')
  const { GUEST_PATIENCE } = await import('../src/lab/vm/plan.ts')
  const { labPaths } = await import('../src/lab/commands.ts')
  const { labTopology, netnsPath } = await import('../src/lab/topology.ts')
  const { podNetnsName } = await import('../src/lab/pod-netns.ts')
  setLabPatience(GUEST_PATIENCE)
  const binDir = join(ROOT, 'dist/bin')
  const rows: Row[] = []
  for (const mode of MODES) {
    const stateDir = `/run/pontoon-bench-${mode}`
    const prefix = 'pbm'
    const log = (s: string) => console.error(`[${mode}] ${s}`)
    try {
      await labUp({ nodes: 1, proxyMode: mode as 'nftables', overlay: 'vxlan', prefix, stateDir, demo: false, binDir, log })
    } catch (e) {
      const err = e as Error & { code?: string }
      // the first line says what failed, the last one (a log's tail) usually why
      const lines = err.message.split('\n').map((x) => x.trim()).filter(Boolean)
      rows.push({ mode, na: `${err.code ?? 'ERROR'}: ${lines[0]}${lines.length > 1 ? ` ... ${lines.at(-1)}` : ''}` })
      await cleanLab(stateDir, prefix)
      continue
    }
    const topo = labTopology(prefix, 1)
    const api = await labApi(labPaths(stateDir, topo).kubeconfig)
    try {
      const svc = await api.ensure('/api/v1/namespaces/default/services', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'bench' }, spec: { selector: { app: 'bench' }, ports: [{ name: 'echo', port: 80, targetPort: 8080 }, { name: 'sink', port: 9000, targetPort: 9000 }] } })
      for (let i = 0; i < ENDPOINTS; i++) await api.ensure('/api/v1/namespaces/default/pods', benchPod(i))
      await api.ensure('/api/v1/namespaces/default/pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'client' }, spec: { nodeName: 'node-1', containers: [{ name: 'c', image: 'pontoon/client', command: ['sleep', 'infinity'] }] } })
      log(`Service ${svc.spec.clusterIP} with ${ENDPOINTS} endpoints; waiting for the pods`)
      const pods = await poll('all pods Ready', async () => {
        const all = await api.list('/api/v1/namespaces/default/pods')
        const ready = all.filter((p) => p.status?.podIP && p.status?.conditions?.some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True'))
        return ready.length === ENDPOINTS + 1 && all
      })
      const clientPod = pods.find((p) => p.metadata.name === 'client')!
      const ns = netnsPath(podNetnsName(topo, clientPod.spec.nodeName, clientPod.metadata.uid))
      // the proxy has programmed the Service once the VIP answers
      await poll('the ClusterIP to answer', async () => (await measure(ns, svc.spec.clusterIP, ['--connects', '1', '--seconds', '0.1', '--bulk-mib', '1'])) !== undefined)
      log('measuring')
      const figures = await measure(ns, svc.spec.clusterIP, client)
      rows.push(figures ? { mode, figures } : { mode, na: 'the client failed (see stderr)' })
    } catch (e) {
      rows.push({ mode, na: `${(e as Error).message.split('\n')[0]}` })
    } finally {
      api.close()
      await cleanLab(stateDir, prefix)
    }
  }
  console.log(renderTable(rows))
}

function benchPod(i: number): Record<string, unknown> {
  return {
    apiVersion: 'v1', kind: 'Pod', metadata: { name: `ep-${i}`, labels: { app: 'bench' } },
    spec: {
      nodeName: 'node-1',
      containers: [
        { name: 'echo', image: 'pontoon/echo', command: ['pontoon', 'echo', '--port', '8080'], readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 } },
        { name: 'sink', image: 'pontoon/sink', command: ['socat', '-u', 'TCP-LISTEN:9000,fork,reuseaddr', 'OPEN:/dev/null'] },
      ],
    },
  }
}

function measure(nsPath: string, vip: string, extra: string[]): Promise<Row['figures'] | undefined> {
  return new Promise((resolve) => {
    const p = spawn('nsenter', [`--net=${nsPath}`, '--', NODE, '--no-warnings', '--import', 'tsx', join(ROOT, 'bench/lib/service-client.ts'), '--host', vip, '--port', '80', '--sink-port', '9000', ...extra], { stdio: ['ignore', 'pipe', 'inherit'], cwd: ROOT })
    let out = ''
    p.stdout.on('data', (d: Buffer) => { if (out.length < 1 << 16) out += d })
    p.once('close', (code) => {
      try { resolve(code === 0 ? JSON.parse(out.trim().split('\n').pop()!) : undefined) } catch { resolve(undefined) }
    })
  })
}

async function poll<T>(what: string, probe: () => Promise<T | false | undefined>, ms = 900_000): Promise<T> {
  const end = Date.now() + ms
  for (;;) {
    try { const v = await probe(); if (v) return v } catch { /* not yet */ }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 500))
  }
}

export function renderTable(rows: Row[]): string {
  const lines = [
    `| mode | TCP connect p50 (ms) | TCP connect p99 (ms) | short connections/s | bulk (MiB/s) | failed connections |`,
    '|---|---:|---:|---:|---:|---:|',
    ...rows.map((r) => r.figures
      ? `| ${r.mode} | ${r.figures.connectP50.toFixed(2)} | ${r.figures.connectP99.toFixed(2)} | ${r.figures.rps.toFixed(1)} | ${r.figures.mibps.toFixed(1)} | ${r.figures.failed} |`
      : `| ${r.mode} | n/a: ${r.na!.replace(/\|/g, '/')} | | | | |`),
  ]
  return lines.join('\n')
}
