// Where the agent's API credentials come from: a kubeconfig file, or the
// in-cluster service account when none is given (as kube-proxy does). The
// result is plain data (server, CA, client certificate, token) for the
// transport; parsing is pure, file reads go through an injected reader so that
// tests need no files.
import { readFileSync } from 'node:fs'
import { dirname, isAbsolute, join } from 'node:path'

export type KubeconfigErrorCode =
  | 'KUBECONFIG_NOT_FOUND'
  | 'KUBECONFIG_INVALID'
  | 'KUBECONFIG_UNSUPPORTED'
  | 'IN_CLUSTER_UNAVAILABLE'

export class KubeconfigError extends Error {
  constructor(readonly code: KubeconfigErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'KubeconfigError'
  }
}

/** Everything the transport needs to reach and authenticate to one API server. */
export interface ClusterAccess {
  /** e.g. https://10.0.0.1:6443, without a trailing slash */
  server: string
  /** PEM bundle to trust instead of the system roots */
  ca?: string
  insecureSkipTLSVerify: boolean
  /** TLS SNI and the name the certificate is checked against, when not the server's host */
  tlsServerName?: string
  clientCert?: string
  clientKey?: string
  /** a fixed bearer token */
  token?: string
  /** a bearer token re-read from this file (projected service-account tokens rotate) */
  tokenFile?: string
  basicAuth?: { username: string; password: string }
}

export type ReadFile = (path: string) => string

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount'

// Bounds on what we read: a kubeconfig or a certificate is a few kB.
const MAX_FILE_BYTES = 4 << 20

const readBounded: ReadFile = (path) => {
  const buf = readFileSync(path)
  if (buf.length > MAX_FILE_BYTES) throw new Error(`larger than ${MAX_FILE_BYTES} bytes`)
  return buf.toString('utf8')
}

type Obj = Record<string, unknown>
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)

function named(list: unknown, what: string, name: string, where: string): Obj {
  if (list !== undefined && !Array.isArray(list)) throw invalid(where, `${what}s: not a list`)
  for (const [i, entry] of ((list as unknown[] | undefined) ?? []).entries()) {
    if (!isObj(entry)) throw invalid(where, `${what}s[${i}]: not a mapping`)
    if (entry.name !== name) continue
    const body = entry[what]
    if (body === undefined || body === null) return {}
    if (!isObj(body)) throw invalid(where, `${what}s[${i}].${what}: not a mapping`)
    return body
  }
  throw invalid(where, `the current context names ${what} "${name}", which is not defined`)
}

function invalid(where: string, msg: string): KubeconfigError {
  return new KubeconfigError('KUBECONFIG_INVALID', `${where}: ${msg}`)
}

function str(o: Obj, key: string, where: string): string | undefined {
  const v = o[key]
  if (v === undefined || v === null || v === '') return undefined
  if (typeof v !== 'string') throw invalid(where, `${key}: not a string`)
  return v
}

/**
 * Decodes kubeconfig text. JSON (what `pontoon api` writes) is read with
 * JSON.parse; only YAML loads the yaml package, which the agent's start would
 * otherwise pay for every time.
 */
export async function decodeKubeconfig(text: string, file: string): Promise<unknown> {
  if (text.trimStart().startsWith('{')) {
    try {
      return JSON.parse(text)
    } catch {
      // YAML's flow style also starts with "{": let the YAML parser judge it
    }
  }
  const { parse } = await import('yaml')
  try {
    return parse(text, { maxAliasCount: 100 })
  } catch (e) {
    throw new KubeconfigError('KUBECONFIG_INVALID', `${file}: not valid YAML: ${(e as Error).message}`, { cause: e })
  }
}

/** Kubeconfig text (YAML or JSON) to the access of its current context. */
export async function parseKubeconfig(text: string, file: string, read: ReadFile = readBounded): Promise<ClusterAccess> {
  return kubeconfigAccess(await decodeKubeconfig(text, file), file, read)
}

/**
 * The access of a decoded kubeconfig's current context. Relative file paths
 * resolve against the kubeconfig's own folder, as kubectl's do.
 */
