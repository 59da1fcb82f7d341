// What the kubelet must remember across its own restarts, one directory per
// Pod under <state-dir>/pods/<uid>/: pod.json (netns, the CNI result, each
// container's pid and start time) written atomically, and the containers' logs.
// A restarted kubelet reads these to adopt running pods or clean up gone ones.
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { writeFileAtomic } from '../../sys/atomic-write.ts'
import type { Terminated } from './pod-status.ts'

export interface ContainerRecord {
  name: string
  /** the process (and its process group) running now, if any */
  pid?: number
  /** /proc/<pid>/stat starttime: tells our process from a later one with the same pid */
  procStart?: string
  startedAt?: string
  containerID?: string
  restartCount: number
  lastTerminated?: Terminated
}

export interface PodRecord {
  uid: string
  namespace: string
  name: string
  netnsName: string
  netnsPath: string
  sandboxId: string
  conflistFile?: string
  cniResult?: unknown
  podIPs: string[]
  startTime: string
  terminationGracePeriodSeconds: number
  containers: ContainerRecord[]
}

const UID = /^[A-Za-z0-9-]{1,64}$/

export class StateDir {
  readonly podsDir: string
  constructor(readonly root: string) {
    this.podsDir = join(root, 'pods')
    mkdirSync(this.podsDir, { recursive: true })
  }

  podDir(uid: string): string {
    if (!UID.test(uid)) throw new Error(`refusing a pod uid that is not a plain name: ${JSON.stringify(uid)}`)
    return join(this.podsDir, uid)
  }

  logPath(uid: string, container: string): string {
    return join(this.podDir(uid), `${container}.log`)
  }

  save(r: PodRecord): void {
    mkdirSync(this.podDir(r.uid), { recursive: true })
    writeFileAtomic(join(this.podDir(r.uid), 'pod.json'), JSON.stringify(r, null, 1) + '\n', 0o600)
  }

  remove(uid: string): void {
    rmSync(this.podDir(uid), { recursive: true, force: true })
  }

  /** Every record on disk; one that cannot be read is reported, not fatal. */
  load(onBad: (uid: string, err: Error) => void): PodRecord[] {
    const out: PodRecord[] = []
    for (const uid of readdirSync(this.podsDir)) {
      if (!UID.test(uid)) continue
      try {
        const r = JSON.parse(readFileSync(join(this.podsDir, uid, 'pod.json'), 'utf8')) as PodRecord
        if (r.uid !== uid || !Array.isArray(r.containers)) throw new Error('not a pod record')
        out.push(r)
      } catch (e) {
        onBad(uid, e as Error)
      }
    }
    return out
  }
}
