// The shapes the CNI spec defines, in their newest (1.1.0) form. Older result
// versions are produced from these by result-version.ts.

export type CniCommand = 'ADD' | 'DEL' | 'CHECK' | 'VERSION' | 'GC' | 'STATUS'

export interface CniInterface {
  name: string
  mac?: string
  mtu?: number
  sandbox?: string
  socketPath?: string
  pciID?: string
}

export interface CniIpConfig {
  /** CIDR form, e.g. 10.244.0.5/24 */
  address: string
  gateway?: string
  /** index into interfaces */
  interface?: number
}

export interface CniRoute {
  dst: string
  gw?: string
  mtu?: number
  advmss?: number
  priority?: number
  table?: number
  scope?: number
}

export interface CniDns {
  nameservers?: string[]
  domain?: string
  search?: string[]
  options?: string[]
}

export interface CniResult {
  cniVersion: string
  interfaces?: CniInterface[]
  ips?: CniIpConfig[]
  routes?: CniRoute[]
  dns?: CniDns
}

/** One attachment named in GC's cni.dev/valid-attachments. */
export interface CniAttachment {
  containerID: string
  ifname: string
}

/** The CNI_* environment, validated (env.ts). */
export interface CniEnv {
  command: CniCommand
  containerId: string
  /** '' when the runtime gave none (DEL may do that) */
  netns: string
  ifName: string
  /** CNI_ARGS parsed as KEY=VAL;KEY=VAL */
  args: Record<string, string>
  /** CNI_PATH split on ':' */
  path: string[]
}

/** Everything a plugin command gets: the validated environment and the raw config. */
export interface CniRequest extends CniEnv {
  /** the network configuration as parsed JSON (already a single plugin's config) */
  config: Record<string, unknown>
  /** the stdin bytes, for delegation to another plugin */
  stdin: Buffer
  /** the process environment, for delegation */
  env: NodeJS.ProcessEnv
}

export interface CniPlugin {
  add(req: CniRequest): Promise<CniResult>
  del(req: CniRequest): Promise<void>
  check(req: CniRequest): Promise<void>
  gc(req: CniRequest): Promise<void>
  status(req: CniRequest): Promise<void>
}