export function kubeconfigAccess(doc: unknown, file: string, read: ReadFile = readBounded): ClusterAccess {
  if (!isObj(doc)) throw invalid(file, 'not a mapping')
  const current = doc['current-context']
  if (typeof current !== 'string' || !current) throw invalid(file, 'names no current-context')
  const context = named(doc.contexts, 'context', current, file)
  const clusterName = str(context, 'cluster', `${file}: context "${current}"`)
  if (!clusterName) throw invalid(file, `context "${current}" names no cluster`)
  const cluster = named(doc.clusters, 'cluster', clusterName, file)
  const userName = str(context, 'user', `${file}: context "${current}"`)
  const user = userName ? named(doc.users, 'user', userName, file) : {}

  const cw = `${file}: cluster "${clusterName}"`
  const server = str(cluster, 'server', cw)
  if (!server) throw invalid(cw, 'server: missing')
  let url: URL
  try {
    url = new URL(server)
  } catch {
    throw invalid(cw, `server: "${server}" is not a URL`)
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw invalid(cw, `server: "${server}" is neither http:// nor https://`)

  const base = dirname(file)
  const fileText = (path: string, where: string): string => {
    const p = isAbsolute(path) ? path : join(base, path)
    try {
      return read(p)
    } catch (e) {
      throw new KubeconfigError('KUBECONFIG_NOT_FOUND', `${where}: cannot read ${p}: ${(e as Error).message}`, { cause: e })
    }
  }
  const data = (o: Obj, dataKey: string, fileKey: string, where: string): string | undefined => {
    const inline = str(o, dataKey, where)
    if (inline !== undefined) {
      const text = Buffer.from(inline, 'base64').toString('utf8')
      if (!text.includes('-----BEGIN')) throw invalid(where, `${dataKey}: not base64 of a PEM block`)
      return text
    }
    const path = str(o, fileKey, where)
    return path === undefined ? undefined : fileText(path, `${where}: ${fileKey}`)
  }

  const insecure = cluster['insecure-skip-tls-verify']
  if (insecure !== undefined && typeof insecure !== 'boolean') throw invalid(cw, 'insecure-skip-tls-verify: not a boolean')
  const access: ClusterAccess = { server: server.replace(/\/+$/, ''), insecureSkipTLSVerify: insecure === true }
  const ca = data(cluster, 'certificate-authority-data', 'certificate-authority', cw)
  if (ca !== undefined) {
    if (access.insecureSkipTLSVerify) throw invalid(cw, 'sets both a certificate authority and insecure-skip-tls-verify')
    access.ca = ca
  }
  const sni = str(cluster, 'tls-server-name', cw)
  if (sni) access.tlsServerName = sni

  const uw = `${file}: user "${userName ?? ''}"`
  for (const key of ['exec', 'auth-provider']) {
    if (user[key] !== undefined && user[key] !== null) {
      throw new KubeconfigError('KUBECONFIG_UNSUPPORTED', `${uw}: ${key} credentials are not supported; use a token, a token file or a client certificate`)
    }
  }
  const cert = data(user, 'client-certificate-data', 'client-certificate', uw)
  const key = data(user, 'client-key-data', 'client-key', uw)
  if ((cert === undefined) !== (key === undefined)) throw invalid(uw, 'a client certificate needs both the certificate and its key')
  if (cert !== undefined && key !== undefined) {
    access.clientCert = cert
    access.clientKey = key
  }
  const token = str(user, 'token', uw)
  const tokenFile = str(user, 'tokenFile', uw)
  if (token) access.token = token
  else if (tokenFile) access.tokenFile = isAbsolute(tokenFile) ? tokenFile : join(base, tokenFile)
  const username = str(user, 'username', uw)
  const password = str(user, 'password', uw)
  if (username !== undefined && !token && !tokenFile) access.basicAuth = { username, password: password ?? '' }
  if (url.protocol === 'http:' && (access.token || access.tokenFile || access.basicAuth)) {
    // kubectl refuses this too: a credential must not cross the network in clear text.
    throw invalid(cw, `server "${server}" is plain http, but the user has credentials; they are only sent over https`)
  }
  return access
}

/** The service account a pod gets: kube-proxy's and client-go's InClusterConfig. */
export function inClusterAccess(env: NodeJS.ProcessEnv, read: ReadFile = readBounded, dir = SERVICE_ACCOUNT_DIR): ClusterAccess {
  const host = env.KUBERNETES_SERVICE_HOST
  const port = env.KUBERNETES_SERVICE_PORT
  if (!host || !port) {
    throw new KubeconfigError('IN_CLUSTER_UNAVAILABLE', '--kubeconfig: not given, and KUBERNETES_SERVICE_HOST/KUBERNETES_SERVICE_PORT are not set (not running in a pod)')
  }
  if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) {
    throw new KubeconfigError('IN_CLUSTER_UNAVAILABLE', `KUBERNETES_SERVICE_PORT: "${port}" is not a port`)
  }
  const tokenFile = join(dir, 'token')
  let ca: string
  try {
    if (!read(tokenFile).trim()) throw new Error('empty')
    ca = read(join(dir, 'ca.crt'))
  } catch (e) {
    throw new KubeconfigError('IN_CLUSTER_UNAVAILABLE', `in-cluster service account: ${dir}: ${(e as Error).message}`, { cause: e })
  }
  const h = host.includes(':') ? `[${host}]` : host
  return { server: `https://${h}:${port}`, ca, insecureSkipTLSVerify: false, tokenFile }
}

/** The agent's --kubeconfig, or the in-cluster service account without one. */
export async function loadClusterAccess(file: string | undefined, env: NodeJS.ProcessEnv = process.env, read: ReadFile = readBounded): Promise<ClusterAccess> {
  if (!file) return inClusterAccess(env, read)
  let text: string
  try {
    text = read(file)
  } catch (e) {
    throw new KubeconfigError('KUBECONFIG_NOT_FOUND', `--kubeconfig: cannot read ${file}: ${(e as Error).message}`, { cause: e })
  }
  return parseKubeconfig(text, file, read)
}
