// Errors that reach a client as a Kubernetes `Status` object. The `code` names
// the failure for our own callers; `reason` and `status` are what kubectl reads.

export interface StatusCause {
  reason: string
  message: string
  field?: string
}

export interface StatusDetails {
  name?: string
  group?: string
  kind?: string
  causes?: StatusCause[]
  retryAfterSeconds?: number
}

export class ApiError extends Error {
  readonly code: string
  readonly status: number
  readonly reason: string
  readonly details: StatusDetails | undefined
  constructor(code: string, status: number, reason: string, message: string, details?: StatusDetails) {
    super(message)
    this.name = 'ApiError'
    this.code = code
    this.status = status
    this.reason = reason
    this.details = details
  }

  /** The metav1.Status body, shaped as kube-apiserver sends it. */
  toStatus(): Record<string, unknown> {
    const out: Record<string, unknown> = {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
    }
    if (this.details) out.details = this.details
    out.code = this.status
    return out
  }
}

export interface Target {
  kind: string
  group: string
  resource: string
  name: string
}

const what = (t: Target) => (t.group ? `${t.resource}.${t.group}` : t.resource)

export const notFound = (t: Target) =>
  new ApiError('ENOTFOUND', 404, 'NotFound', `${what(t)} "${t.name}" not found`, { name: t.name, group: t.group || undefined, kind: t.resource })

export const alreadyExists = (t: Target) =>
  new ApiError('EEXISTS', 409, 'AlreadyExists', `${what(t)} "${t.name}" already exists`, { name: t.name, group: t.group || undefined, kind: t.resource })

export const conflict = (t: Target, why: string) =>
  new ApiError('ECONFLICT', 409, 'Conflict', `Operation cannot be fulfilled on ${what(t)} "${t.name}": ${why}`, {
    name: t.name,
    group: t.group || undefined,
    kind: t.resource,
  })

export const badRequest = (message: string, code = 'EBADREQUEST') => new ApiError(code, 400, 'BadRequest', message)

export const methodNotAllowed = (message: string) => new ApiError('EMETHOD', 405, 'MethodNotAllowed', message)

export const unsupportedMediaType = (type: string) =>
  new ApiError('EMEDIATYPE', 415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json, application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json`, { causes: [{ reason: 'UnsupportedMediaType', message: type }] })

export const forbidden = (message: string) => new ApiError('EFORBIDDEN', 403, 'Forbidden', message)

export const unauthorized = () => new ApiError('EUNAUTHORIZED', 401, 'Unauthorized', 'Unauthorized')

export const gone = (message: string) => new ApiError('EEXPIRED', 410, 'Expired', message)

export const pathNotFound = (path: string) => new ApiError('ENOPATH', 404, 'NotFound', `the server could not find the requested resource (${path})`)

export const internal = (message: string) => new ApiError('EINTERNAL', 500, 'InternalError', `Internal error occurred: ${message}`)

export const tooLarge = (limit: number) => new ApiError('ETOOLARGE', 413, 'RequestEntityTooLarge', `Request entity too large: limit is ${limit}`)

/** One field problem, as field.Error renders it in kube-apiserver. */
export interface FieldError {
  type: 'FieldValueInvalid' | 'FieldValueRequired' | 'FieldValueNotSupported' | 'FieldValueDuplicate' | 'FieldValueForbidden' | 'FieldValueTooMany'
  field: string
  detail: string
  value?: unknown
}

const typeText: Record<FieldError['type'], string> = {
  FieldValueInvalid: 'Invalid value',
  FieldValueRequired: 'Required value',
  FieldValueNotSupported: 'Unsupported value',
  FieldValueDuplicate: 'Duplicate value',
  FieldValueForbidden: 'Forbidden',
  FieldValueTooMany: 'Too many',
}

export function fieldErrorText(e: FieldError): string {
  const head = typeText[e.type]
  const withValue = e.type === 'FieldValueInvalid' || e.type === 'FieldValueNotSupported' || e.type === 'FieldValueDuplicate'
  const value = withValue && e.value !== undefined ? `: ${JSON.stringify(e.value)}` : ''
  return `${head}${value}${e.detail ? `: ${e.detail}` : ''}`
}

/** 422 Invalid: the message and causes name every bad field; nothing was stored. */
export function invalid(kind: string, group: string, name: string, errs: FieldError[]): ApiError {
  const list = errs.map((e) => `${e.field}: ${fieldErrorText(e)}`)
  const summary = list.length === 1 ? list[0] : `[${list.join(', ')}]`
  return new ApiError('EINVALID', 422, 'Invalid', `${kind}${group ? `.${group}` : ''} "${name}" is invalid: ${summary}`, {
    name,
    group: group || undefined,
    kind,
    causes: errs.map((e) => ({ reason: e.type, message: fieldErrorText(e), field: e.field })),
  })
}
