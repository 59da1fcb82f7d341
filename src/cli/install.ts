// `pontoon install` / `pontoon uninstall`: put the CNI plugin and the agent on a plain
// Linux host (as the Vagrant provisioning does), or take them off again. The layout
// and the steps are planned purely in src/install/plan.ts; both commands are idempotent.
import type { CommandModule } from 'yargs'
import type { Role } from '../install/units.ts'

interface InstallArgs {
  from?: string
  'cni-bin-dir': string
  'cni-conf-dir': string
  prefix: string
  systemd: boolean
  'unit-dir': string
  unit: string[]
  'agent-arg': string[]
  'api-arg': string[]
  'kubelet-arg': string[]
  start: boolean
}

interface UninstallArgs {
  'cni-bin-dir': string
  'cni-conf-dir': string
  prefix: string
  'unit-dir': string
  stop: boolean
}

function fail(cmd: string, e: unknown): void {
  const err = e as Error & { code?: string }
  process.stderr.write(`pontoon ${cmd}: ${err.code ?? 'ERROR'}: ${err.message}\n`)
  process.exitCode = 1
}

/** dist/bin when run from a build, the CNI bin dir when run from an install: the dir above the bundle's real path. */
async function defaultSource(): Promise<string> {
  const { realpathSync } = await import('node:fs')
  const { dirname } = await import('node:path')
  const { fileURLToPath } = await import('node:url')
  return dirname(dirname(realpathSync(fileURLToPath(import.meta.url))))
}

const dirs = {
  'cni-bin-dir': { type: 'string', demandOption: true, describe: 'where containerd looks for CNI plugins (/opt/cni/bin; Debian\'s containerd package: /usr/lib/cni)' },
  'cni-conf-dir': { type: 'string', demandOption: true, describe: 'where the agent writes its conflist (/etc/cni/net.d)' },
  prefix: { type: 'string', default: '/usr/local', describe: 'PREFIX/bin/pontoon becomes a link to the installed launcher' },
  'unit-dir': { type: 'string', default: '/etc/systemd/system', describe: 'where systemd units are written' },
} as const

export const installCommand: CommandModule<object, InstallArgs> = {
  command: 'install',
  describe: 'install the CNI plugin and the agent from this build onto this host (binaries by copy-then-rename, the runtime swapped whole behind a symlink); idempotent',
  builder: (y) =>
    y
      .option('from', { type: 'string', describe: 'the build to install (default: the dist/bin this pontoon runs from)' })
      .options(dirs)
      .option('systemd', { type: 'boolean', default: false, describe: 'also write systemd units (not started unless --start)' })
      .option('unit', { type: 'string', array: true, choices: ['agent', 'api', 'kubelet'], default: ['agent'], describe: 'with --systemd: which units (pontoon-<unit>.service); repeatable' })
      .option('agent-arg', { type: 'string', array: true, default: [], describe: 'one more argument for the agent unit\'s ExecStart, e.g. --agent-arg=--node-name=w1; repeatable' })
      .option('api-arg', { type: 'string', array: true, default: [], describe: 'one more argument for the api unit; repeatable' })
      .option('kubelet-arg', { type: 'string', array: true, default: [], describe: 'one more argument for the kubelet unit; repeatable' })
      .option('start', { type: 'boolean', default: false, describe: 'with --systemd: systemctl daemon-reload, enable and restart the units' }) as never,
  handler: async (a) => {
    try {
      const { checkRequest, planInstall } = await import('../install/plan.ts')
      const { applySteps, describeStep, observeHost, sourceVersion } = await import('../install/apply.ts')
      const source = a.from ?? await defaultSource()
      const req = {
        source, cniBinDir: a['cni-bin-dir'], cniConfDir: a['cni-conf-dir'], prefix: a.prefix,
        systemd: a.systemd, unitDir: a['unit-dir'], units: a.unit as Role[], start: a.start,
        args: { agent: a['agent-arg'], api: a['api-arg'], kubelet: a['kubelet-arg'] },
      }
      // the request is checked before the (slow) hash of the source runtime
      checkRequest(req)
      const { version } = sourceVersion(source)
      const steps = planInstall(req, version, observeHost(req.cniBinDir))
      for (const r of applySteps(steps)) process.stdout.write(describeStep(r) + '\n')
      process.stdout.write(`installed pontoon runtime ${version} into ${req.cniBinDir}\n`)
    } catch (e) {
      fail('install', e)
    }
  },
}

export const uninstallCommand: CommandModule<object, UninstallArgs> = {
  command: 'uninstall',
  describe: 'remove what `pontoon install` put on this host (launchers, runtimes, the PATH link, the units, the agent\'s conflist) and nothing else; idempotent',
  builder: (y) =>
    y
      .options(dirs)
      .option('stop', { type: 'boolean', default: false, describe: 'systemctl disable --now pontoon\'s units first' }) as never,
  handler: async (a) => {
    try {
      const { planUninstall } = await import('../install/plan.ts')
      const { applySteps, describeStep, observeHost } = await import('../install/apply.ts')
      const { steps, kept } = planUninstall({ cniBinDir: a['cni-bin-dir'], cniConfDir: a['cni-conf-dir'], prefix: a.prefix, unitDir: a['unit-dir'], stop: a.stop }, observeHost(a['cni-bin-dir']))
      for (const r of applySteps(steps)) process.stdout.write(describeStep(r) + '\n')
      for (const k of kept) process.stdout.write(`kept: ${k.path} (${k.why})\n`)
    } catch (e) {
      fail('uninstall', e)
    }
  },
}
