import type { CommandModule } from 'yargs'

interface Args { socket: string }

export const cniServerCommand: CommandModule<object, Args> = {
  command: 'cni-server',
  describe: 'serve CNI invocations from pontoon-cni over a unix socket (conflist key "agentSocket"), so pod operations skip module loading',
  builder: (y) => y.option('socket', { type: 'string', default: '/run/pontoon/cni.sock', describe: 'unix socket path' }) as never,
  handler: async (args) => {
    const { startCniServer } = await import('../cni/resident/server.ts')
    const log = (msg: string, extra: object = {}) => process.stderr.write(JSON.stringify({ time: new Date().toISOString(), msg, ...extra }) + '\n')
    const server = await startCniServer(args.socket, log)
    const stop = async () => { await server.close(); log('resident CNI server stopped', { served: server.served() }); process.exit(0) }
    process.once('SIGTERM', stop)
    process.once('SIGINT', stop)
  },
}
