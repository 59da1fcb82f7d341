// The IPAM plugin entry (host-local compatible), for use by other plugins.
import { runPlugin } from '../src/cni/main.ts'
process.exitCode = await runPlugin('ipam')
