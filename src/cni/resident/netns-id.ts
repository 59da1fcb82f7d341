import { statSync } from 'node:fs'

/** Identity of the calling thread's network namespace. */
export function netnsId(): string {
  const s = statSync('/proc/thread-self/ns/net')
  return `${s.dev}:${s.ino}`
}
