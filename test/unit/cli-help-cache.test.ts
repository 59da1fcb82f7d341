import t from 'tap'
import yargs from 'yargs'
import { renderHelpOnlyWhenShown } from '../../src/cli/help-cache.ts'

interface Usage { help(): string }
const usageOf = (y: unknown) => (y as { getInternalMethods(): { getUsageInstance(): Usage } }).getInternalMethods().getUsageInstance()

function cli(handler: () => Promise<void>) {
  return yargs([]).scriptName('p').wrap(null).exitProcess(false)
    .command({ command: 'a', describe: 'command a', builder: (y) => y.option('foo', { type: 'string', describe: 'the foo option' }), handler })
    .demandCommand(1).strict().help()
}

/** Runs `a` and counts how often the help text was rendered; returns what was printed to stderr meanwhile. */
async function run(y: ReturnType<typeof cli>, settle: Promise<void>) {
  const usage = usageOf(y)
  const help = usage.help.bind(usage)
  let renders = 0
  usage.help = () => { renders++; return help() }
  const printed: string[] = []
  const error = console.error
  console.error = (...a: unknown[]) => { printed.push(a.join(' ')) }
  try {
    await y.parseAsync(['a', '--foo', 'x']).catch(() => {})
    await settle
    await new Promise((r) => setImmediate(r))
  } finally {
    console.error = error
  }
  return { renders, printed: printed.join('\n') }
}

t.test('a command that succeeds: yargs renders its help unless told not to', async (t) => {
  const plain = await run(cli(async () => {}), Promise.resolve())
  t.equal(plain.renders, 1, 'yargs itself caches the help at every run (what the wrapper removes)')
  const y = cli(async () => {})
  t.equal(renderHelpOnlyWhenShown(y), true)
  const quiet = await run(y, Promise.resolve())
  t.equal(quiet.renders, 0, 'no help rendered on the success path')
  t.equal(quiet.printed, '')
})

t.test('a command that rejects later still prints its own help and the error', async (t) => {
  const outputs = []
  for (const wrap of [false, true]) {
    let fail!: () => void
    const failed = new Promise<void>((r) => { fail = r })
    const y = cli(async () => { await new Promise((r) => setTimeout(r, 5)); fail(); throw new Error('boom') })
    if (wrap) renderHelpOnlyWhenShown(y)
    const { printed } = await run(y, failed)
    t.match(printed, /p a\n\ncommand a/, `${wrap ? 'wrapped' : 'plain'}: the command's usage`)
    t.match(printed, /--foo\s+the foo option/, `${wrap ? 'wrapped' : 'plain'}: the command's options`)
    t.match(printed, /boom/, `${wrap ? 'wrapped' : 'plain'}: the error`)
    outputs.push(printed)
  }
  t.equal(outputs[1], outputs[0], 'the same text with and without the wrapper')
})

t.test('a yargs without the internals is left alone', async (t) => {
  t.equal(renderHelpOnlyWhenShown({} as never), false)
  t.equal(renderHelpOnlyWhenShown({ getInternalMethods: () => ({ getUsageInstance: () => ({}) }) } as never), false)
})
