// `npm run image`'s cost: build time (from a warm .deb cache, dist/ already built) and size of the archive.
// BENCH_N builds (default 3) into a temp dir; prints the median and every run. Judges nothing.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

const root = resolve(import.meta.dirname, '..')
const n = Number(process.env.BENCH_N ?? 3)
const dir = mkdtempSync(join(tmpdir(), 'pontoon-bench-image-'))
try {
  const runs: Array<{ seconds: number; compressedBytes: number; archiveBytes: number; digest: string }> = []
  for (let i = 0; i < n; i++) {
    const out = join(dir, `run${i}.oci.tar`)
    const t0 = process.hrtime.bigint()
    const line = execFileSync(process.execPath, [join(root, 'scripts/image/build.mjs'), '--out', out], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim().split('\n').pop()!
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9
    const r = JSON.parse(line)
    runs.push({ seconds, compressedBytes: r.compressedBytes, archiveBytes: statSync(out).size, digest: r.digest })
    rmSync(out)
  }
  const sorted = runs.map((r) => r.seconds).sort((a, b) => a - b)
  console.log(`image build: median ${sorted[Math.floor(sorted.length / 2)]!.toFixed(1)} s over ${n} (${sorted.map((s) => s.toFixed(1)).join(', ')})`)
  console.log(`layers ${(runs[0]!.compressedBytes / 1e6).toFixed(1)} MB compressed, archive ${(runs[0]!.archiveBytes / 1e6).toFixed(1)} MB; one digest over all runs: ${new Set(runs.map((r) => r.digest)).size === 1}`)
} finally {
  rmSync(dir, { recursive: true, force: true })
}
