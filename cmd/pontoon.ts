// The pontoon CLI. Each subcommand lives in src/cli/<name>.ts and is loaded only when run.
import yargs from 'yargs'
import { hideBin } from 'yargs/helpers'
import { commands } from '../src/cli/index.ts'

await yargs(hideBin(process.argv))
  .scriptName('pontoon')
  .command(commands)
  .demandCommand(1, 'name a command: pontoon --help lists them')
  .strict()
  .help()
  .parseAsync()
