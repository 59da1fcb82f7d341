// IPAM for the bridge: pontoon's own (in-process, no exec) or any other type
// delegated through CNI_PATH.
import { delegate } from '../delegate.ts'
import type { CniCommand, CniRequest, CniResult } from '../types.ts'

export const BUILTIN_IPAM = 'pontoon-ipam'

async function builtin() {
  return import('../../ipam/plugin.ts')
}

export async function ipamExec(type: string, command: Exclude<CniCommand, 'VERSION'>, req: CniRequest): Promise<CniResult | undefined> {
  if (type !== BUILTIN_IPAM) return delegate(type, command, req)
  const m = await builtin()
  switch (command) {
    case 'ADD': return m.ipamAdd(req)
    case 'DEL': await m.ipamDel(req); return undefined
    case 'CHECK': await m.ipamCheck(req); return undefined
    case 'GC': await m.ipamGc(req); return undefined
    case 'STATUS': await m.ipamStatus(req); return undefined
  }
}
