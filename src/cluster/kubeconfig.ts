// Where the agent's API credentials come from: a kubeconfig file, or the
// in-cluster service account when none is given (as kube-proxy does).
import { existsSync } from 'node:fs'
import { KubeConfig } from '@kubernetes/client-node'

export class KubeconfigError extends Error {
  constructor(readonly code: 'KUBECONFIG_NOT_FOUND' | 'KUBECONFIG_INVALID' | 'IN_CLUSTER_UNAVAILABLE', message: string) {
    super(message)
    this.name = 'KubeconfigError'
  }
}

const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount'

export function loadKubeConfig(file: string | undefined): KubeConfig {
  const kc = new KubeConfig()
  if (file) {
    if (!existsSync(file)) throw new KubeconfigError('KUBECONFIG_NOT_FOUND', `--kubeconfig: ${file} does not exist`)
    try {
      kc.loadFromFile(file)
    } catch (e) {
      throw new KubeconfigError('KUBECONFIG_INVALID', `--kubeconfig: ${file}: ${(e as Error).message}`)
    }
    if (!kc.getCurrentCluster()) throw new KubeconfigError('KUBECONFIG_INVALID', `--kubeconfig: ${file} names no current cluster`)
    return allowPlainHttp(kc)
  }
  if (!process.env.KUBERNETES_SERVICE_HOST || !existsSync(`${SA_DIR}/token`)) {
    throw new KubeconfigError(
      'IN_CLUSTER_UNAVAILABLE',
      '--kubeconfig: not given, and no in-cluster service account (KUBERNETES_SERVICE_HOST and the token file) is available',
    )
  }
  kc.loadFromCluster()
  return kc
}

/**
 * client-node 2 refuses an http:// server unless skipTLSVerify is set, though
 * there is no TLS to verify (kubectl just connects). `pontoon api` on loopback
 * serves plain HTTP, so mark such clusters; https:// ones are left alone.
 */
function allowPlainHttp(kc: KubeConfig): KubeConfig {
  if (!kc.getClusters().some((c) => c.server.startsWith('http://') && !c.skipTLSVerify)) return kc
  const out = new KubeConfig()
  out.loadFromOptions({
    clusters: kc.getClusters().map((c) => (c.server.startsWith('http://') ? { ...c, skipTLSVerify: true } : c)),
    users: kc.getUsers(),
    contexts: kc.getContexts(),
    currentContext: kc.getCurrentContext(),
  })
  return out
}
