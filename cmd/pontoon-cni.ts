// The CNI plugin entry: everything is in src/cni; this file only wires the process in.
import { runPlugin } from '../src/cni/main.ts'
process.exitCode = await runPlugin('bridge')
