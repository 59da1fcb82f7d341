// The echo server's answer: `<name> <client ip>:<client port>\n`. A dual-stack
// socket reports IPv4 clients as ::ffff:a.b.c.d; the line shows them as the
// IPv4 address the client really has, so a test can compare it with a pod IP.
import { formatIp, tryParseIp } from '../net/address.ts'

/** The client's address as a person (or a test) expects to read it. */
export function clientAddress(raw: string): string {
  const a = tryParseIp(raw, { mapped: 'unmap', zone: true })
  return a ? formatIp(a) : raw
}

export function echoLine(name: string, address: string, port: number): string {
  return `${name} ${clientAddress(address)}:${port}\n`
}
