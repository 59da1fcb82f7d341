// The pure half of `pontoon install`/`uninstall`: which steps, in which order, from
// the request and what is on disk; conflicts and bad input refused before any step.
import t from 'tap'
import { checkRequest, planInstall, planUninstall, plannedUnits, type InstallRequest, type Observation, type Observed, type Step } from '../../src/install/plan.ts'
import { execStartArgv, renderUnit, UNIT_MARKER } from '../../src/install/units.ts'

const V0 = '000000000000'
const V1 = 'aaaaaaaaaaaa'
const V2 = 'bbbbbbbbbbbb'

function req(over: Partial<InstallRequest> = {}): InstallRequest {
  return {
    source: '/src/dist/bin', cniBinDir: '/opt/cni/bin', cniConfDir: '/etc/cni/net.d', prefix: '/usr/local',
    systemd: false, unitDir: '/etc/systemd/system', units: ['agent'], args: {}, start: false, ...over,
  }
}

function seen(entries: Record<string, Observed> = {}, cniBinEntries: string[] = []): Observation {
  return { at: (p) => entries[p] ?? { type: 'absent' }, cniBinEntries }
}

const ops = (steps: Step[]) => steps.map((s) => s.op === 'systemctl' ? `systemctl ${s.args.join(' ')}`
  : s.op === 'copy-file' || s.op === 'copy-dir' ? `${s.op} ${s.src} ${s.dst}`
    : s.op === 'symlink' ? `symlink ${s.path} -> ${s.target}` : `${s.op} ${s.path}`)

t.test('a fresh install: runtime dir, link swapped to it, then launchers, then the PATH link', async (t) => {
  t.same(ops(planInstall(req(), V1, seen())), [
    'mkdir /opt/cni/bin',
    'mkdir /etc/cni/net.d',
    'mkdir /usr/local/bin',
    `copy-dir /src/dist/bin/pontoon.d /opt/cni/bin/pontoon.d-${V1}`,
    `symlink /opt/cni/bin/pontoon.d -> pontoon.d-${V1}`,
    'copy-file /src/dist/bin/pontoon /opt/cni/bin/pontoon',
    'copy-file /src/dist/bin/pontoon-cni /opt/cni/bin/pontoon-cni',
    'copy-file /src/dist/bin/pontoon-ipam /opt/cni/bin/pontoon-ipam',
    'symlink /usr/local/bin/pontoon -> /opt/cni/bin/pontoon',
  ])
})

t.test('an upgrade keeps the runtime it replaces, removes older ones after the swap, and debris of a crashed run first', async (t) => {
  const s = seen({
    '/opt/cni/bin/pontoon.d': { type: 'symlink', target: `pontoon.d-${V1}` },
    '/opt/cni/bin/pontoon': { type: 'file', ours: true },
    '/opt/cni/bin/pontoon-cni': { type: 'file', ours: true },
    '/usr/local/bin/pontoon': { type: 'symlink', target: '/opt/cni/bin/pontoon' },
  }, ['pontoon', 'pontoon-cni', 'pontoon.d', `pontoon.d-${V0}`, `pontoon.d-${V1}`, `.pontoon.d-${V2}.tmp.123`, '.pontoon-cni.new.77', 'portmap', 'pontoon.d-notours'])
  const got = ops(planInstall(req(), V2, s))
  t.same(got.slice(3, 5), [`remove /opt/cni/bin/.pontoon-cni.new.77`, `remove /opt/cni/bin/.pontoon.d-${V2}.tmp.123`], 'debris removed before anything is made')
  const swap = got.indexOf(`symlink /opt/cni/bin/pontoon.d -> pontoon.d-${V2}`)
  const drop = got.indexOf(`remove /opt/cni/bin/pontoon.d-${V0}`)
  t.notOk(got.includes(`remove /opt/cni/bin/pontoon.d-${V1}`), 'the runtime the link pointed to stays: running processes resolved their paths to it')
  t.ok(got.indexOf(`copy-dir /src/dist/bin/pontoon.d /opt/cni/bin/pontoon.d-${V2}`) < swap && swap < drop, 'copy, swap, then drop the old runtime')
  t.ok(got.indexOf('copy-file /src/dist/bin/pontoon-cni /opt/cni/bin/pontoon-cni') > swap, 'launchers after the runtime they need')
  t.notOk(got.some((x) => x.includes('portmap') || x.includes('notours')), 'other plugins and unrelated names are left alone')
  t.notOk(got.includes(`remove /opt/cni/bin/pontoon.d-${V2}`), 'the current runtime is never removed')
})

