// The service proxy end to end in nftables mode: real TCP and UDP through every kind
// of frontend, in the lab's namespaces, with `pontoon agent --proxy-mode nftables`.
// The scenarios are shared with the other mode (test/lib/proxy-scenarios.ts).
import t from 'tap'
import { proxyScenarios } from '../lib/proxy-scenarios.ts'

await proxyScenarios(t, 'nftables')
