// Reads the guest console (ttyS0) for the init's markers: the command started, and its
// exit status. Anything else there is boot noise, kept only to explain a failure.
export interface ConsoleReport {
  /** the command's exit status, when the guest reported one */
  rc?: number
  /** guest uptime (s) when the command started */
  startedAt?: number
  /** a harness failure the init reported before the command ran */
  error?: string
}

const RC = /^PONTOON-VM-RC=(\d{1,3})\b/
const START = /^PONTOON-VM-START uptime=(\d+(?:\.\d+)?)/
const ERROR = /^PONTOON-VM-ERROR (.*)$/

export function readConsole(text: string): ConsoleReport {
  const report: ConsoleReport = {}
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '')
    const e = ERROR.exec(line)
    if (e) report.error = e[1]
    const s = START.exec(line)
    if (s) report.startedAt = Number(s[1])
    const r = RC.exec(line)
    if (r) report.rc = Number(r[1])
  }
  // The RC the init prints after its own error is the harness's, not a command's.
  if (report.error !== undefined) delete report.rc
  return report
}

/** The last lines of the console, to quote in an error. */
export function consoleTail(text: string, lines = 15): string {
  return text.replace(/\r/g, '').trimEnd().split('\n').slice(-lines).join('\n')
}
