// `pontoon install` / `pontoon uninstall` from dist/bin onto a host whose directories
// all live under a temp root: the files, links and units they leave, that twice is
// the same as once, that an upgrade replaces a running plugin binary (where a plain
// copy fails with ETXTBSY) and swaps the runtime whole, that uninstall takes off
// exactly what install put, and that bad input is refused with nothing written.
// Nothing here writes the real /opt/cni/bin, /etc or /usr; pontoon-cni runs only
// inside a throwaway netns.
import t from 'tap'
import { spawn, spawnSync } from 'node:child_process'
import { appendFileSync, cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { makeNetns } from '../lib/netns.ts'
import { BIN } from '../lib/cni.ts'
import { execStartArgv, UNIT_MARKER } from '../../src/install/units.ts'
import { waitFor } from '../lib/wait.ts'

const PONTOON = join(BIN, 'pontoon')

interface Host { root: string; cniBin: string; conf: string; prefix: string; units: string }

function makeHost(): Host {
  const root = mkdtempSync(join(tmpdir(), 'pontoon-install-'))
  const h = { root, cniBin: join(root, 'opt/cni/bin'), conf: join(root, 'etc/cni/net.d'), prefix: join(root, 'usr/local'), units: join(root, 'etc/systemd/system') }
  for (const d of [h.cniBin, h.conf, join(h.prefix, 'bin'), h.units]) mkdirSync(d, { recursive: true })
  // what a host already has: another plugin, another network's conflist, another unit
  writeFileSync(join(h.cniBin, 'portmap'), '#!/bin/sh\nexit 0\n', { mode: 0o755 })
  writeFileSync(join(h.conf, '99-other.conflist'), '{"cniVersion":"1.0.0","name":"other","plugins":[]}\n')
  writeFileSync(join(h.units, 'containerd.service'), '[Service]\nExecStart=/usr/bin/containerd\n')
  return h
}

const dirFlags = (h: Host) => ['--cni-bin-dir', h.cniBin, '--cni-conf-dir', h.conf, '--prefix', h.prefix, '--unit-dir', h.units]

function pontoon(args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(PONTOON, args, { encoding: 'utf8', timeout: 120_000 })
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr + (r.error ? String(r.error) : '') }
}

/** Every path under root with its type, symlink target, size and inode: equal snapshots mean nothing was touched. */
function tree(root: string, rel = ''): string[] {
  const out: string[] = []
  for (const name of readdirSync(join(root, rel)).sort()) {
    const r = rel ? `${rel}/${name}` : name
    const p = join(root, r)
    const st = lstatSync(p)
    if (st.isSymbolicLink()) out.push(`${r} -> ${readlinkSync(p)}`)
    else if (st.isDirectory()) {
      out.push(`${r}/`)
      // the runtime's inside is checked by running it; listing 100 MB of addons adds nothing
      if (!name.startsWith('pontoon.d-')) out.push(...tree(root, r))
    } else out.push(`${r} ${st.size} ${st.ino} ${(st.mode & 0o777).toString(8)}`)
  }
  return out
}

const installArgs = (h: Host) => ['install', ...dirFlags(h), '--systemd', '--unit', 'agent', '--unit', 'api', '--unit', 'kubelet',
  '--agent-arg=--node-name=w1', '--agent-arg=--iface-cidr=192.168.56.0/21', '--api-arg=--data-dir=/var/lib/pontoon/api']

