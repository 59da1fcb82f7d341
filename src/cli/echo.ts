// `pontoon echo`: the lab's test server (TCP and UDP, one line per client).
import type { CommandModule } from 'yargs'

interface Args { port: number; name?: string }

export const echoCommand: CommandModule<object, Args> = {
  command: 'echo',
  describe: 'answer every TCP connection and UDP datagram on PORT with "<name> <client ip>:<client port>"',
  builder: (y) =>
    y
      .option('port', { type: 'number', demandOption: true, describe: 'TCP and UDP port to serve' })
      .option('name', { type: 'string', describe: 'name in the answer (default: $POD_NAME, else the hostname)' }) as never,
  handler: async (a) => {
    const { startEcho } = await import('../echo/server.ts')
    const { hostname } = await import('node:os')
    const name = a.name || process.env.POD_NAME || hostname()
    try {
      const server = await startEcho({ port: a.port, name })
      process.stderr.write(`pontoon echo: ${name} serving TCP and UDP on port ${server.port}\n`)
      const stop = () => { server.close().then(() => process.exit(0), () => process.exit(1)) }
      process.once('SIGTERM', stop)
      process.once('SIGINT', stop)
    } catch (e) {
      const err = e as Error & { code?: string }
      process.stderr.write(`pontoon echo: ${err.code ?? 'ERROR'}: ${err.message}\n`)
      process.exitCode = 1
    }
  },
}
