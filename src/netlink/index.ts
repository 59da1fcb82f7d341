// The netlink layer's public face. Callers import from here only.
export { Rtnl } from './rtnl.ts'
export { NetlinkError, NetlinkInputError, NetlinkTimeoutError } from './errors.ts'
export { NlSocket, type NlMessage, type NlSocketOptions, type RequestOptions } from './socket.ts'
export type { Addr, FdbEntry, Link, Neigh, Route, VxlanInfo, VxlanOptions } from './types.ts'
export type { FdbSpec } from './neigh.ts'
export { Ipvs, IpvsUnavailableError, type ServiceInput, type ServiceRef, type DestInput, type DestRef, type IpvsBatchOp } from './ipvs.ts'
export type { IpvsDest, IpvsForward, IpvsProtocol, IpvsService, IpvsTimeouts } from './codec-ipvs.ts'