t.test('install, install again, uninstall, uninstall again', async (t) => {
  const h = makeHost()
  t.teardown(() => rmSync(h.root, { recursive: true, force: true }))
  const before = tree(h.root)

  const first = pontoon(installArgs(h))
  t.equal(first.status, 0, first.stderr)
  const version = /installed pontoon runtime ([0-9a-f]{12})/.exec(first.stdout)?.[1]
  t.ok(version, 'it names the runtime version')
  t.equal(readlinkSync(join(h.cniBin, 'pontoon.d')), `pontoon.d-${version}`, 'pontoon.d is a link to the versioned runtime')
  t.ok(lstatSync(join(h.cniBin, `pontoon.d-${version}`)).isDirectory())
  for (const n of ['pontoon', 'pontoon-cni', 'pontoon-ipam']) {
    t.ok(readFileSync(join(h.cniBin, n)).equals(readFileSync(join(BIN, n))), `${n}: the build's bytes`)
    t.equal(lstatSync(join(h.cniBin, n)).mode & 0o777, 0o755, `${n}: executable`)
  }
  t.equal(readlinkSync(join(h.prefix, 'bin/pontoon')), join(h.cniBin, 'pontoon'))
  t.notOk(readdirSync(join(h.cniBin, `pontoon.d-${version}`)).includes('.compile-cache'), 'no compile cache copied')
  t.notOk(readdirSync(h.cniBin).some((n) => n.startsWith('.')), 'no temp names left')

  // the installed command runs through the PATH link, on the Node it brought
  const help = spawnSync(join(h.prefix, 'bin/pontoon'), ['--help'], { encoding: 'utf8' })
  t.equal(help.status, 0, help.stderr)
  t.match(help.stdout, /pontoon install/)
  const ns = makeNetns('inst')
  t.teardown(() => ns.destroy())
  const ver = ns.try('env', ['CNI_COMMAND=VERSION', join(h.cniBin, 'pontoon-cni')])
  t.equal(ver.status, 0, ver.stderr)
  t.ok(JSON.parse(ver.stdout).supportedVersions.includes('1.0.0'), 'the installed plugin answers VERSION')

  const agentUnit = readFileSync(join(h.units, 'pontoon-agent.service'), 'utf8')
  t.ok(agentUnit.startsWith(UNIT_MARKER))
  t.same(execStartArgv(agentUnit), [join(h.cniBin, 'pontoon'), 'agent', '--cni-conf-dir', h.conf, '--node-name=w1', '--iface-cidr=192.168.56.0/21'])
  t.same(execStartArgv(readFileSync(join(h.units, 'pontoon-api.service'), 'utf8')), [join(h.cniBin, 'pontoon'), 'api', '--data-dir=/var/lib/pontoon/api'])
  t.same(execStartArgv(readFileSync(join(h.units, 'pontoon-kubelet.service'), 'utf8')), [join(h.cniBin, 'pontoon'), 'kubelet', '--cni-conf-dir', h.conf, '--cni-bin-dir', `${h.cniBin}:/usr/lib/cni`])
  t.notMatch(first.stdout, /systemctl/, 'no systemctl without --start')

  const installed = tree(h.root)
  const again = pontoon(installArgs(h))
  t.equal(again.status, 0, again.stderr)
  t.notMatch(again.stdout, /^done:/m, 'the second install changes nothing')
  t.same(tree(h.root), installed, 'same files, same inodes')

  // the agent writes its conflist; uninstall takes it with the agent
  writeFileSync(join(h.conf, '10-pontoon.conflist'), '{"cniVersion":"1.0.0","name":"pontoon","plugins":[{"type":"pontoon-cni"}]}\n')
  const un = pontoon(['uninstall', ...dirFlags(h)])
  t.equal(un.status, 0, un.stderr)
  t.same(tree(h.root), before, 'exactly the host as it was: other plugins, conflists and units untouched')
  const un2 = pontoon(['uninstall', ...dirFlags(h)])
  t.equal(un2.status, 0, un2.stderr)
  t.equal(un2.stdout, '', 'the second uninstall has nothing to do')
})

