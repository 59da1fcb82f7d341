// The kubeconfig that kubectl and the agent use to reach this server.
import { writeFileSync, renameSync, openSync, fsyncSync, closeSync, readFileSync, existsSync } from 'node:fs'
import { join } from 'node:path'

export function kubeconfigText(server: string, token: string | undefined, caPem?: string): string {
  const cluster: Record<string, string> = { server }
  if (caPem) cluster['certificate-authority-data'] = Buffer.from(caPem).toString('base64')
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'pontoon', cluster }],
    users: [{ name: 'pontoon', user: token ? { token } : {} }],
    contexts: [{ name: 'pontoon', context: { cluster: 'pontoon', user: 'pontoon', namespace: 'default' } }],
    'current-context': 'pontoon',
  }
  // JSON is valid YAML, and every kubeconfig reader accepts it.
  return JSON.stringify(config, null, 2) + '\n'
}

/** Write atomically, and only when the content changed. */
export function writeKubeconfig(dir: string, name: string, server: string, token: string | undefined, caPem?: string): string {
  const path = join(dir, name)
  const text = kubeconfigText(server, token, caPem)
  if (existsSync(path) && readFileSync(path, 'utf8') === text) return path
  const tmp = join(dir, `.${name}.tmp`)
  writeFileSync(tmp, text, { mode: 0o600 })
  const fd = openSync(tmp, 'r')
  try {
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  renameSync(tmp, path)
  return path
}

/** A token kept in the data dir, so a restart keeps kubeconfigs already handed out working. */
export function loadOrMakeToken(dir: string, make: () => string): string {
  const path = join(dir, 'token')
  if (existsSync(path)) {
    const t = readFileSync(path, 'utf8').trim()
    if (t) return t
  }
  const t = make()
  writeFileSync(path, t + '\n', { mode: 0o600 })
  return t
}
