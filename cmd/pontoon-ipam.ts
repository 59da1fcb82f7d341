// The IPAM plugin entry (host-local compatible), for use by other plugins.
import { readStdin } from '../src/cni/resident/fast-path.ts'
import { runLocal } from '../src/cni/main.ts'
process.exitCode = await runLocal('ipam', readStdin())
