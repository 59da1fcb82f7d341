// The client side of bench/proxy-modes.ts, run inside the client pod's namespace: three
// figures through one Service VIP, printed as one JSON line.
//   short:   connections per second, each: connect, read the echo line to EOF, close
//            (--concurrency at once, for --seconds)
//   bulk:    one connection to VIP:sinkPort, --bulk-mib MiB written, then EOF; MiB/s until
//            the server has read it all and closed (so no byte is counted that sat in a buffer)
//   connect: sequential TCP connects to VIP:port, time from connect() to the handshake done
//            (in userspace mode the agent's own accept: it connects to an endpoint afterwards)
// A connection that fails or takes longer than --timeout-ms is counted in `failed`, not fatal:
// under the TCG guest one slow answer among thousands must not cost the whole mode's row.
import { connect } from 'node:net'

const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : dflt
}
const HOST = arg('host', '')
const PORT = Number(arg('port', '80'))
const SINK = Number(arg('sink-port', '9000'))
const CONNECTS = Number(arg('connects', '500'))
const SECONDS = Number(arg('seconds', '5'))
const CONC = Number(arg('concurrency', '8'))
const BULK_MIB = Number(arg('bulk-mib', '256'))
const TIMEOUT_MS = Number(arg('timeout-ms', '30000'))
let failed = 0

function once(kind: 'connect' | 'line'): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now()
    const s = connect({ host: HOST, port: PORT })
    const timer = setTimeout(() => s.destroy(new Error(`no ${kind} within ${TIMEOUT_MS} ms`)), TIMEOUT_MS)
    s.once('error', (e) => { clearTimeout(timer); reject(e) })
    if (kind === 'connect') {
      s.once('connect', () => { const ms = performance.now() - t0; clearTimeout(timer); s.destroy(); resolve(ms) })
    } else {
      let got = 0
      s.on('data', (d: Buffer) => { got += d.length })
      s.once('end', () => { clearTimeout(timer); s.destroy(); got > 0 ? resolve(performance.now() - t0) : reject(new Error('empty answer')) })
    }
  })
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!
}

async function shortConns(): Promise<number> {
  const end = performance.now() + SECONDS * 1000
  let done = 0
  const t0 = performance.now()
  await Promise.all(Array.from({ length: CONC }, async () => {
    while (performance.now() < end) {
      try { await once('line'); done++ } catch { failed++ }
    }
  }))
  return done / ((performance.now() - t0) / 1000)
}

function bulk(): Promise<number> {
  return new Promise((resolve, reject) => {
    const chunk = Buffer.alloc(64 << 10, 0x61)
    const total = BULK_MIB * (1 << 20)
    let sent = 0
    const s = connect({ host: HOST, port: SINK })
    s.once('error', reject)
    let t0 = 0
    const pump = () => {
      while (sent < total) {
        sent += chunk.length
        if (!s.write(chunk)) { s.once('drain', pump); return }
      }
      s.end()
    }
    s.once('connect', () => { t0 = performance.now(); pump() })
    s.resume() // the sink sends nothing; EOF from it means it read everything
    s.once('close', (hadError) => hadError ? reject(new Error('bulk connection failed')) : resolve(BULK_MIB / ((performance.now() - t0) / 1000)))
  })
}

async function main(): Promise<void> {
  if (!HOST) throw new Error('--host VIP is required')
  for (let i = 0; i < 10; i++) await once('line') // warm-up: ARP, conntrack, the proxy's first connection
  // Connect latency last: in userspace mode each of those connects, closed at once by
  // us, still makes the agent connect to an endpoint after we left (it reads nothing
  // from a client before an endpoint took it, so it cannot see the close), and in a
  // TCG guest 500 of them are seconds of backlog that the other phases would queue behind.
  const rps = await shortConns()
  const mibps = await bulk()
  const lat: number[] = []
  for (let i = 0; i < CONNECTS; i++) {
    try { lat.push(await once('connect')) } catch { failed++ }
  }
  if (lat.length === 0) throw new Error(`none of ${CONNECTS} connects succeeded`)
  console.log(JSON.stringify({ connectP50: pct(lat, 50), connectP99: pct(lat, 99), rps, mibps, failed }))
}

main().catch((e) => { console.error(`service-client: ${(e as Error).message}`); process.exit(1) })
