// Splits a streamed Kubernetes List answer into its items, so a list of 10,000
// EndpointSlices is never held as one string or one parsed tree: each item is
// parsed, normalised and dropped while it is still young garbage. The other
// top-level fields (metadata with resourceVersion and continue) are kept.
export class ListSplitter {
  private buf = ''
  private pos = 0
  private depth = 0
  private inString = false
  private escape = false
  /** at depth 1: reading a key (true) or a value (false) */
  private keyPos = true
  private keyStart = -1
  private key = ''
  private valueStart = -1
  private itemStart = -1
  private inItems = false
  private closed = false
  readonly top: Record<string, unknown> = {}

  constructor(private readonly onItem: (text: string) => void) {}

  push(chunk: string): void {
    this.buf += chunk
    const b = this.buf
    // The next backslash and quote at or after i: -2 not looked for yet, -1 none in this buffer.
    let esc = -2
    let quote = -2
    for (let i = this.pos; i < b.length; i++) {
      if (this.inString) {
        // Most of a list's text is inside strings: jump to the next quote or
        // backslash (indexOf) instead of looking at every character.
        if (this.escape) {
          this.escape = false
          continue
        }
        if (esc === -2 || (esc >= 0 && esc < i)) esc = b.indexOf('\\', i)
        if (quote === -2 || (quote >= 0 && quote < i)) quote = b.indexOf('"', i)
        const q = quote
        if (esc >= 0 && (q < 0 || esc < q)) {
          this.escape = true
          i = esc
          continue
        }
        if (q < 0) break
        i = q
        this.inString = false
        if (this.depth === 1 && this.keyPos && this.keyStart >= 0) {
          this.key = b.slice(this.keyStart + 1, i)
          this.keyStart = -1
        }
        continue
      }
      const c = b.charCodeAt(i)
      if (c === 34) {
        this.inString = true
        if (this.depth === 1 && this.keyPos) this.keyStart = i
        else if (this.depth === 1 && this.valueStart < 0 && !this.inItems) this.valueStart = i
        continue
      }
      if (c === 32 || c === 10 || c === 13 || c === 9) continue
      if (this.depth === 1) {
        if (c === 58 /* : */) {
          this.keyPos = false
          continue
        }
        if (c === 44 /* , */ || c === 125 /* } */) {
          this.endTopValue(b, i)
          this.keyPos = true
          if (c === 125) {
            this.depth--
            this.closed = true
          }
          continue
        }
        if (!this.keyPos && this.valueStart < 0 && !this.inItems) {
          if (c === 91 /* [ */ && this.key === 'items') {
            this.inItems = true
            this.depth++
            continue
          }
          this.valueStart = i
        }
      }
      if (c === 123 /* { */ || c === 91 /* [ */) {
        if (this.depth === 2 && this.inItems) this.itemStart = i
        this.depth++
      } else if (c === 125 || c === 93 /* ] */) {
        this.depth--
        if (this.depth === 2 && this.inItems && this.itemStart >= 0) {
          this.onItem(b.slice(this.itemStart, i + 1))
          this.itemStart = -1
        } else if (this.depth === 1 && this.inItems) {
          this.inItems = false
          this.key = ''
        }
      }
    }
    // Keep only the text a capture still needs.
    const keep = Math.min(...[this.itemStart, this.valueStart, this.keyStart].filter((x) => x >= 0), b.length)
    this.buf = b.slice(keep)
    this.pos = this.buf.length
    if (this.itemStart >= 0) this.itemStart -= keep
    if (this.valueStart >= 0) this.valueStart -= keep
    if (this.keyStart >= 0) this.keyStart -= keep
  }

  /** characters held for an item or value still being read (callers bound it) */
  get buffered(): number {
    return this.buf.length
  }

  /** true once the top-level object has closed */
  get complete(): boolean {
    return this.closed
  }

  private endTopValue(b: string, end: number): void {
    if (this.valueStart >= 0 && this.key) {
      this.top[this.key] = JSON.parse(b.slice(this.valueStart, end))
    }
    this.valueStart = -1
    this.key = ''
  }
}
