// The pontoon CLI. Each subcommand lives in src/cli/<name>.ts and is loaded only when run.
import yargs from 'yargs'
import { hideBin } from 'yargs/helpers'
import { commands } from '../src/cli/index.ts'

await yargs(hideBin(process.argv))
  .scriptName('pontoon')
  // yargs renders the help of the command it runs before that command's handler
  // goes on (usage.cacheHelpMessage), at every start; unwrapped, that costs half the CPU.
  .wrap(null)
  .command(commands)
  .demandCommand(1, 'name a command: pontoon --help lists them')
  .strict()
  .help()
  .parseAsync()
