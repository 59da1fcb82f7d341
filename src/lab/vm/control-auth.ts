// The control channel's bearer token: random, kept owner-only in the host's state dir and
// read by the guest from the job dir at boot. Compared in constant time.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'

export function makeToken(): string {
  return randomBytes(32).toString('hex')
}

/** True iff the Authorization header carries exactly this bearer token. */
export function authorized(header: string | undefined, token: string): boolean {
  if (!header?.startsWith('Bearer ') || token === '') return false
  const digest = (s: string) => createHash('sha256').update(s).digest()
  return timingSafeEqual(digest(header.slice('Bearer '.length)), digest(token))
}
