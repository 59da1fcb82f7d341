// The iptables and ip6tables binaries, in one flavour (nft or legacy), run
// with argument arrays and input on stdin, optionally inside a network
// namespace (nsenter --net, as the lab starts agents); ipsets over netlink
// (src/netlink/ipset.ts) from this process, with no exec. Failures come back
// as ProxyApplyError carrying the tool's (or the kernel's) own message, and
// for a restore the input line it refused.
import { realpathSync } from 'node:fs'
import { basename, join } from 'node:path'
import { execa } from 'execa'
import type { Family } from '../../net/address.ts'
import { Ipset, IpsetUnavailableError, NetlinkError } from '../../netlink/index.ts'
import { ProxyApplyError, type ProxyMode } from '../backend.ts'

export type IptablesFlavour = 'nft' | 'legacy'
export type IptablesBackendOption = IptablesFlavour | 'auto'

/** iptables-save at 10,000 Services is tens of MB; bound it well above that. */
const MAX_OUTPUT = 256 << 20
/** The tool's message, bounded: a restore may print one line per refused rule. */
const MAX_MESSAGE = 4096

export interface ToolResult { exitCode: number; stdout: string; stderr: string }

export class Tools {
  constructor(readonly flavour: IptablesFlavour, readonly netnsPath?: string) {}

  async exec(cmd: string, args: readonly string[], input?: string): Promise<ToolResult> {
    return execTool(cmd, args, input, this.netnsPath)
  }

  bin(family: Family, tool: 'restore' | 'save' | 'iptables'): string {
    const base = family === 4 ? 'iptables' : 'ip6tables'
    return tool === 'iptables' ? `${base}-${this.flavour}` : `${base}-${this.flavour}-${tool}`
  }

  /** iptables-restore --noflush -w: never flushes a table, waits for the xtables lock. */
  async restore(family: Family, text: string): Promise<void> {
    const cmd = this.bin(family, 'restore')
    const r = await this.exec(cmd, ['--noflush', '-w', '5'], text)
    if (r.exitCode !== 0) throw new ProxyApplyError('iptables', `${cmd} refused the rules: ${refusal(r.stderr, text)}`)
  }

  async save(family: Family): Promise<string> {
    const cmd = this.bin(family, 'save')
    const r = await this.exec(cmd, [])
    if (r.exitCode !== 0) throw new ProxyApplyError('iptables', `${cmd} failed: ${bounded(r.stderr)}`)
    return r.stdout
  }

  /** `iptables -C`: does this exact rule exist? (false too when its chain or table is gone) */
  async check(family: Family, table: string, chain: string, spec: readonly string[]): Promise<boolean> {
    const cmd = this.bin(family, 'iptables')
    const r = await this.exec(cmd, ['-w', '5', '-t', table, '-C', chain, ...spec])
    return r.exitCode === 0
  }

}

async function execTool(cmd: string, args: readonly string[], input: string | undefined, netnsPath: string | undefined): Promise<ToolResult> {
  const [file, argv] = netnsPath === undefined ? [cmd, [...args]] : ['nsenter', [`--net=${netnsPath}`, '--', cmd, ...args]]
  const r = await execa(file, argv, { input: input ?? '', reject: false, maxBuffer: MAX_OUTPUT, stripFinalNewline: false, env: { LC_ALL: 'C' } })
  if (r.exitCode === undefined) {
    throw new ProxyApplyError('iptables', `could not run ${cmd}: ${r.shortMessage}`, { cause: r.cause })
  }
  if (netnsPath !== undefined && r.exitCode === 127 && /failed to execute/.test(String(r.stderr))) {
    // nsenter itself ran, the tool is not installed
    throw new ProxyApplyError('iptables', `could not run ${cmd}: ${bounded(String(r.stderr))}`)
  }
  return { exitCode: r.exitCode, stdout: String(r.stdout), stderr: String(r.stderr) }
}

function bounded(s: string): string {
  const t = s.trim()
  return t.length > MAX_MESSAGE ? `${t.slice(0, MAX_MESSAGE)}...` : t
}

