// Pure: the objects `lab up` deploys for its demo. An echo pod pinned to each
// node behind one NodePort Service (which has its ClusterIP too), a pod of two
// containers whose relay reaches the echo container over localhost, and a
// client pod the matrix probes from. The client is created after the Service,
// so it is given the Service's environment variables, as kubelet does.
import type { Obj } from './api-client.ts'

export const ECHO_PORT = 8080
export const RELAY_PORT = 9090
export const SERVICE_NAME = 'echo'
export const SERVICE_PORT = 80
export const CLIENT_POD = 'client'
export const DUO_POD = 'duo'
export const echoPodName = (node: string) => `echo-${node}`

const echoContainer = (name: string) => ({
  name,
  image: 'pontoon/echo',
  command: ['pontoon', 'echo', '--port', String(ECHO_PORT)],
  ports: [{ containerPort: ECHO_PORT, protocol: 'TCP' }],
  readinessProbe: { tcpSocket: { port: ECHO_PORT }, periodSeconds: 1 },
})

const pod = (name: string, node: string, labels: Record<string, string>, containers: Obj[]): Obj => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'default', labels },
  spec: { nodeName: node, terminationGracePeriodSeconds: 2, containers },
})

export function echoPod(node: string): Obj {
  return pod(echoPodName(node), node, { app: 'echo' }, [echoContainer('echo')])
}

export function duoPod(node: string): Obj {
  return pod(DUO_POD, node, { app: 'duo' }, [
    echoContainer('echo'),
    {
      name: 'relay',
      image: 'pontoon/relay',
      // the second container reaches the first over the pod's own loopback
      command: ['socat', `TCP-LISTEN:${RELAY_PORT},fork,reuseaddr`, `TCP:127.0.0.1:${ECHO_PORT}`],
      ports: [{ containerPort: RELAY_PORT, protocol: 'TCP' }],
      readinessProbe: { tcpSocket: { port: RELAY_PORT }, periodSeconds: 1 },
    },
  ])
}

export function clientPod(node: string): Obj {
  return pod(CLIENT_POD, node, { app: 'client' }, [{ name: 'client', image: 'pontoon/client', command: ['sleep', 'infinity'] }])
}

export function echoService(): Obj {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: SERVICE_NAME, namespace: 'default' },
    spec: { type: 'NodePort', selector: { app: 'echo' }, ports: [{ name: 'tcp', port: SERVICE_PORT, targetPort: ECHO_PORT, protocol: 'TCP' }] },
  }
}
