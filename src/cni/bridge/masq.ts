// Pod egress masquerade, in pontoon's own nftables table (inet pontoon-cni).
// Each attachment's rules carry a comment tag, so DEL and GC find them by identity.
import { runOk, run } from '../../sys/run.ts'
import { CniError, ErrCode } from '../errors.ts'
import type { MasqRule } from './plan.ts'

export const MASQ_TABLE = 'pontoon-cni'
const CHAIN = 'postrouting'

function ruleText(r: MasqRule, tag: string): string {
  const f = r.family === 4 ? 'ip' : 'ip6'
  const mcast = r.family === 4 ? '224.0.0.0/4' : 'ff00::/8'
  return `add rule inet ${MASQ_TABLE} ${CHAIN} ${f} saddr ${r.src} ${f} daddr != ${r.exclude} ${f} daddr != ${mcast} masquerade comment "${tag}"`
}

export function addMasq(tag: string, rules: MasqRule[]): void {
  const script = [
    `add table inet ${MASQ_TABLE}`,
    `add chain inet ${MASQ_TABLE} ${CHAIN} { type nat hook postrouting priority srcnat ; }`,
    ...rules.map((r) => ruleText(r, tag)),
  ].join('\n') + '\n'
  try {
    runOk('nft', ['-f', '-'], { input: script })
  } catch (e) {
    throw new CniError(ErrCode.IoFailure, `ipMasq: could not add masquerade rules: ${(e as Error).message}`, '', { cause: e })
  }
}

interface TaggedRule { handle: number; comment: string }

/** The table's tagged rules; none when the table does not exist. */
export function listMasq(): TaggedRule[] {
  let r
  try {
    r = run('nft', ['-j', 'list', 'chain', 'inet', MASQ_TABLE, CHAIN])
  } catch (e) {
    // No nft on this host: no rule of ours can exist (ADD with ipMasq would have failed).
    if (/ENOENT/.test((e as Error).message)) return []
    throw new CniError(ErrCode.IoFailure, `ipMasq: could not list masquerade rules: ${(e as Error).message}`, '', { cause: e })
  }
  if (r.status !== 0) {
    if (/No such file or directory|does not exist/i.test(r.stderr)) return []
    throw new CniError(ErrCode.IoFailure, `ipMasq: could not list masquerade rules: ${r.stderr.trim()}`)
  }
  const out: TaggedRule[] = []
  const doc = JSON.parse(r.stdout) as { nftables: Array<{ rule?: { handle: number; comment?: string } }> }
  for (const item of doc.nftables) {
    if (item.rule?.comment) out.push({ handle: item.rule.handle, comment: item.rule.comment })
  }
  return out
}

export function deleteMasqRules(rules: TaggedRule[]): void {
  if (rules.length === 0) return
  const script = rules.map((r) => `delete rule inet ${MASQ_TABLE} ${CHAIN} handle ${r.handle}`).join('\n') + '\n'
  try {
    runOk('nft', ['-f', '-'], { input: script })
  } catch (e) {
    throw new CniError(ErrCode.IoFailure, `ipMasq: could not delete masquerade rules: ${(e as Error).message}`, '', { cause: e })
  }
}

export function removeMasq(tag: string): void {
  deleteMasqRules(listMasq().filter((r) => r.comment === tag))
}
