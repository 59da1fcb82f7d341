// Reading back what the kernel holds (iptables-save text, one table) to decide
// what is ours: a chain with one of our names whose rules all carry the
// "pontoon" comment and which nothing foreign jumps to, and our marked jumps in
// the built-in chains. Pure; the backend runs iptables-save.
import { MARK, type ObservedTable, type Table } from './render.ts'
import { isOurChainName } from './names.ts'

const MARKED = new RegExp(`--comment "?${MARK}(?=[\\s"]|$)`)
const TARGET = /(?:^|\s)-[jg] (\S+)/

interface SavedChain { builtin: boolean; rules: string[] }

/** Chains and their rules ("-A CHAIN ..." lines) of one table's iptables-save output. */
export function parseSave(save: string): Map<string, SavedChain> {
  const chains = new Map<string, SavedChain>()
  for (const line of save.split('\n')) {
    if (line.startsWith(':')) {
      const [name, policy] = line.slice(1).split(' ')
      chains.set(name!, { builtin: policy !== '-', rules: [] })
    } else if (line.startsWith('-A ')) {
      const name = line.slice(3, line.indexOf(' ', 3) < 0 ? undefined : line.indexOf(' ', 3))
      let c = chains.get(name)
      if (!c) chains.set(name, c = { builtin: false, rules: [] })
      c.rules.push(line)
    }
  }
  return chains
}

interface Ownership {
  /** our chains: our names, every rule marked, no unmarked rule anywhere jumps to them */
  ours: string[]
  /** our marked rules in chains that are not ours, built-in or not, in save form */
  ourRulesElsewhere: Array<{ chain: string; line: string; builtin: boolean }>
}

function ownership(save: string): Ownership {
  const chains = parseSave(save)
  const foreignTargets = new Set<string>()
  for (const c of chains.values()) {
    for (const r of c.rules) {
      if (MARKED.test(r)) continue
      const t = TARGET.exec(r)
      if (t) foreignTargets.add(t[1]!)
    }
  }
  const ours: string[] = []
  for (const [name, c] of chains) {
    if (c.builtin || !isOurChainName(name) || foreignTargets.has(name)) continue
    if (c.rules.every((r) => MARKED.test(r))) ours.push(name)
  }
  const owned = new Set(ours)
  const ourRulesElsewhere: Ownership['ourRulesElsewhere'] = []
  for (const [name, c] of chains) {
    if (owned.has(name)) continue
    for (const r of c.rules) if (MARKED.test(r)) ourRulesElsewhere.push({ chain: name, line: r, builtin: c.builtin })
  }
  return { ours, ourRulesElsewhere }
}

/** What a full sync needs to know: our chains, and our jumps in the built-in chains (it re-links those). */
export function observeTable(save: string): ObservedTable {
  const o = ownership(save)
  return { ours: o.ours, ourBuiltinRules: o.ourRulesElsewhere.filter((r) => r.builtin).map((r) => r.line) }
}

/**
 * Restore text that removes everything of ours from one table and nothing else;
 * '' when there is nothing. A chain of ours that someone else added a rule to,
 * or jumps to, stays (it is theirs now too); only our rules leave it.
 */
export function renderCleanupTable(table: Table, save: string): string {
  const { ours, ourRulesElsewhere } = ownership(save)
  if (ours.length === 0 && ourRulesElsewhere.length === 0) return ''
  return [
    `*${table}`,
    // declaring a chain flushes it, so the -X below finds it empty
    ...ours.map((c) => `:${c} - [0:0]`),
    ...ourRulesElsewhere.map((r) => `-D${r.line.slice(2)}`),
    ...ours.map((c) => `-X ${c}`),
    'COMMIT',
  ].join('\n') + '\n'
}
