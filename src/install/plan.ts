// Pure: what `pontoon install` and `pontoon uninstall` do to a host, as a list of
// steps, from the request and what is on disk now (observed by the caller).
//
// Layout (the build's layout, which is the CNI bin dir's):
//   CNI_BIN/pontoon, pontoon-cni, pontoon-ipam   launchers, each copied beside itself and renamed
//                                                 over the old one (a running binary cannot be
//                                                 overwritten in place: ETXTBSY)
//   CNI_BIN/pontoon.d -> pontoon.d-<version>      the runtime (Node, bundles, addons): a versioned
//                                                 directory, swapped whole by renaming a new symlink
//                                                 over the old one. The version it replaced stays (a
//                                                 running agent resolved its own path to it and starts
//                                                 CNI worker threads from there); older ones are removed
//   PREFIX/bin/pontoon -> CNI_BIN/pontoon         the command on PATH (the launcher follows links)
//   UNIT_DIR/pontoon-<role>.service               with --systemd
// Every step is idempotent; a plan applied twice leaves the same state.
import { dirname, isAbsolute, join, normalize } from 'node:path'
import { InstallConflictError, InstallInputError } from './errors.ts'
import { checkLiteral, renderUnit, unitName, ROLES, UNIT_MARKER, type Role } from './units.ts'

export const LAUNCHERS = ['pontoon', 'pontoon-cni', 'pontoon-ipam'] as const
export const RUNTIME = 'pontoon.d'
/** the agent's conflist (src/agent/cni-config.ts): uninstall removes it with the agent */
export const CONFLIST = '10-pontoon.conflist'
const VERSIONED = /^pontoon\.d-[0-9a-f]{12}$/
/** what a crashed install may leave in CNI_BIN: the temp names of the steps below */
const DEBRIS = /^\.(pontoon\.d-[0-9a-f]{12}\.tmp|pontoon\.d\.link|pontoon(-cni|-ipam)?\.new)(\.\d+)?$/

export interface InstallRequest {
  /** dist/bin (or an installed CNI bin dir): launchers and pontoon.d */
  source: string
  cniBinDir: string
  cniConfDir: string
  prefix: string
  systemd: boolean
  unitDir: string
  units: Role[]
  /** extra arguments per unit, each one argv element */
  args: Partial<Record<Role, string[]>>
  /** enable and (re)start the units with systemctl */
  start: boolean
}

/** What the caller found at one path (lstat: a symlink is reported as such). */
export type Observed =
  | { type: 'absent' }
  | { type: 'dir' }
  | { type: 'symlink'; target: string }
  /** `ours`: a launcher pontoon built, a unit with UNIT_MARKER, the agent's conflist */
  | { type: 'file'; ours: boolean }

export interface Observation {
  at(path: string): Observed
  /** names in CNI_BIN */
  cniBinEntries: string[]
}

export type Step =
  | { op: 'mkdir'; path: string }
  /** copy to a temp name beside dst, then rename over dst; skipped when dst has the same bytes */
  | { op: 'copy-file'; src: string; dst: string }
  /** copy the tree to a temp dir beside dst, then rename to dst; skipped when dst exists */
  | { op: 'copy-dir'; src: string; dst: string }
  /** make a symlink at a temp name, then rename it over path; skipped when path already points there */
  | { op: 'symlink'; path: string; target: string }
  | { op: 'write-file'; path: string; text: string }
  | { op: 'remove'; path: string }
  | { op: 'systemctl'; args: string[] }

/** The fixed arguments install gives each unit (the user's may not repeat them). */
function fixedArgs(role: Role, r: InstallRequest): string[] {
  switch (role) {
    case 'agent': return ['--cni-conf-dir', r.cniConfDir]
    // the reference plugins (portmap, loopback) the conflist chains come from Debian's package
    case 'kubelet': return ['--cni-conf-dir', r.cniConfDir, '--cni-bin-dir', `${r.cniBinDir}:/usr/lib/cni`]
    case 'api': return []
  }
}

function checkPath(flag: string, p: string): string {
  if (!isAbsolute(p)) throw new InstallInputError(`${flag} ${JSON.stringify(p)}: give an absolute path`)
  if (p === '/' || normalize(p) !== p || p.endsWith('/')) throw new InstallInputError(`${flag} ${JSON.stringify(p)}: give a normalised directory other than / (no trailing slash, no . or ..)`)
  return checkLiteral(flag, p)
}

