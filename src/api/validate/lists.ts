// A list of strings (command, args, exec probes): each element is checked on its own index.
import { Errs, isStr } from './errs.ts'

export function stringList(e: Errs, field: string, v: unknown): void {
  if (v === undefined || v === null) return
  if (!Array.isArray(v)) return e.invalid(field, v, 'must be a list of strings')
  v.forEach((s: unknown, i: number) => {
    if (!isStr(s)) e.invalid(`${field}[${i}]`, s, 'must be a string')
  })
}
