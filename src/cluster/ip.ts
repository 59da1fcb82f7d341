// Strict address checks for normalisation. node:net accepts only the plain
// dotted-quad and RFC 4291 forms, unlike ipaddr.js's lenient parse ("10.1", octal),
// which kube-apiserver would reject too.
import { isIP } from 'node:net'
import type { IPFamily } from './model.ts'

export function ipFamily(s: string): IPFamily | null {
  const v = isIP(s)
  return v === 4 ? 'IPv4' : v === 6 ? 'IPv6' : null
}

export function isCIDR(s: string): boolean {
  const slash = s.indexOf('/')
  if (slash < 0) return false
  const fam = ipFamily(s.slice(0, slash))
  const bitsText = s.slice(slash + 1)
  if (!fam || !/^\d{1,3}$/.test(bitsText)) return false
  return Number(bitsText) <= (fam === 'IPv4' ? 32 : 128)
}
