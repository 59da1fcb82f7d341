// Pure: the systemd units `pontoon install --systemd` writes, and the argv back
// out of a unit's ExecStart (what a test or a supervisor without systemd runs).
// Arguments are restricted to characters systemd takes literally (no quotes,
// spaces, `%` specifiers, `$` variables or backslashes), so ExecStart is the
// argv joined by single spaces and splitting it on spaces gives the argv back.
import { InstallInputError } from './errors.ts'

export type Role = 'agent' | 'api' | 'kubelet'
export const ROLES: readonly Role[] = ['agent', 'api', 'kubelet']

/** First line of every unit pontoon writes: uninstall removes only files that carry it. */
export const UNIT_MARKER = '# Written by `pontoon install`; `pontoon uninstall` removes it.'

const LITERAL = /^[A-Za-z0-9_.,:/=@+-]+$/

/** Throws unless `s` is taken literally by systemd's ExecStart parser. */
export function checkLiteral(what: string, s: string): string {
  if (!LITERAL.test(s)) {
    throw new InstallInputError(`${what} ${JSON.stringify(s)}: only letters, digits and _ . , : / = @ + - are allowed (it goes into a systemd ExecStart as is)`)
  }
  return s
}

export const unitName = (role: Role): string => `pontoon-${role}.service`

const DESCRIPTION: Record<Role, string> = {
  agent: 'pontoon node agent (service proxy, overlay, conflist, resident CNI server)',
  api: 'pontoon embedded Kubernetes-compatible API server',
  kubelet: 'pontoon lab kubelet (runs the node\'s Pods through CNI, no images)',
}

export interface UnitSpec {
  role: Role
  argv: string[]
}

export function renderUnit(u: UnitSpec): string {
  for (const a of u.argv) checkLiteral(`${unitName(u.role)} argument`, a)
  const lines = [
    UNIT_MARKER,
    '[Unit]',
    `Description=${DESCRIPTION[u.role]}`,
    'Wants=network-online.target',
    'After=network-online.target',
    // the agent serves the CNI socket and writes the conflist the kubelet reads
    ...(u.role === 'kubelet' ? ['Wants=pontoon-agent.service', 'After=pontoon-agent.service'] : []),
    '',
    '[Service]',
    `ExecStart=${u.argv.join(' ')}`,
    'Restart=always',
    'RestartSec=2',
    'LimitNOFILE=1048576',
    // the agent's socket dir; kept across restarts so a plugin call in flight finds it
    ...(u.role === 'agent' ? ['RuntimeDirectory=pontoon', 'RuntimeDirectoryPreserve=yes'] : []),
    // a kubelet restart must not kill the node's Pods (its container processes live in its cgroup)
    ...(u.role === 'kubelet' ? ['KillMode=process'] : []),
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ]
  return lines.join('\n')
}

/** The argv of a unit's ExecStart line (as renderUnit wrote it), or undefined when it has none. */
export function execStartArgv(unitText: string): string[] | undefined {
  const line = unitText.split('\n').find((l) => l.startsWith('ExecStart='))
  if (line === undefined) return undefined
  const argv = line.slice('ExecStart='.length).split(' ').filter((s) => s !== '')
  return argv.length > 0 ? argv : undefined
}
