// The agent's kubeconfig and in-cluster reader: what each credential form
// becomes, and a precise error with a code for each bad input. Files are served
// from a map, so no test touches the disk.
import t, { type Test } from 'tap'
import { inClusterAccess, KubeconfigError, loadClusterAccess, parseKubeconfig, type ReadFile } from '../../src/cluster/kubeconfig.ts'

const CA = '-----BEGIN CERTIFICATE-----\nMIIBca\n-----END CERTIFICATE-----\n'
const CERT = '-----BEGIN CERTIFICATE-----\nMIIBclient\n-----END CERTIFICATE-----\n'
const KEY = '-----BEGIN EC PRIVATE KEY-----\nMHcCAQ\n-----END EC PRIVATE KEY-----\n'
const b64 = (s: string) => Buffer.from(s).toString('base64')

function files(map: Record<string, string>): ReadFile {
  return (p) => {
    const v = map[p]
    if (v === undefined) throw Object.assign(new Error(`ENOENT: no such file, open '${p}'`), { code: 'ENOENT' })
    return v
  }
}

function kubeconfig(cluster: Record<string, unknown>, user: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'other', cluster: { server: 'https://wrong:1' } }, { name: 'c', cluster }],
    users: [{ name: 'u', user }],
    contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'u' } }],
    'current-context': 'ctx',
    ...extra,
  })
}

async function fails(t: Test, fn: () => unknown, code: string, message: RegExp): Promise<void> {
  try {
    await fn()
    t.fail(`expected ${code}`)
  } catch (e) {
    t.type(e, KubeconfigError)
    t.equal((e as KubeconfigError).code, code)
    t.match((e as Error).message, message)
  }
}

t.test('bearer token and inline CA, as `pontoon api` writes them', async (t) => {
  const a = await parseKubeconfig(kubeconfig({ server: 'https://127.0.0.1:6443/', 'certificate-authority-data': b64(CA) }, { token: 's3cret' }), '/etc/kc')
  t.same(a, { server: 'https://127.0.0.1:6443', ca: CA, insecureSkipTLSVerify: false, token: 's3cret' })
})

t.test('YAML with a client certificate, CA and key from files relative to the kubeconfig', async (t) => {
  const text = `apiVersion: v1
kind: Config
current-context: node
contexts:
- name: node
  context: {cluster: lab, user: kubelet}
clusters:
- name: lab
  cluster:
    server: https://api.lab:6443
    certificate-authority: pki/ca.crt
    tls-server-name: kubernetes
users:
- name: kubelet
  user:
    client-certificate: /abs/client.crt
    client-key: pki/client.key
`
  const a = await parseKubeconfig(text, '/etc/pontoon/kubeconfig', files({ '/etc/pontoon/pki/ca.crt': CA, '/abs/client.crt': CERT, '/etc/pontoon/pki/client.key': KEY }))
  t.same(a, { server: 'https://api.lab:6443', ca: CA, insecureSkipTLSVerify: false, tlsServerName: 'kubernetes', clientCert: CERT, clientKey: KEY })
})

t.test('inline client certificate data', async (t) => {
  const a = await parseKubeconfig(kubeconfig({ server: 'https://h:1' }, { 'client-certificate-data': b64(CERT), 'client-key-data': b64(KEY) }), '/kc')
  t.equal(a.clientCert, CERT)
  t.equal(a.clientKey, KEY)
  t.equal(a.token, undefined)
})

t.test('insecure-skip-tls-verify, a token file, basic auth and plain http', async (t) => {
  const insecure = await parseKubeconfig(kubeconfig({ server: 'https://h:1', 'insecure-skip-tls-verify': true }, { tokenFile: 'tok' }), '/d/kc')
  t.same(insecure, { server: 'https://h:1', insecureSkipTLSVerify: true, tokenFile: '/d/tok' })
  const basic = await parseKubeconfig(kubeconfig({ server: 'https://h:1' }, { username: 'admin', password: 'pw' }), '/kc')
  t.same(basic.basicAuth, { username: 'admin', password: 'pw' })
  const plain = await parseKubeconfig(kubeconfig({ server: 'http://127.0.0.1:8080' }), '/kc')
  t.same(plain, { server: 'http://127.0.0.1:8080', insecureSkipTLSVerify: false })
  const noUser = await parseKubeconfig(JSON.stringify({ clusters: [{ name: 'c', cluster: { server: 'https://h:1' } }], contexts: [{ name: 'x', context: { cluster: 'c' } }], 'current-context': 'x' }), '/kc')
  t.same(noUser, { server: 'https://h:1', insecureSkipTLSVerify: false })
})

