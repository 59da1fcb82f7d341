// One long-lived libnftables context, through koffi: the proxy's kernel
// connection for nftables. The context opens its netlink socket when it is
// made, so making it inside a namespace (inNetns) binds it to that namespace for
// its whole life (research/nft-layout.md, addendum). Output and errors are
// buffered, never printed; a refused command throws with the kernel's message.
import { createRequire } from 'node:module'
import { inNetns } from '../../netns/index.ts'
import { releaseFreedMemory } from '../../sys/libc.ts'

/** NFT_CTX_OUTPUT_JSON from libnftables.h */
const OUTPUT_JSON = 1 << 4
/** a kernel message is short; a huge script can echo a long line back: keep the error bounded */
const MAX_ERROR = 8192

export class NftError extends Error {
  readonly code: string
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'NftError'
    this.code = code
  }
}

interface Lib {
  ctxNew(flags: number): unknown
  ctxFree(ctx: unknown): void
  bufferOutput(ctx: unknown): number
  bufferError(ctx: unknown): number
  outputBuffer(ctx: unknown): string | null
  errorBuffer(ctx: unknown): string | null
  run(ctx: unknown, text: string): number
  getFlags(ctx: unknown): number
  setFlags(ctx: unknown, flags: number): void
}

let lib: Lib | undefined

function load(): Lib {
  if (lib) return lib
  const require = createRequire(import.meta.url)
  const koffi = require('koffi') as typeof import('koffi')
  let so: ReturnType<typeof koffi.load>
  try {
    so = koffi.load('libnftables.so.1')
  } catch (e) {
    throw new NftError('NFT_NOLIB', `cannot load libnftables.so.1 (Debian: apt install libnftables1): ${(e as Error).message}`, { cause: e })
  }
  koffi.opaque('nft_ctx')
  lib = {
    ctxNew: so.func('nft_ctx *nft_ctx_new(uint32_t flags)'),
    ctxFree: so.func('void nft_ctx_free(nft_ctx *ctx)'),
    bufferOutput: so.func('int nft_ctx_buffer_output(nft_ctx *ctx)'),
    bufferError: so.func('int nft_ctx_buffer_error(nft_ctx *ctx)'),
    outputBuffer: so.func('const char *nft_ctx_get_output_buffer(nft_ctx *ctx)'),
    errorBuffer: so.func('const char *nft_ctx_get_error_buffer(nft_ctx *ctx)'),
    run: so.func('int nft_run_cmd_from_buffer(nft_ctx *ctx, const char *buf)'),
    getFlags: so.func('unsigned int nft_ctx_output_get_flags(nft_ctx *ctx)'),
    setFlags: so.func('void nft_ctx_output_set_flags(nft_ctx *ctx, unsigned int flags)'),
  } as Lib
  return lib
}

function newContext(l: Lib, netnsPath: string | undefined): unknown {
  const ctx = inNetns(netnsPath, () => l.ctxNew(0))
  if (!ctx) throw new NftError('NFT_CTX', `nft_ctx_new failed${netnsPath ? ` in ${netnsPath}` : ''}`)
  if (l.bufferOutput(ctx) !== 0 || l.bufferError(ctx) !== 0) {
    l.ctxFree(ctx)
    throw new NftError('NFT_CTX', 'cannot buffer libnftables output')
  }
  return ctx
}

function bounded(text: string): string {
  const t = text.trim()
  return t.length > MAX_ERROR ? `${t.slice(0, MAX_ERROR)}... (${t.length - MAX_ERROR} more characters)` : t
}

export class Nft {
  #ctx: unknown
  readonly #lib: Lib

  readonly #netnsPath: string | undefined

  private constructor(l: Lib, ctx: unknown, netnsPath: string | undefined) {
    this.#lib = l
    this.#ctx = ctx
    this.#netnsPath = netnsPath
  }

  /** A context bound to the namespace at `netnsPath` (the current one when undefined). */
  static open(netnsPath?: string): Nft {
    const l = load()
    return new Nft(l, newContext(l, netnsPath), netnsPath)
  }

  /**
   * Swap the context for a fresh one in the same namespace. libnftables keeps
   * the cache it built for the last command (after a full sync, every element of
   * the table: hundreds of MB at 10,000 Services) until the context is freed.
   */
  renew(): void {
    if (this.#ctx === undefined) throw new NftError('NFT_CLOSED', 'the nftables context is closed')
    const fresh = newContext(this.#lib, this.#netnsPath)
    this.#lib.ctxFree(this.#ctx)
    this.#ctx = fresh
    releaseFreedMemory()
  }

  /** Run an nft script as one transaction; returns its output, or throws NftError with the kernel's message. */
  run(text: string): string {
    if (this.#ctx === undefined) throw new NftError('NFT_CLOSED', 'the nftables context is closed')
    const rc = this.#lib.run(this.#ctx, text)
    const out = this.#lib.outputBuffer(this.#ctx) ?? ''
    if (rc !== 0) {
      const err = this.#lib.errorBuffer(this.#ctx) ?? ''
      throw new NftError('NFT_REFUSED', bounded(err) || `nft refused the command (rc ${rc})`)
    }
    return out
  }

  /** Run a listing with JSON output (`nft -j`) and parse it. */
  json(text: string): unknown {
    if (this.#ctx === undefined) throw new NftError('NFT_CLOSED', 'the nftables context is closed')
    const flags = this.#lib.getFlags(this.#ctx)
    this.#lib.setFlags(this.#ctx, flags | OUTPUT_JSON)
    try {
      const out = this.run(text)
      return out.trim() === '' ? {} : JSON.parse(out)
    } finally {
      this.#lib.setFlags(this.#ctx, flags)
    }
  }

  close(): void {
    if (this.#ctx === undefined) return
    this.#lib.ctxFree(this.#ctx)
    this.#ctx = undefined
  }
}
