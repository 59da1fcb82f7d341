// Where the guest kernel and initramfs live: the cache scripts/vm/build-image.sh fills,
// .tools/vm under the repository, or $PONTOON_VM_DIR.
import { existsSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { VmImageMissingError } from './errors.ts'

export interface VmImage { kernel: string; initrd: string }

/** The repository root, whether this runs bundled (dist/bin/pontoon.d/) or from source (src/vm/). */
function repoRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url))
  for (const d of [resolve(here, '../../..'), resolve(here, '../..')]) {
    if (existsSync(join(d, 'scripts', 'vm', 'build-image.sh'))) return d
  }
  return resolve(here, '../..')
}

export function vmDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.PONTOON_VM_DIR ? resolve(env.PONTOON_VM_DIR) : join(repoRoot(), '.tools', 'vm')
}

export function findImage(dir = vmDir()): VmImage {
  const image = { kernel: join(dir, 'vmlinux'), initrd: join(dir, 'initramfs.cpio.gz') }
  for (const p of [image.kernel, image.initrd]) if (!existsSync(p)) throw new VmImageMissingError(p)
  return image
}
