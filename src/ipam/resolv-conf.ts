// resolv.conf to the result's dns block, read as host-local reads it: the
// first argument of nameserver/domain, every argument of search/options,
// comments (# or ;) and one-word lines ignored, later `domain` lines winning.
import { readFileSync } from 'node:fs'
import { CniError, ErrCode } from '../cni/errors.ts'
import type { CniDns } from '../cni/types.ts'

export function parseResolvConf(text: string): CniDns {
  const dns: CniDns = {}
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (line === '' || line[0] === '#' || line[0] === ';') continue
    const f = line.split(/\s+/)
    if (f.length < 2) continue
    const [key, first] = [f[0], f[1]!]
    if (key === 'nameserver') (dns.nameservers ??= []).push(first)
    else if (key === 'domain') dns.domain = first
    else if (key === 'search') (dns.search ??= []).push(...f.slice(1))
    else if (key === 'options') (dns.options ??= []).push(...f.slice(1))
  }
  return dns
}

export function readResolvConf(path: string): CniDns {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (e) {
    throw new CniError(ErrCode.InvalidConfig, `ipam.resolvConf: cannot read ${path}: ${(e as Error).message}`, '', { cause: e })
  }
  return parseResolvConf(text)
}
