// Fault injection for crash-consistency tests: when PONTOON_FAILPOINT names a
// step, the plugin kills itself with SIGKILL right there, as an OOM kill or a
// node reboot would. Costs one env lookup per step when unset.
export const ADD_STEPS = ['ipam', 'veth', 'pod', 'gateway', 'masq', 'result'] as const
export type AddStep = (typeof ADD_STEPS)[number]

export function failpoint(step: AddStep): void {
  if (process.env.PONTOON_FAILPOINT === step) process.kill(process.pid, 'SIGKILL')
}
