// What a reflector needs from the API: paged lists and watch streams. The real
// one is http-transport.ts; tests pass fakes.

export interface ListMeta {
  resourceVersion: string
  /** the continue token, or null on the last page */
  continue: string | null
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR'

export interface WatchEvent {
  type: string
  object: unknown
}

export interface WatchHandle {
  stop(): void
}

export type Query = Record<string, string>

export interface Transport {
  /** One list request; items are handed over in batches as they arrive, never all at once. */
  list(path: string, query: Query, onItems: (items: unknown[]) => void): Promise<ListMeta>
  /**
   * Opens a watch; onEvent gets each decoded event; onDone is called once, with
   * null when the server closed the stream, or with the error that ended it.
   */
  watch(path: string, query: Query, onEvent: (ev: WatchEvent) => void, onDone: (err: unknown) => void): Promise<WatchHandle>
}

/**
 * The agent's one write to the API: a JSON merge patch (RFC 7386) of one
 * object, e.g. the overlay's annotations on its own Node.
 */
export interface MergePatcher {
  mergePatch(path: string, patch: Record<string, unknown>): Promise<void>
}

/** A non-2xx answer from the API, with the Status message when there was one. */
export class ApiStatusError extends Error {
  readonly code = 'API_STATUS'
  constructor(readonly status: number, message: string) {
    super(message)
    this.name = 'ApiStatusError'
  }
}

export function isGone(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false
  const e = err as { status?: unknown; statusCode?: unknown; code?: unknown }
  return e.status === 410 || e.statusCode === 410 || e.code === 410
}
