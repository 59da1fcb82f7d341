// The pontoon CLI. Each subcommand lives in src/cli/<name>.ts and is loaded only when run.
import yargs from 'yargs'
import { hideBin } from 'yargs/helpers'
import { commands } from '../src/cli/index.ts'
import { renderHelpOnlyWhenShown } from '../src/cli/help-cache.ts'

const cli = yargs(hideBin(process.argv))
  .scriptName('pontoon')
  // Help text is rendered only when it is printed (see help-cache.ts); unwrapped,
  // it also skips measuring the terminal and re-flowing every line.
  .wrap(null)
  .command(commands)
  .demandCommand(1, 'name a command: pontoon --help lists them')
  .strict()
  .help()
renderHelpOnlyWhenShown(cli)
await cli.parseAsync()