/** The tool's message plus the input line it names ("line 12 failed", "Error occurred at line: 12"). */
export function refusal(stderr: string, input: string): string {
  const m = /line:? (\d+)/.exec(stderr)
  const line = m ? input.split('\n')[Number(m[1]) - 1] : undefined
  return bounded(stderr) + (line === undefined ? '' : ` [input line ${m![1]}: ${line.slice(0, 500)}]`)
}

/**
 * The backend's ipset socket in its namespace. A kernel without ip_set stays
 * IpsetUnavailableError (ENOIPSET), so a cleanup can read it as "no sets of ours".
 */
export async function openIpset(mode: ProxyMode, nsPath: string | undefined): Promise<Ipset> {
  try {
    return await Ipset.open(nsPath)
  } catch (e) {
    if (e instanceof NetlinkError && !(e instanceof IpsetUnavailableError)) throw new ProxyApplyError(mode, `ipset: ${e.message}`, { cause: e })
    throw e
  }
}

/** `ipset restore -exist` of the renderers' text, over netlink; a refusal names the set and the line. */
export async function ipsetRestore(ipset: Ipset, mode: ProxyMode, text: string): Promise<void> {
  try {
    await ipset.restore(text)
  } catch (e) {
    if (e instanceof NetlinkError) throw new ProxyApplyError(mode, `ipset restore refused the sets: ${bounded(e.message)}`, { cause: e })
    throw e
  }
}

/** Every set's name (`ipset list -n`), over netlink. */
export async function ipsetNames(ipset: Ipset, mode: ProxyMode): Promise<string[]> {
  try {
    return await ipset.names()
  } catch (e) {
    if (e instanceof NetlinkError) throw new ProxyApplyError(mode, `ipset list failed: ${bounded(e.message)}`, { cause: e })
    throw e
  }
}

/**
 * 'auto' (the default): the flavour the system's own `iptables` is (Debian 12:
 * nft). Rules of both flavours in one namespace are both live, and an admin's
 * `iptables-save`, docker or a firewall see only their own flavour's, so we
 * write where the system's tools look. legacy restores far faster at 10,000
 * Services (research/iptables.md); a node with no other nft-iptables user can
 * choose it with --iptables-backend legacy.
 */
export async function resolveFlavour(option: IptablesBackendOption, netnsPath?: string): Promise<IptablesFlavour> {
  if (option !== 'auto') return option
  const known = flavourByName()
  if (known) return known
  const r = await execTool('iptables', ['--version'], undefined, netnsPath)
  if (r.exitCode !== 0) throw new ProxyApplyError('iptables', `iptables --version failed: ${bounded(r.stderr)}`)
  if (r.stdout.includes('(nf_tables)')) return 'nft'
  if (r.stdout.includes('(legacy)')) return 'legacy'
  throw new ProxyApplyError('iptables', `cannot tell the iptables flavour from ${JSON.stringify(r.stdout.trim())}`)
}

/**
 * Rewrite what is ours in every flavour (an earlier run may have used the other)
 * and both families: `render` turns one iptables-save into the restore input that
 * removes it ('' for nothing). A flavour or family not installed here holds nothing of ours.
 */
export async function restoreEverywhere(netnsPath: string | undefined, render: (save: string) => string): Promise<void> {
  for (const flavour of ['nft', 'legacy'] as const) {
    const tools = new Tools(flavour, netnsPath)
    for (const family of [4, 6] as const) {
      let save: string
      try {
        save = await tools.save(family)
      } catch (e) {
        if (/could not run/.test((e as Error).message)) continue
        throw e
      }
      const text = render(save)
      if (text) await tools.restore(family, text)
    }
  }
}

/**
 * The flavour the `iptables` on PATH is, when it resolves to one of the xtables multi-call
 * binaries (Debian's alternatives link it so): their names say which. A cold sync then
 * spends no exec on `iptables --version`, a second and more in a TCG guest. Anything else
 * (a wrapper script that picks at run time, another layout): undefined, and the caller asks
 * the tool itself.
 */
function flavourByName(): IptablesFlavour | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir === '') continue
    let real: string
    try {
      real = realpathSync(join(dir, 'iptables'))
    } catch {
      continue // not in this directory
    }
    const name = basename(real)
    return name === 'xtables-nft-multi' ? 'nft' : name === 'xtables-legacy-multi' ? 'legacy' : undefined
  }
  return undefined
}
