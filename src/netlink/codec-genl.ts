// Generic netlink framing (struct genlmsghdr) and the controller's family lookup
// (CTRL_CMD_GETFAMILY), which turns a family name such as "IPVS" into the message type
// the kernel assigned it at module load. Pure.
import { attr, getStr, getU16, getU32, parseAttrs, str, type Attrs } from './attrs.ts'

export const GENL_ID_CTRL = 0x10
export const CTRL_CMD_GETFAMILY = 3
const CTRL_ATTR_FAMILY_ID = 1
const CTRL_ATTR_FAMILY_NAME = 2
const CTRL_ATTR_VERSION = 3
const CTRL_ATTR_MAXATTR = 5
/** genlmsghdr: cmd u8, version u8, reserved u16 */
export const GENL_HDRLEN = 4

export interface GenlFamily { id: number; name: string; version: number; maxAttr: number }

export function genlHeader(cmd: number, version: number): Buffer {
  const b = Buffer.alloc(GENL_HDRLEN)
  b.writeUInt8(cmd, 0)
  b.writeUInt8(version, 1)
  return b
}

export const getFamily = (name: string): Buffer[] => [genlHeader(CTRL_CMD_GETFAMILY, 1), attr(CTRL_ATTR_FAMILY_NAME, str(name))]

/** The command and attributes of a generic netlink message's payload. */
export function genlBody(msg: Buffer): { cmd: number; attrs: Attrs } {
  return { cmd: msg.length >= 1 ? msg.readUInt8(0) : 0, attrs: parseAttrs(msg.subarray(GENL_HDRLEN)) }
}

export function decodeFamily(msg: Buffer): GenlFamily | undefined {
  const { attrs } = genlBody(msg)
  const id = getU16(attrs.get(CTRL_ATTR_FAMILY_ID))
  const name = getStr(attrs.get(CTRL_ATTR_FAMILY_NAME))
  if (id === undefined || name === undefined) return undefined
  return { id, name, version: getU32(attrs.get(CTRL_ATTR_VERSION)) ?? 0, maxAttr: getU32(attrs.get(CTRL_ATTR_MAXATTR)) ?? 0 }
}
