// The plugin proper, as its own bundle: loaded by pontoon-cni when no resident server takes the call.
export { runLocal } from '../src/cni/main.ts'