/** Validates the request and returns it normalised; throws InstallInputError. */
export function checkRequest(r: InstallRequest): InstallRequest {
  for (const [flag, p] of [['--from', r.source], ['--cni-bin-dir', r.cniBinDir], ['--cni-conf-dir', r.cniConfDir], ['--prefix', r.prefix], ['--unit-dir', r.unitDir]] as const) checkPath(flag, p)
  if (r.source === r.cniBinDir) throw new InstallInputError(`--from and --cni-bin-dir are both ${r.source}: install from a build (dist/bin), not onto itself`)
  if (join(r.prefix, 'bin') === r.cniBinDir) throw new InstallInputError(`--prefix ${r.prefix}: its bin/ is the CNI bin dir, where the pontoon launcher itself goes`)
  if (r.start && !r.systemd) throw new InstallInputError('--start needs --systemd (it starts the units install writes)')
  const units = [...new Set(r.units)]
  for (const u of units) if (!ROLES.includes(u)) throw new InstallInputError(`--unit ${JSON.stringify(u)}: one of ${ROLES.join(', ')}`)
  if (r.systemd && units.length === 0) throw new InstallInputError('--systemd with no --unit: name at least one unit')
  for (const role of ROLES) {
    const extra = r.args[role] ?? []
    if (extra.length > 0 && !(r.systemd && units.includes(role))) throw new InstallInputError(`--${role}-arg given but no ${unitName(role)} is written (add --systemd --unit ${role})`)
    const fixed = fixedArgs(role, r).filter((a) => a.startsWith('--'))
    for (const a of extra) {
      checkLiteral(`--${role}-arg`, a)
      const clash = fixed.find((f) => a === f || a.startsWith(`${f}=`))
      if (clash) throw new InstallInputError(`--${role}-arg ${a}: install sets ${clash} itself (from the install flags)`)
    }
  }
  return { ...r, units: ROLES.filter((x) => units.includes(x)) }
}

/** The unit files for a request: path and text. */
export function plannedUnits(r: InstallRequest): Array<{ role: Role; path: string; text: string }> {
  if (!r.systemd) return []
  const pontoon = join(r.cniBinDir, 'pontoon')
  return r.units.map((role) => ({ role, path: join(r.unitDir, unitName(role)), text: renderUnit({ role, argv: [pontoon, role, ...fixedArgs(role, r), ...(r.args[role] ?? [])] }) }))
}

const isVersioned = (name: string) => VERSIONED.test(name)
const isDebris = (name: string) => DEBRIS.test(name)

/** The install steps. `version` names the source runtime (12 hex digits of its content hash). */
export function planInstall(req: InstallRequest, version: string, seen: Observation): Step[] {
  const r = checkRequest(req)
  if (!/^[0-9a-f]{12}$/.test(version)) throw new InstallInputError(`runtime version ${JSON.stringify(version)}: 12 hex digits expected`)
  const current = `${RUNTIME}-${version}`
  const bin = join(r.prefix, 'bin', 'pontoon')
  const units = plannedUnits(r)

  // Conflicts first, all of them before any step: a refusal leaves nothing half-built.
  for (const name of LAUNCHERS) {
    const p = join(r.cniBinDir, name)
    const o = seen.at(p)
    if (o.type === 'dir' || o.type === 'symlink' || (o.type === 'file' && !o.ours)) throw new InstallConflictError(p, `a ${o.type} that is not a pontoon launcher`)
  }
  const rt = seen.at(join(r.cniBinDir, RUNTIME))
  if (rt.type === 'dir' || rt.type === 'file') throw new InstallConflictError(join(r.cniBinDir, RUNTIME), `a ${rt.type}, not the symlink to a versioned runtime that install makes (an earlier \`cp -a dist/bin/.\`?)`)
  if (rt.type === 'symlink' && !isVersioned(rt.target)) throw new InstallConflictError(join(r.cniBinDir, RUNTIME), `a symlink to ${rt.target}, not to a pontoon.d-<version> beside it`)
  const previous = rt.type === 'symlink' ? rt.target : undefined
  const b = seen.at(bin)
  if (b.type === 'dir' || b.type === 'file' || (b.type === 'symlink' && !b.target.endsWith('/pontoon'))) throw new InstallConflictError(bin, `a ${b.type} that is not pontoon's link to its launcher`)
  for (const u of units) {
    const o = seen.at(u.path)
    if (o.type === 'dir' || o.type === 'symlink' || (o.type === 'file' && !o.ours)) throw new InstallConflictError(u.path, `a ${o.type} without pontoon's marker line`)
  }

  const steps: Step[] = [
    { op: 'mkdir', path: r.cniBinDir },
    { op: 'mkdir', path: r.cniConfDir },
    { op: 'mkdir', path: dirname(bin) },
    ...seen.cniBinEntries.filter(isDebris).sort().map((n): Step => ({ op: 'remove', path: join(r.cniBinDir, n) })),
    { op: 'copy-dir', src: join(r.source, RUNTIME), dst: join(r.cniBinDir, current) },
    // the runtime before the launchers: a new launcher may need the new runtime, an old one runs on either
    { op: 'symlink', path: join(r.cniBinDir, RUNTIME), target: current },
    ...LAUNCHERS.map((n): Step => ({ op: 'copy-file', src: join(r.source, n), dst: join(r.cniBinDir, n) })),
    ...seen.cniBinEntries.filter((n) => isVersioned(n) && n !== current && n !== previous).sort().map((n): Step => ({ op: 'remove', path: join(r.cniBinDir, n) })),
    { op: 'symlink', path: bin, target: join(r.cniBinDir, 'pontoon') },
  ]
  if (units.length > 0) {
    steps.push({ op: 'mkdir', path: r.unitDir })
    for (const u of units) steps.push({ op: 'write-file', path: u.path, text: u.text })
    if (r.start) {
      const names = units.map((u) => unitName(u.role))
      steps.push({ op: 'systemctl', args: ['daemon-reload'] }, { op: 'systemctl', args: ['enable', ...names] }, { op: 'systemctl', args: ['restart', ...names] })
    }
  }
  return steps
}

