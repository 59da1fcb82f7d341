// The one way tests wait: poll a condition until it holds or a deadline
// passes. Tests never sleep for a fixed time; the deadline is generous
// (a loaded CI box starts processes slowly) and only bounds a failure.

export class WaitTimeoutError extends Error {
  readonly code = 'EWAITTIMEOUT'
  constructor(what: string, why: string, readonly last?: unknown) {
    super(`${why} waiting for ${what}${last === undefined ? '' : `: ${last instanceof Error ? last.message : String(last)}`}`, { cause: last })
  }
}

export interface WaitOptions {
  /** how long to keep trying, in ms (default 20 s) */
  timeoutMs?: number
  /** pause between probes, in ms (default 25) */
  everyMs?: number
  /** stop early, with the last answer, when this holds (say, the process under test has exited) */
  abandon?: () => boolean
}

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/**
 * Probe until it returns something other than undefined or false, and return that.
 * A probe that throws counts as "not yet"; its last error is kept for the timeout message.
 * Throws WaitTimeoutError when the deadline passes, or `abandon` holds, first.
 */
export async function waitFor<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, o: WaitOptions = {}): Promise<T> {
  const ms = o.timeoutMs ?? 20_000
  const end = Date.now() + ms
  let last: unknown
  for (;;) {
    try {
      const v = await probe()
      if (v !== undefined && v !== false) return v
    } catch (e) {
      last = e
    }
    if (o.abandon?.()) throw new WaitTimeoutError(what, 'gave up (abandon condition held)', last)
    if (Date.now() >= end) throw new WaitTimeoutError(what, `timed out after ${ms} ms`, last)
    await pause(o.everyMs ?? 25)
  }
}
