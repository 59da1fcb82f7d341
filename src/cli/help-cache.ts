// yargs renders the full help of the command it runs right after calling that
// command's handler (command.js: usage.cacheHelpMessage), at every start, so that
// a handler which rejects later can print the command's help beside its error.
// For the agent that rendering (string widths of every option line) is ~85 ms of
// CPU before the handler's first await resumes (issue 7). The usage instance
// still holds the command's options when a later rejection reaches yargs' fail(),
// so help rendered then says the same: rendering it only on failure costs nothing
// on the success path and prints the same text on the failure path
// (test/unit/cli-help-cache.test.ts checks both).
import type { Argv } from 'yargs'

interface UsageInternals { cacheHelpMessage?: () => void }
interface YargsInternals { getInternalMethods?: () => { getUsageInstance?: () => UsageInternals } }

/** Stops `y` from rendering the help of every command it runs; returns whether it could (a yargs without these internals is left as it is). */
export function renderHelpOnlyWhenShown<T>(y: Argv<T>): boolean {
  const usage = (y as unknown as YargsInternals).getInternalMethods?.().getUsageInstance?.()
  if (typeof usage?.cacheHelpMessage !== 'function') return false
  usage.cacheHelpMessage = () => {}
  return true
}
