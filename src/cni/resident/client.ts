// The plugin's fast path in Node, used when the C front door (shim.c) was not
// built: hand the invocation to a resident server that has everything loaded.
// Falls back (returns undefined) when no server listens or it serves another
// netns; a server that fails mid-request is an error, never a silent local
// retry, because it may have done part of the work.
import { connect } from 'node:net'
import { CniError, ErrCode } from '../errors.ts'
import { netnsId } from './netns-id.ts'
import { decodeResponse, encodeRequest, forwardedKey } from './protocol.ts'

export interface Forwarded { code: number; stdout: string }

export function forward(socket: string, env: NodeJS.ProcessEnv, stdin: Buffer, timeoutMs = 120_000): Promise<Forwarded | undefined> {
  const picked: Record<string, string> = {}
  for (const [k, v] of Object.entries(env)) if (v !== undefined && forwardedKey(k)) picked[k] = v
  const wire = encodeRequest({ env: picked, stdin, netns: netnsId() })
  if (!wire) return Promise.resolve(undefined)
  return new Promise((resolve) => {
    let connected = false
    const chunks: Buffer[] = []
    const sock = connect(socket)
    const lost = (why: string) => {
      const err = new CniError(ErrCode.TryAgainLater, `resident pontoon at ${socket}: ${why}`)
      resolve({ code: 1, stdout: JSON.stringify(err.toJSON('1.1.0')) + '\n' })
    }
    sock.setTimeout(timeoutMs, () => { sock.destroy(); lost('no answer in time') })
    sock.on('connect', () => { connected = true; sock.end(wire) })
    sock.on('data', (d: Buffer) => { chunks.push(d) })
    sock.on('error', (e: NodeJS.ErrnoException) => {
      if (!connected) resolve(undefined) // nobody listening: do it ourselves
      else lost(e.message)
    })
    sock.on('close', () => {
      if (!connected) return
      try {
        const res = decodeResponse(Buffer.concat(chunks))
        resolve(res.kind === 'done' ? { code: res.code, stdout: res.stdout } : undefined)
      } catch (e) {
        lost(`connection lost before an answer (${(e as Error).message})`)
      }
    })
  })
}
