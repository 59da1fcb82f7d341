// Encoded answers kept per query, in front of respond(). An in-zone answer is a
// pure function of the query's bytes after its 2-byte ID, the transport (TCP has
// no size limit to cut to; UDP's comes from the bytes' own OPT record) and the
// snapshot, so a hit is a copy with the asker's ID written in: no decode, lookup
// or encode. The snapshot is compared by identity (a new snapshot object for
// every watch change): on a new one the whole cache is dropped, so no answer is
// ever served across snapshots. The caller stores only in-zone replies; forwarded
// answers (the upstream's TTLs and state) and drops never come here.
//
// Bounded by entries and by bytes (keys and replies); when either is full the
// oldest stored entry goes first (insertion order, FIFO: a hit costs no
// reordering, and in a cluster zone every name is as likely as the next).
import type { Transport } from './respond.ts'

export interface CachedAnswer<M> {
  /** the reply as first encoded (with that query's ID): never handed out, only copied */
  readonly bytes: Buffer
  /** what the caller wants back with a hit (its metric labels) */
  readonly meta: M
}

export interface AnswerCacheLimits {
  maxEntries: number
  /** key bytes plus reply bytes over all entries */
  maxBytes: number
  /** a query longer than this is not stored: real queries are far smaller, and a big one would push out many */
  maxQueryBytes: number
}

export const DEFAULT_ANSWER_CACHE_LIMITS: AnswerCacheLimits = { maxEntries: 50_000, maxBytes: 16 * 1024 * 1024, maxQueryBytes: 512 }

export class AnswerCache<M> {
  private readonly entries = new Map<string, CachedAnswer<M>>()
  private bytesHeld = 0
  private snapshot: object | undefined

  constructor(private readonly limits: AnswerCacheLimits = DEFAULT_ANSWER_CACHE_LIMITS) {}

  get size(): number {
    return this.entries.size
  }

  get bytes(): number {
    return this.bytesHeld
  }

  /** The answer to this query under this snapshot, a fresh buffer carrying the query's ID; undefined on a miss. */
  get(query: Buffer, transport: Transport, snapshot: object): { bytes: Buffer; meta: M } | undefined {
    // (a message too short to carry an ID is never stored, so it misses like any other)
    this.follow(snapshot)
    const hit = this.entries.get(keyOf(query, transport))
    if (!hit) return undefined
    // a copy: the stored bytes stay as they are while this one is in flight
    const out = Buffer.allocUnsafe(hit.bytes.length)
    hit.bytes.copy(out)
    out[0] = query[0]!
    out[1] = query[1]!
    return { bytes: out, meta: hit.meta }
  }

  /** Keep the reply respond() gave this query under this snapshot. The reply buffer must not change afterwards. */
  set(query: Buffer, transport: Transport, snapshot: object, reply: Buffer, meta: M): void {
    if (query.length < 12 || query.length > this.limits.maxQueryBytes || reply.length < 12) return
    this.follow(snapshot)
    const key = keyOf(query, transport)
    const cost = key.length + reply.length
    if (cost > this.limits.maxBytes || this.limits.maxEntries < 1) return
    const old = this.entries.get(key)
    if (old) {
      this.entries.delete(key)
      this.bytesHeld -= key.length + old.bytes.length
    }
    while (this.entries.size >= this.limits.maxEntries || this.bytesHeld + cost > this.limits.maxBytes) {
      const oldest = this.entries.entries().next().value!
      this.entries.delete(oldest[0])
      this.bytesHeld -= oldest[0].length + oldest[1].bytes.length
    }
    this.entries.set(key, { bytes: reply, meta })
    this.bytesHeld += cost
  }

  private follow(snapshot: object): void {
    if (snapshot === this.snapshot) return
    this.entries.clear()
    this.bytesHeld = 0
    this.snapshot = snapshot
  }
}

/** One char for the transport, then the query after its ID, a byte a char (latin1 maps 0-255 one to one). */
function keyOf(query: Buffer, transport: Transport): string {
  return (transport === 'udp' ? 'u' : 't') + query.toString('latin1', 2)
}
