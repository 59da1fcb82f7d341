// Write a file so that readers see the old content or the new, never a torn or
// missing file: temp file in the same directory, fsync, rename. Skips the write
// when the content is already there (a resync must not churn mtimes or inotify).
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs'
import { dirname, join, basename } from 'node:path'

/** Returns true when the file changed. */
export function writeFileAtomic(path: string, content: string, mode = 0o644): boolean {
  try {
    if (readFileSync(path, 'utf8') === content) return false
  } catch { /* absent: write it */ }
  const dir = dirname(path)
  mkdirSync(dir, { recursive: true })
  const tmp = join(dir, `.${basename(path)}.${process.pid}.tmp`)
  try {
    const fd = openSync(tmp, 'w', mode)
    try {
      writeSync(fd, content)
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    renameSync(tmp, path)
  } catch (e) {
    rmSync(tmp, { force: true })
    throw e
  }
  const d = openSync(dir, 'r')
  try { fsyncSync(d) } finally { closeSync(d) }
  return true
}
