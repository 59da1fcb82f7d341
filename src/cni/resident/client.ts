// The plugin's fast path: hand the invocation to a resident server that has
// everything loaded already. Falls back (returns undefined) when no server
// listens or it serves another netns; a server that fails mid-request is an
// error, never a silent local retry, because it may have done part of the work.
import { connect } from 'node:net'
import { CniError, ErrCode } from '../errors.ts'
import { netnsId } from './netns-id.ts'
import { pickEnv, type ResidentRequest, type ResidentResponse } from './protocol.ts'

export interface Forwarded { code: number; stdout: string }

export function forward(socket: string, env: NodeJS.ProcessEnv, stdin: Buffer, timeoutMs = 120_000): Promise<Forwarded | undefined> {
  const req: ResidentRequest = { env: pickEnv(env), stdin: stdin.toString('utf8'), netns: netnsId() }
  return new Promise((resolve) => {
    let connected = false
    let buf = ''
    const sock = connect(socket)
    const lost = (why: string) => {
      const err = new CniError(ErrCode.TryAgainLater, `resident pontoon at ${socket}: ${why}`)
      resolve({ code: 1, stdout: JSON.stringify(err.toJSON(String(JSON.parse(req.stdin || '{}').cniVersion ?? '1.1.0'))) + '\n' })
    }
    sock.setTimeout(timeoutMs, () => { sock.destroy(); lost('no answer in time') })
    sock.on('connect', () => { connected = true; sock.end(JSON.stringify(req) + '\n') })
    sock.on('data', (d) => { buf += d })
    sock.on('error', (e: NodeJS.ErrnoException) => {
      if (!connected) resolve(undefined) // nobody listening: do it ourselves
      else lost(e.message)
    })
    sock.on('close', () => {
      if (!connected) return
      let res: ResidentResponse
      try { res = JSON.parse(buf) } catch { lost('connection closed without an answer'); return }
      resolve(res.kind === 'done' ? { code: res.code, stdout: res.stdout } : undefined)
    })
  })
}
