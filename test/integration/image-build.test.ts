// `npm run image` (scripts/image/build.mjs): an OCI archive without a Docker
// engine. Two builds of one tree give the same bytes; the layout is
// self-consistent (every blob named by its sha256, diff_ids = the unpacked
// layers); the root filesystem runs: the image's own Node, nft, iptables,
// ipset, conntrack and ethtool start on the image's own libraries (chroot).
// Bad input fails with a code and leaves no archive.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { ROOT } from '../lib/cni.ts'

const work = mkdtempSync(join(tmpdir(), 'pontoon-image-test-'))
t.teardown(() => rmSync(work, { recursive: true, force: true }))
const VERSION = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version as string

const build = (args: string[]) => spawnSync(process.execPath, [join(ROOT, 'scripts/image/build.mjs'), ...args], { encoding: 'utf8', timeout: 280_000 })
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')

t.test('two builds give the same archive, a consistent OCI layout, and a root filesystem that runs', async (t) => {
  const one = join(work, 'one.oci.tar'), two = join(work, 'two.oci.tar')
  const r1 = build(['--out', one])
  t.equal(r1.status, 0, r1.stderr)
  const r2 = build(['--out', two])
  t.equal(r2.status, 0, r2.stderr)
  t.equal(sha(readFileSync(one)), sha(readFileSync(two)), 'byte for byte the same archive')
  t.equal(JSON.parse(r1.stdout).digest, JSON.parse(r2.stdout).digest)

  const layout = join(work, 'layout')
  mkdirSync(layout)
  t.equal(spawnSync('tar', ['-xf', one, '-C', layout]).status, 0)
  t.same(JSON.parse(readFileSync(join(layout, 'oci-layout'), 'utf8')), { imageLayoutVersion: '1.0.0' })
  const blobs = join(layout, 'blobs/sha256')
  for (const f of readdirSync(blobs)) t.equal(sha(readFileSync(join(blobs, f))), f, `blob ${f.slice(0, 12)} is named by its sha256`)
  const blob = (d: string) => readFileSync(join(blobs, d.replace(/^sha256:/, '')))
  const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8'))
  t.equal(index.manifests.length, 1)
  t.same(index.manifests[0].annotations, { 'io.containerd.image.name': `docker.io/library/pontoon:${VERSION}`, 'org.opencontainers.image.ref.name': VERSION })
  const manifest = JSON.parse(blob(index.manifests[0].digest).toString())
  t.equal(blob(index.manifests[0].digest).length, index.manifests[0].size)
  const config = JSON.parse(blob(manifest.config.digest).toString())
  t.same(config.config.Entrypoint, ['/opt/pontoon/bin/pontoon'])
  const compressed = manifest.layers.reduce((n: number, l: { size: number }) => n + l.size, 0)
  t.ok(compressed <= 60e6, `at most 60 MB compressed: ${(compressed / 1e6).toFixed(1)} MB`)

  const rootfs = join(work, 'rootfs')
  mkdirSync(rootfs)
  for (const [i, l] of manifest.layers.entries()) {
    const gz = blob(l.digest)
    t.equal(gz.length, l.size, `layer ${i}: size as the manifest says`)
    const raw = gunzipSync(gz)
    t.equal(`sha256:${sha(raw)}`, config.rootfs.diff_ids[i], `layer ${i}: diff_id is the unpacked tar's sha256`)
    t.equal(spawnSync('tar', ['-x', '-C', rootfs], { input: raw, maxBuffer: 1 << 30 }).status, 0, `layer ${i} unpacks`)
  }
  t.equal(readlinkSync(join(rootfs, 'var/run')), '/run', '/var/run -> /run, where CNI_NETNS paths point')
  t.equal(readlinkSync(join(rootfs, 'bin/sh')), '/bin/busybox')
  t.equal(readlinkSync(join(rootfs, 'usr/sbin/iptables')), 'xtables-nft-multi', 'iptables is the nft flavour, as on kind nodes')
  t.ok(existsSync(join(rootfs, 'usr/lib/x86_64-linux-gnu/libnftables.so.1')), 'libnftables for the proxy (koffi)')
  t.match(readFileSync(join(rootfs, 'opt/pontoon/bin-id'), 'utf8'), /^[0-9a-f]{12}\n$/)
  t.ok(lstatSync(join(rootfs, 'opt/pontoon/install-cni')).mode & 0o111, 'the init container\'s script is executable')
  t.notOk(existsSync(join(rootfs, 'usr/share/doc')), 'no documentation')
  t.notOk(existsSync(join(rootfs, 'opt/pontoon/bin/pontoon.d/.compile-cache')), 'no V8 compile cache from the build host')

  // The image's own binaries on the image's own libraries: nothing from the host.
  for (const [cmd, ...args] of [['/opt/pontoon/bin/pontoon', '--help'], ['/usr/sbin/nft', '--version'], ['/usr/sbin/iptables', '--version'], ['/usr/sbin/iptables-legacy', '--version'], ['/usr/sbin/ipset', 'version'], ['/usr/sbin/conntrack', '--version'], ['/sbin/ethtool', '--version']]) {
    // env -i: tap's process-info hook puts its loader into every child's NODE_OPTIONS, a path outside the image.
    const r = spawnSync('env', ['-i', 'PATH=/usr/sbin:/usr/bin:/sbin:/bin', 'chroot', rootfs, cmd!, ...args], { encoding: 'utf8' })
    t.equal(r.status, 0, `${cmd} ${args.join(' ')} runs in the image: ${r.stderr.slice(0, 300)}`)
  }
})

t.test('bad input: a precise error, a code, no archive', async (t) => {
  const out = join(work, 'bad.oci.tar')
  const latest = build(['--out', out, '--tag', 'latest'])
  t.equal(latest.status, 1)
  t.match(latest.stderr, /EIMAGE_TAG: --tag: "latest" means imagePullPolicy Always/)
  const noBin = build(['--out', out, '--bin', join(work, 'nowhere')])
  t.equal(noBin.status, 1)
  t.match(noBin.stderr, /EIMAGE_NOBIN: .*nowhere: no built bundle/)
  t.notOk(existsSync(out), 'no archive written')
  t.same(readdirSync(work).filter((f) => f.includes('.tmp-')), [], 'no temporary archive left')
})
