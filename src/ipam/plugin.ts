// The IPAM commands as functions of a CniRequest. They run on the ADD path of
// every pod, so this file pulls in nothing heavy: the address module (ipaddr.js), node:fs
// and (lazily, on first lock) koffi for flock.
import { validAttachments } from '../cni/attachments.ts'
import { CniError, ErrCode } from '../cni/errors.ts'
import type { CniIpConfig, CniPlugin, CniRequest, CniResult } from '../cni/types.ts'
import { formatIp } from '../net/address.ts'
import { type Allocation, allocate, describeSet, isExhausted } from './allocator.ts'
import { type IpamConfig, parseIpamConfig } from './config.ts'
import { planGc } from './gc.ts'
import { rangeFor } from './range.ts'
import { readResolvConf } from './resolv-conf.ts'
import { type Store, getById, releaseById, withLock } from './store.ts'
import { DiskStore } from './store-disk.ts'

export type OpenStore = (cfg: IpamConfig) => Store

function ipConfig(a: Allocation): CniIpConfig {
  return { address: `${formatIp(a.addr)}/${a.range.subnet.prefix}`, gateway: formatIp(a.range.gateway) }
}

function using<T>(open: OpenStore, cfg: IpamConfig, fn: (s: Store) => T): T {
  const store = open(cfg)
  try {
    return withLock(store, () => fn(store))
  } finally {
    store.close()
  }
}

/** The commands over any store; `ipamPlugin` below uses host-local's disk store. */
export function makeIpamCommands(open: OpenStore) {
  async function add(req: CniRequest): Promise<CniResult> {
    const cfg = parseIpamConfig(req.config, req.args)
    const dns = cfg.resolvConf === undefined ? undefined : readResolvConf(cfg.resolvConf)
    const ips = using(open, cfg, (store) => {
      const done: Allocation[] = []
      try {
        cfg.ranges.forEach((set, i) => {
          const want = cfg.requested.find((r) => r.rangeSet === i)
          done.push(allocate(store, set, i, req.containerId, req.ifName, want?.addr))
        })
      } catch (e) {
        // All or nothing: a failed ADD leaves no reservation behind.
        for (const a of done) store.release(a.addr)
        throw e
      }
      return done.map(ipConfig)
    })
    const result: CniResult = { cniVersion: '1.1.0', ips, routes: cfg.routes.map((r) => ({ ...r })) }
    if (dns) result.dns = dns
    return result
  }

  async function del(req: CniRequest): Promise<void> {
    const cfg = parseIpamConfig(req.config, {}, { requested: false })
    using(open, cfg, (store) => releaseById(store, req.containerId, req.ifName))
  }

  async function check(req: CniRequest): Promise<void> {
    const cfg = parseIpamConfig(req.config, {}, { requested: false })
    const held = using(open, cfg, (store) => getById(store, req.containerId, req.ifName))
    const missing = cfg.ranges.filter((set) => !held.some((a) => rangeFor(set, a)))
    if (missing.length > 0) {
      const have = held.length ? ` (holds ${held.map(formatIp).join(', ')})` : ''
      throw new CniError(ErrCode.Check, `container ${req.containerId} ifname ${req.ifName} has no address reserved in network ${cfg.name} range set ${missing.map(describeSet).join('; ')}${have}`)
    }
  }

  async function gc(req: CniRequest): Promise<void> {
    const cfg = parseIpamConfig(req.config, {}, { requested: false })
    const valid = validAttachments(req.config)
    using(open, cfg, (store) => {
      for (const r of planGc(store.list(), valid)) store.release(r.addr)
    })
  }

  async function status(req: CniRequest): Promise<void> {
    const cfg = parseIpamConfig(req.config, {}, { requested: false })
    let store: Store
    try {
      store = open(cfg)
    } catch (e) {
      throw new CniError(ErrCode.NotAvailable, `ipam data dir ${cfg.dataDir} is not usable: ${(e as Error).message}`, '', { cause: e })
    }
    try {
      try {
        store.probe()
      } catch (e) {
        throw new CniError(ErrCode.NotAvailable, `ipam data dir ${cfg.dataDir} is not usable: ${(e as Error).message}`, '', { cause: e })
      }
      // ADD takes one address from every range set, so one exhausted set is enough to refuse pods.
      const full = withLock(store, () => cfg.ranges.filter((set) => isExhausted(store, set)))
      if (full.length > 0) throw new CniError(ErrCode.NotAvailable, `no IP addresses available in range set ${full.map(describeSet).join('; ')}`)
    } finally {
      store.close()
    }
  }

  return { add, del, check, gc, status } satisfies CniPlugin
}

const onDisk = makeIpamCommands((cfg) => new DiskStore(cfg.dataDir, cfg.name))

export const ipamAdd = onDisk.add
export const ipamDel = onDisk.del
export const ipamCheck = onDisk.check
export const ipamGc = onDisk.gc
export const ipamStatus = onDisk.status
export const ipamPlugin: CniPlugin = onDisk
