// NodePort allocation from a port range (default 30000-32767).
export class PortAllocator {
  private readonly used = new Set<number>()
  private cursor: number
  constructor(readonly min = 30000, readonly max = 32767) {
    this.cursor = min
  }

  allocate(port: number): string | undefined {
    if (port < this.min || port > this.max) return `provided port is not in the valid range. The range of valid ports is ${this.min}-${this.max}`
    if (this.used.has(port)) return 'provided port is already allocated'
    this.used.add(port)
    return undefined
  }

  next(): number | undefined {
    const span = this.max - this.min + 1
    for (let i = 0; i < span; i++) {
      const p = this.min + ((this.cursor - this.min + i) % span)
      if (!this.used.has(p)) {
        this.used.add(p)
        this.cursor = p + 1
        return p
      }
    }
    return undefined
  }

  release(port: number): void {
    this.used.delete(port)
  }

  has(port: number): boolean {
    return this.used.has(port)
  }
}
