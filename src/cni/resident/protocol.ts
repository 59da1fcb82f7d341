// The resident CNI protocol, spoken over a unix stream socket by the plugin's
// fast path (shim.c, or client.ts when no compiler was at hand) and the resident
// server. A line framing rather than JSON, so the C side stays trivial:
//   request:  "pontoon-cni/1\n" "netns:<dev>:<ino>\n" ("env:KEY=VALUE\n")* "stdin:<n>\n" <n bytes>, then EOF
//   response: "done:<exit code>\n" <stdout bytes> EOF   |   "fallback:<reason>\n"

export const MAGIC = 'pontoon-cni/1'

export interface ResidentRequest {
  /** CNI_* (and PONTOON_CNI_LOG) variables of the invocation */
  env: Record<string, string>
  stdin: Buffer
  /** the caller's network namespace (dev:inode of /proc/thread-self/ns/net); the server only serves its own */
  netns: string
}

export type ResidentResponse = { kind: 'done'; code: number; stdout: string } | { kind: 'fallback'; reason: string }

export class ProtocolError extends Error {
  readonly code = 'ERESIDENTPROTO'
}

export function forwardedKey(k: string): boolean {
  return k.startsWith('CNI_') || k === 'PONTOON_CNI_LOG'
}

/** undefined when some value cannot travel on one line: the caller then works locally. */
export function encodeRequest(req: ResidentRequest): Buffer | undefined {
  let head = `${MAGIC}\nnetns:${req.netns}\n`
  for (const [k, v] of Object.entries(req.env)) {
    if (v.includes('\n') || k.includes('\n') || k.includes('=')) return undefined
    head += `env:${k}=${v}\n`
  }
  head += `stdin:${req.stdin.length}\n`
  return Buffer.concat([Buffer.from(head, 'utf8'), req.stdin])
}

export function decodeRequest(buf: Buffer): ResidentRequest {
  const env: Record<string, string> = {}
  let netns = ''
  let pos = 0
  const line = (): string => {
    const nl = buf.indexOf(0x0a, pos)
    if (nl < 0) throw new ProtocolError('request ends inside its header')
    const s = buf.toString('utf8', pos, nl)
    pos = nl + 1
    return s
  }
  if (line() !== MAGIC) throw new ProtocolError(`request does not start with ${MAGIC}`)
  for (;;) {
    const l = line()
    const colon = l.indexOf(':')
    const tag = l.slice(0, colon), value = l.slice(colon + 1)
    if (tag === 'netns') netns = value
    else if (tag === 'env') {
      const eq = value.indexOf('=')
      if (eq <= 0) throw new ProtocolError(`bad env line ${JSON.stringify(value)}`)
      env[value.slice(0, eq)] = value.slice(eq + 1)
    } else if (tag === 'stdin') {
      const n = Number(value)
      if (!Number.isInteger(n) || n < 0 || pos + n !== buf.length) throw new ProtocolError(`stdin length ${value} does not match the ${buf.length - pos} bytes sent`)
      return { env, netns, stdin: buf.subarray(pos) }
    } else throw new ProtocolError(`unknown request line ${JSON.stringify(tag)}`)
  }
}

export function encodeResponse(res: ResidentResponse): string {
  return res.kind === 'done' ? `done:${res.code}\n${res.stdout}` : `fallback:${res.reason.replace(/\n/g, ' ')}\n`
}

export function decodeResponse(buf: Buffer): ResidentResponse {
  const nl = buf.indexOf(0x0a)
  if (nl < 0) throw new ProtocolError('answer has no header line')
  const head = buf.toString('utf8', 0, nl)
  if (head.startsWith('fallback:')) return { kind: 'fallback', reason: head.slice(9) }
  if (head.startsWith('done:') && /^-?\d+$/.test(head.slice(5))) {
    return { kind: 'done', code: Number(head.slice(5)), stdout: buf.toString('utf8', nl + 1) }
  }
  throw new ProtocolError(`unknown answer ${JSON.stringify(head.slice(0, 40))}`)
}