t.test('an upgrade replaces a plugin binary that is running and swaps the runtime whole', async (t) => {
  const h = makeHost()
  t.teardown(() => rmSync(h.root, { recursive: true, force: true }))
  const r1 = pontoon(['install', ...dirFlags(h)])
  t.equal(r1.status, 0, r1.stderr)
  const v1 = readlinkSync(join(h.cniBin, 'pontoon.d'))
  const cni = join(h.cniBin, 'pontoon-cni')
  t.equal(readFileSync(cni, 'latin1').slice(1, 4), 'ELF', 'the C front door was built (the ETXTBSY case needs a binary)')

  // A plugin call in flight: the front door runs and waits for its stdin.
  const ns = makeNetns('busy')
  t.teardown(() => ns.destroy())
  const busy = spawn('nsenter', [`--net=${ns.path}`, '--', 'env', 'CNI_COMMAND=ADD', cni], { stdio: ['pipe', 'ignore', 'ignore'] })
  t.teardown(() => { try { process.kill(busy.pid!, 'SIGKILL') } catch { /* gone */ } })
  await waitFor('the plugin to be running', () => {
    try { return readlinkSync(`/proc/${busy.pid}/exe`) === cni } catch { return false }
  }, { timeoutMs: 10_000, everyMs: 20 })
  const overwrite = spawnSync('cp', [join(BIN, 'pontoon-cni'), cni], { encoding: 'utf8' })
  t.not(overwrite.status, 0, 'writing over the running binary in place fails...')
  t.match(overwrite.stderr, /Text file busy/, '...with ETXTBSY')

  // a build with one changed byte in the runtime and the front door
  const src = mkdtempSync(join(tmpdir(), 'pontoon-src-'))
  t.teardown(() => rmSync(src, { recursive: true, force: true }))
  cpSync(BIN, src, { recursive: true, dereference: true })
  appendFileSync(join(src, 'pontoon.d/pontoon-cni.mjs'), '\n// v2\n')
  appendFileSync(join(src, 'pontoon-cni'), Buffer.from([0]))
  const r2 = pontoon(['install', '--from', src, ...dirFlags(h)])
  t.equal(r2.status, 0, r2.stderr)
  const v2 = readlinkSync(join(h.cniBin, 'pontoon.d'))
  t.not(v2, v1, 'a new runtime version')
  t.ok(existsSync(join(h.cniBin, v1)), 'the runtime it replaced stays (running processes resolved their paths to it)')
  t.ok(readFileSync(cni).equals(readFileSync(join(src, 'pontoon-cni'))), 'the new front door is in place')
  t.equal(readFileSync(join(h.cniBin, 'pontoon.d/pontoon-cni.mjs'), 'utf8').endsWith('// v2\n'), true, 'the new runtime is behind the link')
  t.equal(busy.exitCode, null, 'the call in flight still runs, on the old binary')
  t.match(readlinkSync(`/proc/${busy.pid}/exe`), /\(deleted\)$/, 'its image is the replaced file')
  t.notOk(readdirSync(h.cniBin).some((n) => n.startsWith('.')), 'no temp names left')

  // one more version: the oldest goes, the one replaced stays
  appendFileSync(join(src, 'pontoon.d/pontoon-cni.mjs'), '// v3\n')
  const r3 = pontoon(['install', '--from', src, ...dirFlags(h)])
  t.equal(r3.status, 0, r3.stderr)
  const v3 = readlinkSync(join(h.cniBin, 'pontoon.d'))
  t.same(readdirSync(h.cniBin).filter((n) => n.startsWith('pontoon.d-')).sort(), [v2, v3].sort(), `${v1} removed, ${v2} kept, ${v3} current`)
})

t.test('bad input and foreign files are refused with a code, and nothing is written', async (t) => {
  const h = makeHost()
  t.teardown(() => rmSync(h.root, { recursive: true, force: true }))
  writeFileSync(join(h.cniBin, 'pontoon-ipam'), '#!/bin/sh\necho someone else\n', { mode: 0o755 })
  const before = tree(h.root)
  const cases: Array<[string[], RegExp]> = [
    [['install', ...dirFlags(h)], /EINSTALLCONFLICT: .*pontoon-ipam: a file that is not a pontoon launcher/],
    [['install', '--cni-bin-dir', 'opt/cni/bin', '--cni-conf-dir', h.conf], /EINSTALLINPUT: --cni-bin-dir "opt\/cni\/bin": give an absolute path/],
    [['install', ...dirFlags(h), '--start'], /EINSTALLINPUT: --start needs --systemd/],
    [['install', ...dirFlags(h), '--systemd', '--agent-arg=--node-name=$(hostname)'], /EINSTALLINPUT: --agent-arg/],
    [['install', ...dirFlags(h), '--from', join(h.root, 'nowhere')], /EINSTALLSOURCE: .*nowhere\/pontoon is missing/],
    [['install', '--cni-conf-dir', h.conf], /Missing required argument: cni-bin-dir/],
    [['uninstall', '--cni-bin-dir', h.cniBin, '--cni-conf-dir', 'net.d'], /EINSTALLINPUT: --cni-conf-dir/],
  ]
  for (const [args, msg] of cases) {
    const r = pontoon(args)
    t.equal(r.status, 1, `${args.slice(0, 1).join(' ')} ... exits 1`)
    t.match(r.stderr, msg)
    t.same(tree(h.root), before, 'nothing written')
  }
  const un = pontoon(['uninstall', ...dirFlags(h)])
  t.equal(un.status, 0, un.stderr)
  t.match(un.stdout, /kept: .*pontoon-ipam \(a file that is not a pontoon launcher\)/, 'uninstall leaves a foreign file and says so')
  t.same(tree(h.root), before)
})
