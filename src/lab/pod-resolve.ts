// A name resolved as a pod's own process resolves it: glibc's getent, run in
// the namespaces (network and mount, so the pod's resolv.conf) of a process
// that lives in the pod's network namespace.
import { readdirSync, statSync } from 'node:fs'
import { execa } from 'execa'

/** A pid whose network namespace is this namespace file (its inode), or undefined. */
export function pidInNetns(nsPath: string): number | undefined {
  let ino: number
  try { ino = statSync(nsPath).ino } catch { return undefined }
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue
    try {
      if (statSync(`/proc/${d}/ns/net`).ino === ino) return Number(d)
    } catch { /* gone, or a kernel thread */ }
  }
  return undefined
}

/** The first address `getent hosts NAME` prints inside the pod, or an error text. */
export async function resolveInPod(nsPath: string, name: string, timeoutMs = 3000): Promise<{ ok: true; ip: string } | { ok: false; error: string }> {
  const pid = pidInNetns(nsPath)
  if (pid === undefined) return { ok: false, error: `no process in ${nsPath}` }
  const r = await execa('nsenter', [`--target=${pid}`, '--net', '--mount', '--', 'getent', 'hosts', name], { reject: false, timeout: timeoutMs, stdin: 'ignore' })
  const ip = r.exitCode === 0 ? String(r.stdout).trim().split(/\s+/)[0] : undefined
  return ip ? { ok: true, ip } : { ok: false, error: `getent hosts ${name}: exit ${r.exitCode ?? 'timeout'} ${String(r.stderr).trim()}`.trim() }
}
