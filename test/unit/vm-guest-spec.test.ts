// The pure parts of the VM harness: the job files the guest's init reads, the qemu line
// (no network device, the host root read-only), and the console markers.
import t from 'tap'
import { encodeJob, MAX_JOB_BYTES } from '../../src/vm/job.ts'
import { kernelCmdline, qemuArgs, MIN_MEM, MAX_MEM } from '../../src/vm/qemu-args.ts'
import { readConsole, consoleTail } from '../../src/vm/console.ts'
import { VmInputError } from '../../src/vm/errors.ts'

const spec = { kernel: '/c/vmlinux', initrd: '/c/initramfs.cpio.gz', mem: 1024, jobDir: '/tmp/pontoon-vm-Ab12_x', modules: ['ip_vs'] }

t.test('job: NUL-terminated words, so no word is ever re-parsed by a shell', async (t) => {
  const f = encodeJob({ argv: ['sh', '-c', 'echo "a b"; exit 3', ''], env: { A: '1', B: 'x y=z', U: undefined }, cwd: '/work' })
  t.equal(f.argv.toString(), 'sh\0-c\0echo "a b"; exit 3\0\0', 'every word kept whole, an empty one too')
  t.equal(f.env.toString(), 'A=1\0B=x y=z\0', 'unset variables left out')
  t.equal(f.cwd, '/work')
})

t.test('job: bad input is refused with EVMINPUT', async (t) => {
  const bad = [
    { argv: [], env: {}, cwd: '/' },
    { argv: ['a\0b'], env: {}, cwd: '/' },
    { argv: ['true'], env: {}, cwd: 'relative' },
    { argv: ['true'], env: {}, cwd: '/a\nb' },
    { argv: ['true'], env: { 'A-B': '1' }, cwd: '/' },
    { argv: ['true'], env: { '1A': '1' }, cwd: '/' },
    { argv: ['true'], env: { A: 'x\0' }, cwd: '/' },
    { argv: ['x'.repeat(MAX_JOB_BYTES)], env: {}, cwd: '/' },
  ]
  for (const job of bad) t.throws(() => encodeJob(job), { code: 'EVMINPUT', constructor: VmInputError }, JSON.stringify(job).slice(0, 60))
  t.doesNotThrow(() => encodeJob({ argv: ['x'.repeat(MAX_JOB_BYTES - 10)], env: {}, cwd: '/' }), 'just under the bound')
})

t.test('qemu line: TCG, no network device, the host root read-only, three serial ports', async (t) => {
  const a = qemuArgs(spec)
  const after = (flag: string) => a.filter((_, i) => a[i - 1] === flag)
  t.same(after('-nic'), ['none'], 'no network device at all')
  t.notOk(a.includes('-netdev') || a.includes('-net') || a.includes('-device'), 'and nothing that adds one')
  t.same(after('-accel'), ['tcg'])
  t.same(after('-m'), ['1024'])
  t.same(after('-smp'), ['1'])
  t.same(after('-kernel'), ['/c/vmlinux'])
  t.same(after('-initrd'), ['/c/initramfs.cpio.gz'])
  t.same(after('-virtfs'), ['local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap'])
  t.same(after('-serial'), ['stdio', 'chardev:out', 'chardev:err'], 'console, then stdout, then stderr')
  t.same(after('-chardev'), [
    'socket,id=out,path=/tmp/pontoon-vm-Ab12_x/stdout.sock',
    'socket,id=err,path=/tmp/pontoon-vm-Ab12_x/stderr.sock',
  ])
  t.ok(a.includes('-no-reboot'), 'a guest panic ends qemu instead of rebooting')
  t.equal(after('-append')[0], kernelCmdline(spec))
})

t.test('kernel command line names the job and the modules', async (t) => {
  t.equal(kernelCmdline(spec), 'console=ttyS0 quiet loglevel=3 rdinit=/init panic=-1 pontoon.job=/tmp/pontoon-vm-Ab12_x pontoon.modules=ip_vs')
  t.equal(kernelCmdline({ ...spec, modules: ['ip_vs', 'ip_vs_wrr', 'dummy'] }).split(' ').at(-1), 'pontoon.modules=ip_vs,ip_vs_wrr,dummy')
  t.notMatch(kernelCmdline({ ...spec, modules: [] }), /pontoon\.modules/, 'no modules, no word')
})

t.test('qemu line: bad input is refused with EVMINPUT', async (t) => {
  for (const mem of [MIN_MEM - 1, MAX_MEM + 1, 512.5, NaN]) t.throws(() => qemuArgs({ ...spec, mem }), { code: 'EVMINPUT' }, `mem ${mem}`)
  t.doesNotThrow(() => qemuArgs({ ...spec, mem: MIN_MEM }))
  t.doesNotThrow(() => qemuArgs({ ...spec, mem: MAX_MEM }))
  for (const jobDir of ['relative/dir', '/tmp/a b', '/tmp/a,b', '/tmp/"x"', '/tmp/a\nb']) {
    t.throws(() => qemuArgs({ ...spec, jobDir }), { code: 'EVMINPUT' }, `job dir ${JSON.stringify(jobDir)}`)
  }
  for (const m of ['ip vs', 'IP_VS', '', 'a,b', 'x'.repeat(57)]) t.throws(() => qemuArgs({ ...spec, modules: [m] }), { code: 'EVMINPUT' }, `module ${JSON.stringify(m)}`)
  t.doesNotThrow(() => qemuArgs({ ...spec, modules: ['x'.repeat(56), 'nf-nat', 'ip_vs_mh'] }))
})

t.test('console: the exit status and the start, among boot noise and CRLF', async (t) => {
  const text = '[    1.2] random: crng init done\r\nPONTOON-VM-START uptime=2.31\r\nPONTOON-VM-RC=7 uptime=3.50\r\n[    3.6] reboot: Power down\r\n'
  t.same(readConsole(text), { rc: 7, startedAt: 2.31 })
  t.same(readConsole('PONTOON-VM-START uptime=2\nPONTOON-VM-RC=0 uptime=3\n'), { rc: 0, startedAt: 2 }, 'status 0 is a status')
  t.same(readConsole('PONTOON-VM-START uptime=2\n'), { startedAt: 2 }, 'no status when the guest died in the command')
  t.same(readConsole('Kernel panic - not syncing\n'), {}, 'nothing at all')
  t.same(readConsole('xPONTOON-VM-RC=3\n  PONTOON-VM-RC=4\n'), {}, 'a marker counts only at the start of a line')
  t.same(readConsole('PONTOON-VM-ERROR mount 9p hostroot\nPONTOON-VM-RC=125\n'), { error: 'mount 9p hostroot' }, "the init's own failure is not a command's status")
})

t.test('console tail: the last lines, without carriage returns', async (t) => {
  const text = Array.from({ length: 30 }, (_, i) => `line ${i}\r`).join('\n') + '\n\n'
  t.equal(consoleTail(text, 3), 'line 27\nline 28\nline 29')
  t.equal(consoleTail(text).split('\n').length, 15)
})
