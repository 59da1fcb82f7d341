// Flag errors name the flag in their code. kube-proxy's --healthz-bind-address / --metrics-bind-address: "IP:port",
// "[IPv6]:port", or a bare IP that keeps the default port.
import { ipFamily } from '../net/address.ts'

export class FlagError extends Error {
  readonly code: string
  constructor(readonly flag: string, message: string) {
    super(`${flag}: ${message}`)
    this.name = 'FlagError'
    this.code = `INVALID_${flag.replace(/^-+/, '').replace(/-/g, '_').toUpperCase()}`
  }
}

export interface BindAddress {
  host: string
  port: number
}

export function parseBindAddress(flag: string, value: string, defaultPort: number): BindAddress {
  const text = value.trim()
  if (ipFamily(text)) return { host: text, port: defaultPort }
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text)
  if (!m) throw new FlagError(flag, `"${value}" is not IP:port`)
  const host = (m[1] ?? m[2]) as string
  if (!ipFamily(host)) throw new FlagError(flag, `"${host}" is not an IP address`)
  const port = Number(m[3])
  if (port > 65535) throw new FlagError(flag, `port ${port} is not in 0..65535`)
  return { host, port }
}

export function formatBindAddress(a: BindAddress): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`
}
