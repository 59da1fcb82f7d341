// The kubeconfig that kubectl and the agent use to reach this server: the
// server's URL, its CA and the bearer token. It and the token file hold the
// secret, so both are readable by their owner only, however they were before.
import { chmodSync, existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { writeFileAtomic } from '../sys/atomic-write.ts'

const SECRET = 0o600

export function kubeconfigText(server: string, token: string, caPem: string): string {
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'pontoon', cluster: { server, 'certificate-authority-data': Buffer.from(caPem).toString('base64') } }],
    users: [{ name: 'pontoon', user: { token } }],
    contexts: [{ name: 'pontoon', context: { cluster: 'pontoon', user: 'pontoon', namespace: 'default' } }],
    'current-context': 'pontoon',
  }
  // JSON is valid YAML, and every kubeconfig reader accepts it.
  return JSON.stringify(config, null, 2) + '\n'
}

/** Write atomically, only when the content changed, and owner-only in any case. */
export function writeSecretFile(path: string, text: string): void {
  writeFileAtomic(path, text, SECRET)
  chmodSync(path, SECRET)
}

export function writeKubeconfig(dir: string, name: string, server: string, token: string, caPem: string): string {
  const path = join(dir, name)
  writeSecretFile(path, kubeconfigText(server, token, caPem))
  return path
}

/** A token kept in the data dir, so a restart keeps kubeconfigs already handed out working. */
export function loadOrMakeToken(dir: string, make: () => string): string {
  const path = join(dir, 'token')
  if (existsSync(path)) {
    const t = readFileSync(path, 'utf8').trim()
    if (t) {
      chmodSync(path, SECRET)
      return t
    }
  }
  const t = make()
  writeSecretFile(path, t + '\n')
  return t
}
