// A small collector so validators read as a list of rules.
import type { FieldError } from '../errors.ts'

export class Errs {
  readonly list: FieldError[] = []
  invalid(field: string, value: unknown, detail: string): void {
    this.list.push({ type: 'FieldValueInvalid', field, value, detail })
  }
  required(field: string, detail = ''): void {
    this.list.push({ type: 'FieldValueRequired', field, detail })
  }
  notSupported(field: string, value: unknown, allowed: readonly string[]): void {
    this.list.push({ type: 'FieldValueNotSupported', field, value, detail: `supported values: ${allowed.map((a) => `"${a}"`).join(', ')}` })
  }
  duplicate(field: string, value: unknown): void {
    this.list.push({ type: 'FieldValueDuplicate', field, value, detail: '' })
  }
  forbidden(field: string, detail: string): void {
    this.list.push({ type: 'FieldValueForbidden', field, detail })
  }
  tooMany(field: string, detail: string): void {
    this.list.push({ type: 'FieldValueTooMany', field, detail })
  }
  /** Apply a name rule and record each of its problems against the field. */
  name(field: string, value: string, rule: (v: string) => string[]): void {
    for (const m of rule(value)) this.invalid(field, value, m)
  }
}

export const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v)
export const isStr = (v: unknown): v is string => typeof v === 'string'
