// Removes what a lab made: its processes (recorded PIDs, checked against /proc
// first; then whatever still runs inside its namespaces, such as containers a
// killed kubelet left), its namespaces, and its state directory. Used by `down`
// and by `up` before it builds, so a crashed lab never blocks the next one.
import { rmSync } from 'node:fs'
import { deleteNetns, labNetnsPresent } from './netns-build.ts'
import { killPids, pidsInNetns, stopRecorded } from './procs.ts'
import { checkStateDir, readState, type LabState } from './state.ts'
import { netnsPath } from './topology.ts'

export interface CleanReport {
  /** recorded processes that were still ours and were stopped */
  stopped: number[]
  /** other processes found inside the lab's namespaces */
  killed: number[]
  netns: string[]
  /** namespaces `ip netns del` refused */
  failed: string[]
  stateDirRemoved: boolean
}

/**
 * Clean the lab recorded in stateDir (if any) and every namespace of `prefix`.
 * An unreadable state file does not stop the sweep: the prefix still finds the namespaces.
 */
export async function cleanLab(stateDir: string, prefix: string, o: { graceMs?: number; keepStateDir?: boolean } = {}): Promise<CleanReport> {
  checkStateDir(stateDir)
  let state: LabState | undefined
  try { state = readState(stateDir) } catch { state = undefined }
  // Kubelets and agents first, so no kubelet restarts a container the sweep is about to kill; the API last.
  const recs = [...(state?.processes ?? [])].sort((a, b) => Number(a.role === 'api') - Number(b.role === 'api'))
  const stopped = await stopRecorded(recs, stateDir, o.graceMs ?? 3_000)
  const prefixes = [...new Set([prefix, ...(state ? [state.prefix] : [])])]
  const netns = prefixes.flatMap(labNetnsPresent)
  const killed = pidsInNetns(netns.map(netnsPath))
  await killPids(killed)
  const failed = deleteNetns(netns)
  let stateDirRemoved = false
  if (!o.keepStateDir) {
    rmSync(stateDir, { recursive: true, force: true })
    stateDirRemoved = true
  }
  return { stopped, killed, netns, failed, stateDirRemoved }
}
