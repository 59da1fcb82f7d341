// The plugin's log: one JSON line per command, appended to the file named by the
// config's `logFile` or PONTOON_CNI_LOG, never to stdout (that carries the protocol).
// Failures also go to stderr, which runtimes keep in their own logs. No pino here:
// it costs start-up time on every pod operation.
import { appendFileSync } from 'node:fs'

export interface LogRecord {
  command: string
  containerId?: string
  ifName?: string
  network?: string
  ms: number
  code?: number
  msg?: string
}

export function logCommand(rec: LogRecord, file: string | undefined): void {
  const line = JSON.stringify({ time: new Date().toISOString(), plugin: 'pontoon-cni', pid: process.pid, ...rec }) + '\n'
  if (rec.code !== undefined) process.stderr.write(line)
  if (!file) return
  try { appendFileSync(file, line) } catch { /* a broken log must never fail a pod */ }
}
