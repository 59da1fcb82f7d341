import type { CommandModule } from 'yargs'

export const demoCommand: CommandModule = {
  command: 'demo',
  describe: 'one node namespace, two pods added by the CNI plugin as containerd would, TCP between them, then clean-up',
  handler: async () => {
    const { runDemo } = await import('../demo/demo.ts')
    try {
      process.exitCode = (await runDemo((s) => console.log(s))) ? 0 : 1
    } catch (e) {
      console.error(`demo failed: ${(e as Error).message}`)
      process.exitCode = 1
    }
  },
}
