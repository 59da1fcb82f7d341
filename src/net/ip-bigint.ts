// An address as an unsigned integer: ordering, "next address" and offsets in a
// range, for IPv4 and IPv6 alike. ipaddr.js parses and formats; this only maps
// its byte arrays to bigints and back.
import ipaddr from 'ipaddr.js'

export function ipToBigInt(ip: ipaddr.IPv4 | ipaddr.IPv6): bigint {
  let n = 0n
  for (const b of ip.toByteArray()) n = (n << 8n) | BigInt(b)
  return n
}

export function bigIntToIp(n: bigint, family: 4 | 6): ipaddr.IPv4 | ipaddr.IPv6 {
  const bytes = new Array<number>(family === 4 ? 4 : 16)
  for (let i = bytes.length - 1; i >= 0; i--) {
    bytes[i] = Number(n & 0xffn)
    n >>= 8n
  }
  return ipaddr.fromByteArray(bytes)
}
