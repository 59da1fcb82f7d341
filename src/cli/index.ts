import type { CommandModule } from 'yargs'
import { demoCommand } from './demo.ts'
import { apiCommand } from './api.ts'
import { agentCommand } from './agent.ts'
import { cniServerCommand } from './cni-server.ts'
import { cleanupCommand } from './cleanup.ts'
import { traceCommand } from './trace.ts'
import { labCommand } from './lab.ts'
import { echoCommand } from './echo.ts'
import { kubeletCommand } from './kubelet.ts'
import { vmCommand } from './vm.ts'
import { installCommand, uninstallCommand } from './install.ts'
import { dnsCommand } from './dns.ts'

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const commands: CommandModule<any, any>[] = [demoCommand, apiCommand, agentCommand, cniServerCommand, cleanupCommand, traceCommand, echoCommand, kubeletCommand, labCommand, vmCommand, installCommand, uninstallCommand, dnsCommand]
