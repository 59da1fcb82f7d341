// The three resources the agent follows, and where the API serves them.
import type { ResourceName } from './model.ts'
import { SERVICE_PROXY_NAME_LABEL } from './normalize-service.ts'

export interface ResourceInfo {
  path: string
  /** kube-proxy asks the server not to send Services another proxy owns */
  labelSelector?: string
}

export const RESOURCES: Record<ResourceName, ResourceInfo> = {
  services: { path: '/api/v1/services', labelSelector: `!${SERVICE_PROXY_NAME_LABEL}` },
  endpointslices: { path: '/apis/discovery.k8s.io/v1/endpointslices', labelSelector: `!${SERVICE_PROXY_NAME_LABEL}` },
  nodes: { path: '/api/v1/nodes' },
}

export const RESOURCE_NAMES: readonly ResourceName[] = ['services', 'endpointslices', 'nodes']
