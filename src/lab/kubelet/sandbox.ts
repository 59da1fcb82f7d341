// A pod's sandbox: its network namespace under /run/netns and the CNI ADD/DEL
// of the node's conflist, run plugin by plugin as containerd does. DEL is
// forgiving: a missing netns or a plugin's failure still lets teardown go on.
import { execa } from 'execa'
import { accessSync, constants, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Rtnl } from '../../netlink/index.ts'
import { cniArgs, parseConflist, pluginConfig, pluginOrder, ConflistError, type Conflist } from './cni-chain.ts'

export class SandboxError extends Error {
  constructor(readonly code: 'ENETNS' | 'ECNI_PLUGIN' | 'ECNI_ADD' | 'ECNI_DEL' | 'ECONFLIST', message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'SandboxError'
  }
}

export interface SandboxTarget {
  namespace: string
  name: string
  uid: string
  sandboxId: string
  netnsPath: string
}

const PLUGIN_TIMEOUT_MS = 60_000
const MAX_OUTPUT = 1 << 20

/** The first *.conflist in the directory, in lexical order (containerd's choice). */
export function loadConflist(dir: string): { file: string; list: Conflist } {
  let names: string[]
  try { names = readdirSync(dir).filter((n) => n.endsWith('.conflist')).sort() } catch (e) {
    throw new SandboxError('ECONFLIST', `cannot read the CNI config dir ${dir}: ${(e as NodeJS.ErrnoException).code}`, { cause: e })
  }
  const first = names[0]
  if (!first) throw new SandboxError('ECONFLIST', `no *.conflist in ${dir} yet: the node's network is not ready`)
  const file = join(dir, first)
  try {
    return { file, list: parseConflist(readFileSync(file, 'utf8'), file) }
  } catch (e) {
    if (e instanceof ConflistError) throw new SandboxError('ECONFLIST', e.message, { cause: e })
    throw new SandboxError('ECONFLIST', `cannot read ${file}: ${(e as Error).message}`, { cause: e })
  }
}

export function findPlugin(type: string, binDirs: readonly string[]): string {
  for (const d of binDirs) {
    const p = join(d, type)
    try { accessSync(p, constants.X_OK); return p } catch { /* next */ }
  }
  throw new SandboxError('ECNI_PLUGIN', `CNI plugin ${JSON.stringify(type)} not found in ${binDirs.join(':')} (Debian's reference plugins, e.g. portmap, are in /usr/lib/cni)`)
}

export async function createNetns(name: string): Promise<string> {
  const r = await execa('ip', ['netns', 'add', name], { reject: false, timeout: 10_000 })
  const path = `/run/netns/${name}`
  // EEXIST: a sandbox from a crashed attempt; reuse it
  if (r.exitCode !== 0 && !/exists/i.test(r.stderr)) throw new SandboxError('ENETNS', `ip netns add ${name}: ${r.stderr.trim()}`)
  const rt = await Rtnl.open(path)
  try {
    const lo = await rt.linkByName('lo')
    if (lo) await rt.setUp(lo.index)
  } finally {
    rt.close()
  }
  return path
}

/** Forgiving: a namespace already gone is fine. */
export async function removeNetns(name: string): Promise<void> {
  const r = await execa('ip', ['netns', 'del', name], { reject: false, timeout: 10_000 })
  if (r.exitCode !== 0 && !/No such file|not found|Invalid argument/i.test(r.stderr)) throw new SandboxError('ENETNS', `ip netns del ${name}: ${r.stderr.trim()}`)
}

async function runPlugin(bin: string, command: 'ADD' | 'DEL', t: SandboxTarget, binDirs: readonly string[], conf: unknown): Promise<unknown> {
  const env = {
    PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
    CNI_COMMAND: command,
    CNI_CONTAINERID: t.sandboxId,
    CNI_NETNS: t.netnsPath,
    CNI_IFNAME: 'eth0',
    CNI_PATH: binDirs.join(':'),
    CNI_ARGS: cniArgs(t),
  }
  const r = await execa(bin, [], { input: JSON.stringify(conf), env, extendEnv: false, reject: false, timeout: PLUGIN_TIMEOUT_MS, maxBuffer: MAX_OUTPUT })
  if (r.exitCode !== 0) {
    let msg = (r.stderr || r.stdout || `exit ${r.exitCode ?? r.signal}`).trim()
    try {
      const e = JSON.parse(r.stdout) as { code?: unknown; msg?: unknown; details?: unknown }
      if (typeof e.msg === 'string') msg = `${e.msg}${typeof e.details === 'string' && e.details ? `: ${e.details}` : ''} (CNI error ${String(e.code)})`
    } catch { /* not JSON */ }
    throw new SandboxError(command === 'ADD' ? 'ECNI_ADD' : 'ECNI_DEL', `${command} ${bin.split('/').pop()}: ${msg}`)
  }
  if (command === 'DEL' || !r.stdout.trim()) return undefined
  try { return JSON.parse(r.stdout) } catch {
    throw new SandboxError('ECNI_ADD', `ADD ${bin}: the result is not JSON: ${r.stdout.slice(0, 200)}`)
  }
}

/** ADD through every plugin; on failure, the plugins already added are deleted again. Returns the final result. */
export async function cniAdd(list: Conflist, t: SandboxTarget, binDirs: readonly string[]): Promise<unknown> {
  let prev: unknown
  try {
    for (const i of pluginOrder(list, 'ADD')) {
      const bin = findPlugin(list.plugins[i]!.type, binDirs)
      prev = await runPlugin(bin, 'ADD', t, binDirs, pluginConfig(list, i, prev))
    }
  } catch (e) {
    await cniDel(list, t, binDirs, prev).catch(() => { /* best effort; the error that matters is the ADD's */ })
    throw e
  }
  return prev
}

/** DEL through every plugin in reverse, each with the cached ADD result; every plugin runs even when one fails. */
export async function cniDel(list: Conflist, t: SandboxTarget, binDirs: readonly string[], cached: unknown): Promise<void> {
  const errors: string[] = []
  for (const i of pluginOrder(list, 'DEL')) {
    try {
      const bin = findPlugin(list.plugins[i]!.type, binDirs)
      await runPlugin(bin, 'DEL', t, binDirs, pluginConfig(list, i, cached))
    } catch (e) {
      errors.push((e as Error).message)
    }
  }
  if (errors.length) throw new SandboxError('ECNI_DEL', errors.join('; '))
}
