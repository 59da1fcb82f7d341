// The bridge plugin's commands, for the skel dispatcher.
import type { CniPlugin } from '../types.ts'
import { cmdAdd } from './add.ts'
import { cmdCheck } from './check.ts'
import { cmdDel } from './del.ts'
import { cmdGc } from './gc.ts'
import { parseBridgeConfig } from './config.ts'
import { ipamExec } from './ipam.ts'

export const bridgePlugin: CniPlugin = {
  add: cmdAdd,
  del: cmdDel,
  check: cmdCheck,
  gc: cmdGc,
  // Ready when our IPAM can hand out an address; a delegated IPAM answers for itself.
  async status(req) {
    const conf = parseBridgeConfig(req.config)
    await ipamExec(conf.ipamType, 'STATUS', req)
  },
}
