import type { CommandModule } from 'yargs'

export const demoCommand: CommandModule = {
  command: 'demo',
  describe: 'demo (not built yet)',
  handler: () => {
    throw new Error('demo is not built yet')
  },
}
