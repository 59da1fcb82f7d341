import type { CommandModule } from 'yargs'

export const agentCommand: CommandModule = {
  command: 'agent',
  describe: 'agent (not built yet)',
  handler: () => {
    throw new Error('agent is not built yet')
  },
}
