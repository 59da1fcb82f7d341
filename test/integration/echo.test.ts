// `pontoon echo` for real, in a namespace: TCP and UDP, IPv4 and IPv6, the
// client's address as the client has it, and a client that floods it with input.
import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { makeNetns, linkNamespaces } from '../lib/netns.ts'
import { BIN } from '../lib/cni.ts'
import { waitFor } from '../lib/wait.ts'

const PONTOON = join(BIN, 'pontoon')

t.test('pontoon echo answers TCP and UDP over IPv4 and IPv6 with the unmapped client address', async (t) => {
  const server = makeNetns('echo')
  const client = makeNetns('cli')
  t.teardown(() => { client.destroy(); server.destroy() })
  const { aIf, bIf } = linkNamespaces(server, '10.250.0.1/24', client, '10.250.0.2/24')
  server.run('ip', ['addr', 'add', 'fd00:250::1/64', 'dev', aIf, 'nodad'])
  client.run('ip', ['addr', 'add', 'fd00:250::2/64', 'dev', bIf, 'nodad'])

  const echo = server.spawn(PONTOON, ['echo', '--port', '8080', '--name', 'pod-x'])
  let stderr = ''
  echo.stderr!.on('data', (d) => { stderr += d })
  const listening = () => {
    const tcp = server.try('ss', ['-Hltn', 'sport = :8080']).stdout
    const udp = server.try('ss', ['-Hlun', 'sport = :8080']).stdout
    return tcp.includes(':8080') && udp.includes(':8080')
  }
  await waitFor('echo to listen on TCP and UDP', listening, { abandon: () => echo.exitCode !== null })
  t.match(server.run('ss', ['-Hltn', 'sport = :8080']), /\[::\]:8080|\*:8080/, 'TCP on the dual-stack wildcard')

  const tcp4 = client.run('socat', ['-T', '5', '-', 'TCP:10.250.0.1:8080,sourceport=41001'], { input: '' })
  t.equal(tcp4, 'pod-x 10.250.0.2:41001\n', 'TCP over IPv4: one line, address unmapped')
  const tcp6 = client.run('socat', ['-T', '5', '-', 'TCP6:[fd00:250::1]:8080,sourceport=41002'], { input: '' })
  t.equal(tcp6, 'pod-x fd00:250::2:41002\n', 'TCP over IPv6')
  const udp4 = client.run('socat', ['-T', '5', '-', 'UDP:10.250.0.1:8080,sourceport=41003'], { input: 'hi\n' })
  t.equal(udp4, 'pod-x 10.250.0.2:41003\n', 'UDP over IPv4')
  const udp6 = client.run('socat', ['-T', '5', '-', 'UDP6:[fd00:250::1]:8080,sourceport=41004'], { input: 'hi\n' })
  t.equal(udp6, 'pod-x fd00:250::2:41004\n', 'UDP over IPv6')
  const local = server.run('socat', ['-T', '5', '-', 'TCP:127.0.0.1:8080,sourceport=41005'], { input: '' })
  t.equal(local, 'pod-x 127.0.0.1:41005\n', 'loopback, as a container of the same pod sees it')

  // 8 MiB of input: the server answers, closes, and is still there for the next client
  const flood = client.try('socat', ['-T', '5', '-', 'TCP:10.250.0.1:8080,sourceport=41006'], { input: 'x'.repeat(8 << 20) })
  t.match(flood.stdout, /^pod-x 10\.250\.0\.2:41006\n$/, 'a client that floods still gets its one line')
  const after = client.run('socat', ['-T', '5', '-', 'TCP:10.250.0.1:8080,sourceport=41007'], { input: '' })
  t.equal(after, 'pod-x 10.250.0.2:41007\n', 'the server lives on')
  t.equal(echo.exitCode, null, `still running (stderr: ${stderr})`)
  // nsenter and the launcher exec: the spawned pid is the node process itself
  const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${echo.pid}/status`, 'utf8'))?.[1])
  t.ok(rss > 0 && rss < 200_000, `echo RSS stays bounded (${rss} KiB)`)
})

t.test('the name defaults to $POD_NAME; a port out of range is a clear error', async (t) => {
  const ns = makeNetns('echo')
  t.teardown(() => ns.destroy())
  const echo = ns.spawn(PONTOON, ['echo', '--port', '9090'], { env: { ...process.env, POD_NAME: 'from-env' } })
  await waitFor('echo to listen', () => ns.try('ss', ['-Hltn', 'sport = :9090']).stdout.includes(':9090'), { abandon: () => echo.exitCode !== null })
  t.match(ns.run('socat', ['-T', '5', '-', 'TCP:127.0.0.1:9090'], { input: '' }), /^from-env 127\.0\.0\.1:\d+\n$/)

  const bad = ns.try(PONTOON, ['echo', '--port', '70000'])
  t.not(bad.status, 0)
  t.match(bad.stderr, /EECHO_PORT: --port must be 1\.\.65535, got 70000/)
  const busy = ns.try(PONTOON, ['echo', '--port', '9090'])
  t.not(busy.status, 0)
  t.match(busy.stderr, /EECHO_LISTEN: cannot listen on TCP port 9090/)
})