t.test('bad kubeconfigs get a precise error with a code', async (t) => {
  await fails(t, () => parseKubeconfig('a: [', '/kc'), 'KUBECONFIG_INVALID', /^\/kc: not valid YAML/)
  await fails(t, () => parseKubeconfig('- 1', '/kc'), 'KUBECONFIG_INVALID', /not a mapping/)
  await fails(t, () => parseKubeconfig(kubeconfig({ server: 'https://h:1' }, {}, { 'current-context': '' }), '/kc'), 'KUBECONFIG_INVALID', /no current-context/)
  await fails(t, () => parseKubeconfig(kubeconfig({ server: 'https://h:1' }, {}, { 'current-context': 'nope' }), '/kc'), 'KUBECONFIG_INVALID', /context "nope", which is not defined/)
  await fails(t, () => parseKubeconfig(kubeconfig({ server: 'https://h:1' }, {}, { clusters: 'x' }), '/kc'), 'KUBECONFIG_INVALID', /clusters: not a list/)
  await fails(t, () => parseKubeconfig(kubeconfig({}), '/kc'), 'KUBECONFIG_INVALID', /cluster "c": server: missing/)
  await fails(t, () => parseKubeconfig(kubeconfig({ server: 'not a url' }), '/kc'), 'KUBECONFIG_INVALID', /is not a URL/)
  await fails(t, () => parseKubeconfig(kubeconfig({ server: 'ftp://h' }), '/kc'), 'KUBECONFIG_INVALID', /neither http/)
  await fails(t, () => parseKubeconfig(kubeconfig({ server: 'https://h:1', 'insecure-skip-tls-verify': 'yes' }), '/kc'), 'KUBECONFIG_INVALID', /insecure-skip-tls-verify: not a boolean/)
  await fails(t, () => parseKubeconfig(kubeconfig({ server: 'https://h:1', 'insecure-skip-tls-verify': true, 'certificate-authority-data': b64(CA) }), '/kc'), 'KUBECONFIG_INVALID', /both a certificate authority and insecure/)
  await fails(t, () => parseKubeconfig(kubeconfig({ server: 'https://h:1', 'certificate-authority-data': b64('junk') }), '/kc'), 'KUBECONFIG_INVALID', /certificate-authority-data: not base64 of a PEM/)
  await fails(t, () => parseKubeconfig(kubeconfig({ server: 'https://h:1', 'certificate-authority': 'ca.crt' }), '/d/kc', files({})), 'KUBECONFIG_NOT_FOUND', /certificate-authority: cannot read \/d\/ca\.crt/)
  await fails(t, () => parseKubeconfig(kubeconfig({ server: 'https://h:1' }, { 'client-certificate-data': b64(CERT) }), '/kc'), 'KUBECONFIG_INVALID', /needs both the certificate and its key/)
  await fails(t, () => parseKubeconfig(kubeconfig({ server: 'https://h:1' }, { token: 7 }), '/kc'), 'KUBECONFIG_INVALID', /user "u": token: not a string/)
  await fails(t, () => parseKubeconfig(kubeconfig({ server: 'https://h:1' }, { exec: { command: 'aws' } }), '/kc'), 'KUBECONFIG_UNSUPPORTED', /exec credentials are not supported/)
  await fails(t, () => parseKubeconfig(kubeconfig({ server: 'http://h:1' }, { token: 't' }), '/kc'), 'KUBECONFIG_INVALID', /plain http, but the user has credentials/)
  await fails(t, () => loadClusterAccess('/missing', {}, files({})), 'KUBECONFIG_NOT_FOUND', /--kubeconfig: cannot read \/missing/)
})

t.test('in-cluster: the service account token, its CA and the service host/port', async (t) => {
  const sa = files({ '/sa/token': 'jwt\n', '/sa/ca.crt': CA })
  t.same(inClusterAccess({ KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' }, sa, '/sa'),
    { server: 'https://10.96.0.1:443', ca: CA, insecureSkipTLSVerify: false, tokenFile: '/sa/token' })
  t.equal(inClusterAccess({ KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '6443' }, sa, '/sa').server, 'https://[fd00::1]:6443')
  await fails(t, () => inClusterAccess({}, sa, '/sa'), 'IN_CLUSTER_UNAVAILABLE', /KUBERNETES_SERVICE_HOST\/KUBERNETES_SERVICE_PORT are not set/)
  await fails(t, () => inClusterAccess({ KUBERNETES_SERVICE_HOST: 'h', KUBERNETES_SERVICE_PORT: '99999' }, sa, '/sa'), 'IN_CLUSTER_UNAVAILABLE', /"99999" is not a port/)
  await fails(t, () => inClusterAccess({ KUBERNETES_SERVICE_HOST: 'h', KUBERNETES_SERVICE_PORT: '443' }, files({ '/sa/token': 'jwt' }), '/sa'), 'IN_CLUSTER_UNAVAILABLE', /ca\.crt/)
  await fails(t, () => inClusterAccess({ KUBERNETES_SERVICE_HOST: 'h', KUBERNETES_SERVICE_PORT: '443' }, files({ '/sa/token': ' ', '/sa/ca.crt': CA }), '/sa'), 'IN_CLUSTER_UNAVAILABLE', /empty/)
  // Without --kubeconfig the agent falls back to the service account.
  await fails(t, () => loadClusterAccess(undefined, { KUBERNETES_SERVICE_HOST: 'h', KUBERNETES_SERVICE_PORT: '443' }, files({})), 'IN_CLUSTER_UNAVAILABLE', /serviceaccount/)
})

t.test('YAML flow style that starts like JSON is still read as YAML', async (t) => {
  const text = '{current-context: x, contexts: [{name: x, context: {cluster: c}}], clusters: [{name: c, cluster: {server: "https://h:1"}}]}'
  t.same(await parseKubeconfig(text, '/kc'), { server: 'https://h:1', insecureSkipTLSVerify: false })
})
