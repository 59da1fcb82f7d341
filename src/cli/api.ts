import type { CommandModule } from 'yargs'

export const apiCommand: CommandModule = {
  command: 'api',
  describe: 'api (not built yet)',
  handler: () => {
    throw new Error('api is not built yet')
  },
}
