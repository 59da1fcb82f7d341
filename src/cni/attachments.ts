// GC's `cni.dev/valid-attachments`, read once for the bridge and its IPAM alike.
// A GC without the list is refused: releasing everything is never what a runtime means.
import * as z from 'zod/mini'
import { CniError, ErrCode } from './errors.ts'
import { fieldPath } from '../schema/issue.ts'
import type { CniAttachment } from './types.ts'

export const VALID_ATTACHMENTS = 'cni.dev/valid-attachments'
const Attachments = z.array(z.object({ containerID: z.string(), ifname: z.string() }))

export function validAttachments(config: Record<string, unknown>): CniAttachment[] {
  const raw = config[VALID_ATTACHMENTS]
  if (raw === undefined) throw new CniError(ErrCode.InvalidConfig, `${VALID_ATTACHMENTS}: required for GC`)
  const parsed = Attachments.safeParse(raw)
  if (!parsed.success) {
    throw new CniError(ErrCode.InvalidConfig, `${fieldPath(VALID_ATTACHMENTS, parsed.error.issues[0]!.path)}: expected an array of {containerID: string, ifname: string}`)
  }
  return parsed.data
}
