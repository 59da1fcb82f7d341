// writeAll against a scripted kernel: batches of WRITES_PER_BATCH, one sendmsg
// each, a result per write in order, "nothing to delete" counted as done only
// for deletes, and errors that name the write they belong to.
import t from 'tap'
import { NlSocket, type RawSocket } from '../../src/netlink/socket.ts'
import { writeAll, WRITES_PER_BATCH, type NlWrite } from '../../src/netlink/writes.ts'
import { NLMSG_ERROR } from '../../src/netlink/constants.ts'
import { delNeighWrite, setFdbWrite, setNeighWrite } from '../../src/netlink/neigh.ts'
import { delRouteWrite, replaceRouteWrite } from '../../src/netlink/rtnl.ts'
import { NetlinkError, NetlinkInputError } from '../../src/netlink/errors.ts'

/** Acks every message of a send at once, with the errno the test picks per message. */
class AckingKernel implements RawSocket {
  sends: number[] = []
  private onMessage: (b: Buffer) => void = () => {}
  constructor(private readonly errnoOf: (n: number) => number) {}
  private seen = 0
  send(data: Buffer, _o: { port: number }, cb: (err?: null) => void): void {
    const acks: Buffer[] = []
    let count = 0
    for (let off = 0; off + 16 <= data.length; off += (data.readUInt32LE(off) + 3) & ~3) {
      const ack = Buffer.alloc(36)
      ack.writeUInt32LE(36, 0)
      ack.writeUInt16LE(NLMSG_ERROR, 4)
      ack.writeUInt32LE(data.readUInt32LE(off + 8), 8)
      ack.writeInt32LE(-this.errnoOf(this.seen++), 16)
      acks.push(ack)
      count++
    }
    this.sends.push(count)
    cb(null)
    setImmediate(() => this.onMessage(Buffer.concat(acks)))
  }
  on(event: string, fn: (...a: any[]) => void): this { if (event === 'message') this.onMessage = fn; return this } // eslint-disable-line @typescript-eslint/no-explicit-any
  ref(): this { return this }
  unref(): this { return this }
  close(): void {}
}

const neigh = (i: number): NlWrite => setNeighWrite({ index: 7, ip: `10.0.${i >> 8}.${i & 255}`, mac: '02:00:00:00:00:01' })

t.test('writes go out WRITES_PER_BATCH to a sendmsg, and each gets its result', async (t) => {
  const k = new AckingKernel(() => 0)
  const sock = new NlSocket({ raw: k })
  const n = WRITES_PER_BATCH * 2 + 3
  const out = await writeAll(sock, Array.from({ length: n }, (_, i) => neigh(i)))
  t.same(k.sends, [WRITES_PER_BATCH, WRITES_PER_BATCH, 3])
  t.equal(out.length, n)
  t.ok(out.every((e) => e === undefined))
  t.same(await writeAll(sock, []), [], 'nothing to write sends nothing')
  t.equal(k.sends.length, 3)
})

t.test('one failed write fails alone, named by its op and what it was about', async (t) => {
  const k = new AckingKernel((i) => (i === 1 ? 22 : 0))
  const sock = new NlSocket({ raw: k })
  const out = await writeAll(sock, [neigh(0), setFdbWrite({ index: 7, mac: '02:00:00:00:00:09', dst: '192.0.2.9' }), neigh(2)])
  t.equal(out[0], undefined)
  t.equal(out[2], undefined)
  t.ok(out[1] instanceof NetlinkError)
  t.match(out[1], { op: 'setFdb', code: 'EINVAL', errno: 22 })
  t.match(out[1]!.message, /02:00:00:00:00:09 dst 192\.0\.2\.9 dev 7/)
})

t.test('"nothing there" is done for a delete and an error for a create', async (t) => {
  for (const errno of [2, 3, 19]) { // ENOENT, ESRCH, ENODEV
    const k = new AckingKernel(() => errno)
    const sock = new NlSocket({ raw: k })
    const [del, rdel, set, rset] = await writeAll(sock, [
      delNeighWrite({ index: 7, ip: '10.0.0.1' }),
      delRouteWrite({ dst: '10.1.0.0/24', gw: '10.1.0.0', index: 7 }),
      neigh(1),
      replaceRouteWrite({ dst: '10.1.0.0/24', gw: '10.1.0.0', index: 7 }),
    ])
    t.equal(del, undefined, `errno ${errno}: neighbour delete done`)
    t.equal(rdel, undefined, `errno ${errno}: route delete done`)
    t.ok(set instanceof NetlinkError && set.errno === errno, `errno ${errno}: a set that found nothing failed`)
    t.ok(rset instanceof NetlinkError && rset.op === 'replaceRoute' && /10\.1\.0\.0\/24 via 10\.1\.0\.0 dev 7/.test(rset.message))
  }
  const k = new AckingKernel(() => 1) // EPERM: a real failure, delete or not
  const [del] = await writeAll(new NlSocket({ raw: k }), [delNeighWrite({ index: 7, ip: '10.0.0.1' })])
  t.match(del, { code: 'EPERM', op: 'delNeigh' })
})

t.test('writes are checked when built, before anything is sent', async (t) => {
  t.throws(() => setNeighWrite({ index: 7, ip: '10.0.0.256', mac: '02:00:00:00:00:01' }), NetlinkInputError)
  t.throws(() => setFdbWrite({ index: 0, mac: '02:00:00:00:00:01' }), NetlinkInputError)
  t.throws(() => replaceRouteWrite({ dst: '10.1.0.1/24', index: 7 }), /host bits/)
  const w = delNeighWrite({ index: 7, ip: '10.0.0.1' })
  t.equal(w.absentOk, true)
  t.equal(setNeighWrite({ index: 7, ip: '10.0.0.1', mac: '02:00:00:00:00:01' }).absentOk, false)
})