t.test('anything at an install path that is not pontoon\'s is refused before any step', async (t) => {
  const cases: Array<[string, Observed, RegExp]> = [
    ['/opt/cni/bin/pontoon-cni', { type: 'file', ours: false }, /pontoon-cni: a file that is not a pontoon launcher/],
    ['/opt/cni/bin/pontoon-ipam', { type: 'dir' }, /pontoon-ipam: a dir/],
    ['/opt/cni/bin/pontoon', { type: 'symlink', target: '/x' }, /pontoon: a symlink/],
    ['/opt/cni/bin/pontoon.d', { type: 'dir' }, /pontoon\.d: a dir, not the symlink/],
    ['/opt/cni/bin/pontoon.d', { type: 'file', ours: false }, /pontoon\.d: a file/],
    ['/opt/cni/bin/pontoon.d', { type: 'symlink', target: '/elsewhere' }, /a symlink to \/elsewhere/],
    ['/usr/local/bin/pontoon', { type: 'file', ours: true }, /\/usr\/local\/bin\/pontoon: a file/],
    ['/usr/local/bin/pontoon', { type: 'dir' }, /\/usr\/local\/bin\/pontoon: a dir/],
    ['/usr/local/bin/pontoon', { type: 'symlink', target: '/usr/bin/other' }, /not pontoon's link/],
    ['/etc/systemd/system/pontoon-agent.service', { type: 'file', ours: false }, /without pontoon's marker/],
    ['/etc/systemd/system/pontoon-agent.service', { type: 'symlink', target: '/dev/null' }, /pontoon-agent.service: a symlink/],
    ['/etc/systemd/system/pontoon-agent.service', { type: 'dir' }, /pontoon-agent.service: a dir/],
  ]
  for (const [path, o, msg] of cases) {
    t.throws(() => planInstall(req({ systemd: true }), V1, seen({ [path]: o })), { code: 'EINSTALLCONFLICT', message: msg }, `${path} as ${JSON.stringify(o)}`)
  }
  t.doesNotThrow(() => planInstall(req({ systemd: true }), V1, seen({
    '/usr/local/bin/pontoon': { type: 'symlink', target: '/old/cni/pontoon' },
    '/etc/systemd/system/pontoon-agent.service': { type: 'file', ours: true },
  })), 'its own earlier link (even to another bin dir) and unit are taken over')
})

t.test('bad requests: coded, with the flag named', async (t) => {
  const bad: Array<[Partial<InstallRequest>, RegExp]> = [
    [{ cniBinDir: 'opt/cni/bin' }, /--cni-bin-dir "opt\/cni\/bin": give an absolute path/],
    [{ cniConfDir: '/etc/cni/net.d/' }, /--cni-conf-dir .*normalised/],
    [{ prefix: '/usr/../usr' }, /--prefix .*normalised/],
    [{ unitDir: '/' }, /--unit-dir "\/"/],
    [{ source: '/a b' }, /--from "\/a b": only letters/],
    [{ source: '/opt/cni/bin' }, /--from and --cni-bin-dir are both/],
    [{ prefix: '/opt/cni' }, /--prefix \/opt\/cni: its bin\/ is the CNI bin dir/],
    [{ start: true }, /--start needs --systemd/],
    [{ systemd: true, units: [] }, /--systemd with no --unit/],
    [{ systemd: true, units: ['proxy' as never] }, /--unit "proxy"/],
    [{ args: { agent: ['--node-name=w1'] } }, /--agent-arg given but no pontoon-agent.service/],
    [{ systemd: true, units: ['agent'], args: { api: ['--x'] } }, /--api-arg given but no pontoon-api.service/],
    [{ systemd: true, args: { agent: ['--node-name=$HOST'] } }, /--agent-arg "--node-name=\$HOST": only letters/],
    [{ systemd: true, args: { agent: ['%H'] } }, /only letters/],
    [{ systemd: true, args: { agent: ['a b'] } }, /only letters/],
    [{ systemd: true, args: { agent: ['--cni-conf-dir=/x'] } }, /install sets --cni-conf-dir itself/],
    [{ systemd: true, units: ['kubelet'], args: { kubelet: ['--cni-bin-dir', '/x'] } }, /install sets --cni-bin-dir itself/],
  ]
  for (const [over, msg] of bad) t.throws(() => planInstall(req(over), V1, seen()), { code: 'EINSTALLINPUT', message: msg }, JSON.stringify(over))
  t.throws(() => planInstall(req(), 'v1', seen()), { code: 'EINSTALLINPUT' }, 'a version that is not 12 hex digits')
  t.same(checkRequest(req({ systemd: true, units: ['kubelet', 'agent', 'agent'] })).units, ['agent', 'kubelet'], 'units deduplicated, in a fixed order')
})

t.test('--systemd writes units with the install paths; --start adds systemctl, only then', async (t) => {
  const r = req({ systemd: true, units: ['agent', 'api', 'kubelet'], args: { agent: ['--node-name=w1', '--iface-cidr=192.168.56.0/21'], api: ['--data-dir=/var/lib/pontoon/api'] } })
  const steps = planInstall(r, V1, seen())
  t.notOk(steps.some((s) => s.op === 'systemctl'), 'no systemctl without --start')
  const units = steps.filter((s): s is Extract<Step, { op: 'write-file' }> => s.op === 'write-file')
  t.same(units.map((u) => u.path), ['/etc/systemd/system/pontoon-agent.service', '/etc/systemd/system/pontoon-api.service', '/etc/systemd/system/pontoon-kubelet.service'])
  t.same(execStartArgv(units[0]!.text), ['/opt/cni/bin/pontoon', 'agent', '--cni-conf-dir', '/etc/cni/net.d', '--node-name=w1', '--iface-cidr=192.168.56.0/21'])
  t.same(execStartArgv(units[1]!.text), ['/opt/cni/bin/pontoon', 'api', '--data-dir=/var/lib/pontoon/api'])
  t.same(execStartArgv(units[2]!.text), ['/opt/cni/bin/pontoon', 'kubelet', '--cni-conf-dir', '/etc/cni/net.d', '--cni-bin-dir', '/opt/cni/bin:/usr/lib/cni'])
  for (const u of units) t.ok(u.text.startsWith(UNIT_MARKER + '\n'), 'marker on the first line')
  t.match(units[0]!.text, /RuntimeDirectory=pontoon\n/)
  t.match(units[2]!.text, /KillMode=process\n/, 'a kubelet restart leaves its Pods running')
  t.match(units[2]!.text, /After=pontoon-agent.service\n/)
  t.notMatch(units[0]!.text, /KillMode/)
  t.match(units[1]!.text, /\[Install\]\nWantedBy=multi-user.target\n$/)
  const started = ops(planInstall({ ...r, start: true }, V1, seen()))
  t.same(started.slice(-3), ['systemctl daemon-reload', 'systemctl enable pontoon-agent.service pontoon-api.service pontoon-kubelet.service', 'systemctl restart pontoon-agent.service pontoon-api.service pontoon-kubelet.service'])
  t.same(plannedUnits(req()), [], 'no units without --systemd')
})

t.test('renderUnit refuses arguments systemd would not take literally; execStartArgv reads them back', async (t) => {
  t.throws(() => renderUnit({ role: 'agent', argv: ['/bin/pontoon', 'x\ny'] }), { code: 'EINSTALLINPUT' })
  t.throws(() => renderUnit({ role: 'agent', argv: ['/bin/pontoon', ''] }), { code: 'EINSTALLINPUT' })
  t.equal(execStartArgv('[Service]\nType=simple\n'), undefined)
  t.equal(execStartArgv('ExecStart=\n'), undefined)
  t.same(execStartArgv('X=1\nExecStart=/a  b c\nExecStart=/other\n'), ['/a', 'b', 'c'], 'the first ExecStart, split on spaces')
})

t.test('uninstall removes only what carries pontoon\'s marks, units stopped first with --stop', async (t) => {
  const base = {
    '/etc/systemd/system/pontoon-agent.service': { type: 'file', ours: true },
    '/etc/systemd/system/pontoon-api.service': { type: 'file', ours: false },
    '/usr/local/bin/pontoon': { type: 'symlink', target: '/opt/cni/bin/pontoon' },
    '/opt/cni/bin/pontoon': { type: 'file', ours: true },
    '/opt/cni/bin/pontoon-cni': { type: 'file', ours: true },
    '/opt/cni/bin/pontoon-ipam': { type: 'file', ours: false },
    '/opt/cni/bin/pontoon.d': { type: 'symlink', target: `pontoon.d-${V1}` },
    '/etc/cni/net.d/10-pontoon.conflist': { type: 'file', ours: true },
  } satisfies Record<string, Observed>
  const r = { cniBinDir: '/opt/cni/bin', cniConfDir: '/etc/cni/net.d', prefix: '/usr/local', unitDir: '/etc/systemd/system', stop: true }
  const { steps, kept } = planUninstall(r, seen(base, ['pontoon', 'pontoon.d', `pontoon.d-${V1}`, `pontoon.d-${V2}`, '.pontoon.d.link.9', 'portmap']))
  t.same(ops(steps), [
    'systemctl disable --now pontoon-agent.service',
    'remove /etc/systemd/system/pontoon-agent.service',
    'systemctl daemon-reload',
    'remove /usr/local/bin/pontoon',
    'remove /opt/cni/bin/pontoon',
    'remove /opt/cni/bin/pontoon-cni',
    'remove /opt/cni/bin/pontoon.d',
    'remove /opt/cni/bin/.pontoon.d.link.9',
    `remove /opt/cni/bin/pontoon.d-${V1}`,
    `remove /opt/cni/bin/pontoon.d-${V2}`,
    'remove /etc/cni/net.d/10-pontoon.conflist',
  ])
  t.same(kept.map((k) => k.path), ['/etc/systemd/system/pontoon-api.service', '/opt/cni/bin/pontoon-ipam'])
  t.match(kept[0]!.why, /a file that is not a unit pontoon wrote/)
  const noStop = planUninstall({ ...r, stop: false }, seen(base, []))
  t.notOk(noStop.steps.some((s) => s.op === 'systemctl'), 'no systemctl without --stop')
  t.same(planUninstall(r, seen({}, ['portmap'])).steps, [], 'nothing of pontoon\'s: nothing to do (a second uninstall)')
  const foreignLink = planUninstall(r, seen({ '/usr/local/bin/pontoon': { type: 'symlink', target: '/elsewhere/pontoon' }, '/opt/cni/bin/pontoon.d': { type: 'symlink', target: '/x' } }))
  t.same(foreignLink.steps, [])
  t.same(foreignLink.kept.map((k) => k.path), ['/usr/local/bin/pontoon', '/opt/cni/bin/pontoon.d'])
  t.throws(() => planUninstall({ ...r, cniBinDir: 'bin' }, seen()), { code: 'EINSTALLINPUT' })
})

t.test('the units, whole', async (t) => {
  const r = req({ systemd: true, units: ['agent', 'api', 'kubelet'], args: { agent: ['--node-name=w1'] } })
  const [agent, api, kubelet] = plannedUnits(checkRequest(r)).map((u) => u.text)
  t.equal(agent, [
    UNIT_MARKER,
    '[Unit]',
    'Description=pontoon node agent (service proxy, overlay, conflist, resident CNI server)',
    'Wants=network-online.target',
    'After=network-online.target',
    '',
    '[Service]',
    'ExecStart=/opt/cni/bin/pontoon agent --cni-conf-dir /etc/cni/net.d --node-name=w1',
    'Restart=always',
    'RestartSec=2',
    'LimitNOFILE=1048576',
    'RuntimeDirectory=pontoon',
    'RuntimeDirectoryPreserve=yes',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n'))
  t.equal(api, [
    UNIT_MARKER,
    '[Unit]',
    'Description=pontoon embedded Kubernetes-compatible API server',
    'Wants=network-online.target',
    'After=network-online.target',
    '',
    '[Service]',
    'ExecStart=/opt/cni/bin/pontoon api',
    'Restart=always',
    'RestartSec=2',
    'LimitNOFILE=1048576',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n'))
  t.equal(kubelet, [
    UNIT_MARKER,
    '[Unit]',
    "Description=pontoon lab kubelet (runs the node's Pods through CNI, no images)",
    'Wants=network-online.target',
    'After=network-online.target',
    'Wants=pontoon-agent.service',
    'After=pontoon-agent.service',
    '',
    '[Service]',
    'ExecStart=/opt/cni/bin/pontoon kubelet --cni-conf-dir /etc/cni/net.d --cni-bin-dir /opt/cni/bin:/usr/lib/cni',
    'Restart=always',
    'RestartSec=2',
    'LimitNOFILE=1048576',
    'KillMode=process',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n'))
  t.equal(UNIT_MARKER, '# Written by `pontoon install`; `pontoon uninstall` removes it.')
})

t.test('debris and versions are told apart by exact names', async (t) => {
  const names = [
    `.pontoon.d-${V1}.tmp.1`, `.pontoon.d-${V1}.tmp`, '.pontoon.d.link.42', '.pontoon.new.9', '.pontoon-ipam.new.3',
    // not pontoon's temp names
    '.pontoon.d-abc.tmp.1', 'x.pontoon.new.9', '.pontoon-cni.new.9x', '.pontoon-bridge.new.1', `pontoon.d-${V1}x`, `pontoon.d-${V1.slice(1)}`, 'pontoon.d-AAAAAAAAAAAA',
  ]
  const got = ops(planInstall(req(), V2, seen({}, names))).filter((x) => x.startsWith('remove'))
  t.same(got, [
    `remove /opt/cni/bin/.pontoon-ipam.new.3`,
    `remove /opt/cni/bin/.pontoon.d-${V1}.tmp`,
    `remove /opt/cni/bin/.pontoon.d-${V1}.tmp.1`,
    `remove /opt/cni/bin/.pontoon.d.link.42`,
    `remove /opt/cni/bin/.pontoon.new.9`,
  ])
  const un = planUninstall({ cniBinDir: '/opt/cni/bin', cniConfDir: '/etc/cni/net.d', prefix: '/usr/local', unitDir: '/etc/systemd/system', stop: false }, seen({}, [...names, `pontoon.d-${V2}`]))
  t.same(ops(un.steps), [...got, `remove /opt/cni/bin/pontoon.d-${V2}`].sort())
})
