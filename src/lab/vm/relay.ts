// In the guest: the API's forwarded port. The guest's API listens on its loopback (as in the
// namespace lab); qemu's forward lands on the guest's NIC, so this relays bytes between the
// two. TLS stays end to end: the relay sees only ciphertext.
import { connect, createServer, type Server, type Socket } from 'node:net'

const MAX_CONNS = 256

/** Listen on host:port; each connection is piped to 127.0.0.1:<target()>, or closed while there is none. */
export function startRelay(host: string, port: number, target: () => number | undefined): Promise<Server> {
  const server = createServer((client: Socket) => {
    const to = target()
    if (to === undefined) { client.destroy(); return }
    const upstream = connect(to, '127.0.0.1')
    const close = () => { client.destroy(); upstream.destroy() }
    client.on('error', close)
    upstream.on('error', close)
    client.on('close', close)
    upstream.on('close', close)
    client.pipe(upstream)
    upstream.pipe(client)
  })
  server.maxConnections = MAX_CONNS
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => resolve(server))
  })
}
