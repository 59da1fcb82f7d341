// The name rules of k8s.io/apimachinery/pkg/util/validation, with its messages.
// Each returns a list of problems; empty means valid.

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/

const tooLong = (n: number) => `must be no more than ${n} characters`

export function dns1123Label(v: string): string[] {
  const out: string[] = []
  if (v.length > 63) out.push(tooLong(63))
  if (!DNS1123_LABEL.test(v))
    out.push(
      "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
    )
  return out
}

export function dns1123Subdomain(v: string): string[] {
  const out: string[] = []
  if (v.length > 253) out.push(tooLong(253))
  if (!DNS1123_SUBDOMAIN.test(v))
    out.push(
      "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
    )
  return out
}

export function dns1035Label(v: string): string[] {
  const out: string[] = []
  if (v.length > 63) out.push(tooLong(63))
  if (!DNS1035_LABEL.test(v))
    out.push(
      "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
    )
  return out
}

/** An IANA service name, as named ports use (RFC 6335). */
export function ianaSvcName(v: string): string[] {
  const out: string[] = []
  if (v.length > 15) out.push(tooLong(15))
  if (!/^[-a-z0-9]+$/.test(v)) out.push('must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)')
  if (v.includes('--')) out.push('must not contain consecutive hyphens')
  if (/[a-z]/.test(v) === false) out.push('must contain at least one letter (a-z)')
  if (v.startsWith('-') || v.endsWith('-')) out.push('must not begin or end with a hyphen')
  return out
}

const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/

/** A label or annotation key: optional DNS-1123 subdomain prefix, a slash, and a name of up to 63 characters. */
export function qualifiedName(v: string): string[] {
  const parts = v.split('/')
  if (parts.length > 2) return ["a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"]
  const name = parts.length === 2 ? parts[1]! : parts[0]!
  const out: string[] = []
  if (parts.length === 2) {
    const prefix = parts[0]!
    if (!prefix) out.push('prefix part must be non-empty')
    else for (const m of dns1123Subdomain(prefix)) out.push(`prefix part ${m}`)
  }
  if (!name) out.push('name part must be non-empty')
  else {
    if (name.length > 63) out.push(`name part ${tooLong(63)}`)
    if (!QUALIFIED_NAME.test(name))
      out.push(
        "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
      )
  }
  return out
}

export function labelValue(v: string): string[] {
  const out: string[] = []
  if (v.length > 63) out.push(tooLong(63))
  if (v && !QUALIFIED_NAME.test(v))
    out.push(
      "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
    )
  return out
}