export interface UninstallRequest {
  cniBinDir: string
  cniConfDir: string
  prefix: string
  unitDir: string
  /** stop and disable pontoon's units with systemctl before removing them */
  stop: boolean
}

/** Removes what planInstall put, whatever version and units it had, and nothing that is not pontoon's. */
export function planUninstall(r: UninstallRequest, seen: Observation): { steps: Step[]; kept: Array<{ path: string; why: string }> } {
  for (const [flag, p] of [['--cni-bin-dir', r.cniBinDir], ['--cni-conf-dir', r.cniConfDir], ['--prefix', r.prefix], ['--unit-dir', r.unitDir]] as const) checkPath(flag, p)
  const steps: Step[] = []
  const kept: Array<{ path: string; why: string }> = []
  const removeIf = (p: string, ours: (o: Observed) => boolean, what: string) => {
    const o = seen.at(p)
    if (o.type === 'absent') return
    if (ours(o)) steps.push({ op: 'remove', path: p })
    else kept.push({ path: p, why: `a ${o.type} that is not ${what}` })
  }
  const units = ROLES.map((role) => ({ role, path: join(r.unitDir, unitName(role)) }))
    .filter((u) => { const o = seen.at(u.path); return o.type === 'file' && o.ours })
  if (r.stop && units.length > 0) steps.push({ op: 'systemctl', args: ['disable', '--now', ...units.map((u) => unitName(u.role))] })
  for (const role of ROLES) removeIf(join(r.unitDir, unitName(role)), (o) => o.type === 'file' && o.ours, `a unit pontoon wrote (no marker line)`)
  if (r.stop && units.length > 0) steps.push({ op: 'systemctl', args: ['daemon-reload'] })
  removeIf(join(r.prefix, 'bin', 'pontoon'), (o) => o.type === 'symlink' && o.target === join(r.cniBinDir, 'pontoon'), `pontoon's link to ${join(r.cniBinDir, 'pontoon')}`)
  for (const n of LAUNCHERS) removeIf(join(r.cniBinDir, n), (o) => o.type === 'file' && o.ours, 'a pontoon launcher')
  removeIf(join(r.cniBinDir, RUNTIME), (o) => o.type === 'symlink' && isVersioned(o.target), 'the symlink to a pontoon.d-<version>')
  for (const n of seen.cniBinEntries.filter((x) => isVersioned(x) || isDebris(x)).sort()) steps.push({ op: 'remove', path: join(r.cniBinDir, n) })
  removeIf(join(r.cniConfDir, CONFLIST), (o) => o.type === 'file' && o.ours, "the conflist pontoon's agent writes")
  return { steps, kept }
}

export { UNIT_MARKER }
