// The Vagrantfile as Vagrant reads it: `vagrant validate --ignore-provider` (no VM
// boots here: no VirtualBox, no usable KVM). It runs on a copy of the Vagrantfile and
// the provisioning scripts in a temp dir, with its own VAGRANT_HOME, so the lab's
// token file (.vagrant/pontoon-token) and Vagrant's state never land in the checkout.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ROOT } from '../lib/cni.ts'

function project(t: { teardown(fn: () => unknown): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'pontoon-vagrant-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  cpSync(join(ROOT, 'Vagrantfile'), join(dir, 'Vagrantfile'))
  cpSync(join(ROOT, 'scripts/vagrant'), join(dir, 'scripts/vagrant'), { recursive: true })
  return dir
}

function vagrant(dir: string, args: string[], env: Record<string, string> = {}) {
  const r = spawnSync('vagrant', args, {
    cwd: dir, encoding: 'utf8', timeout: 120_000,
    env: { ...process.env, VAGRANT_HOME: join(dir, '.vagrant.d'), VAGRANT_CHECKPOINT_DISABLE: '1', VAGRANT_NO_COLOR: '1', ...env },
  })
  return { status: r.status ?? -1, out: `${r.stdout}${r.stderr}${r.error ? String(r.error) : ''}` }
}

t.test('vagrant validate --ignore-provider passes: a control plane and PONTOON_WORKERS workers', async (t) => {
  const dir = project(t)
  const r = vagrant(dir, ['validate', '--ignore-provider'])
  t.equal(r.status, 0, r.out)
  t.match(r.out, /Vagrantfile validated successfully/)
  for (const vm of ['control', 'worker1', 'worker2']) t.match(r.out, new RegExp(`==> ${vm}: `), `${vm} is defined`)
  t.notMatch(r.out, /worker3/, 'two workers by default')
  const token = join(dir, '.vagrant/pontoon-token')
  t.match(readFileSync(token, 'utf8'), /^[0-9a-f]{64}$/, 'the lab token is made once, beside Vagrant\'s state')
  t.equal(statSync(token).mode & 0o777, 0o600, 'readable by its owner only')
  const first = readFileSync(token, 'utf8')
  const three = vagrant(dir, ['validate', '--ignore-provider'], { PONTOON_WORKERS: '3' })
  t.equal(three.status, 0, three.out)
  t.match(three.out, /==> worker3: /, 'PONTOON_WORKERS=3: a third worker')
  t.equal(readFileSync(token, 'utf8'), first, 'and the same token')
  const none = vagrant(dir, ['validate', '--ignore-provider'], { PONTOON_WORKERS: '0' })
  t.not(none.status, 0, 'PONTOON_WORKERS=0 is refused')
  t.match(none.out, /PONTOON_WORKERS=0: between 1 and 50/)
})

t.test('the Vagrantfile names both providers, the private range and the scripts', async (t) => {
  const text = readFileSync(join(ROOT, 'Vagrantfile'), 'utf8')
  t.match(text, /config\.vm\.provider 'virtualbox'/)
  t.match(text, /config\.vm\.provider 'libvirt'/)
  t.match(text, /UNDERLAY_CIDR = '192\.168\.56\.0\/21'/, 'the underlay is chosen by CIDR, in the range VirtualBox accepts')
  t.notMatch(text, /eth1|enp0s8/, 'no interface is named')
  for (const s of ['scripts/vagrant/provision-control.sh', 'scripts/vagrant/provision-worker.sh']) t.ok(existsSync(join(ROOT, s)), s)
})

t.test('validate catches what it can: a provisioner script that is missing fails', async (t) => {
  const dir = project(t)
  rmSync(join(dir, 'scripts/vagrant/provision-worker.sh'))
  const r = vagrant(dir, ['validate', '--ignore-provider'])
  t.not(r.status, 0, 'a missing script is an error')
  t.match(r.out, /provision-worker\.sh/)
  writeFileSync(join(dir, 'Vagrantfile'), readFileSync(join(ROOT, 'Vagrantfile'), 'utf8').replace("c.vm.hostname = 'control'", "c.vm.hostnam = 'control'"))
  cpSync(join(ROOT, 'scripts/vagrant'), join(dir, 'scripts/vagrant'), { recursive: true })
  const typo = vagrant(dir, ['validate', '--ignore-provider'])
  t.not(typo.status, 0, 'an unknown vm.* key is an error')
})
