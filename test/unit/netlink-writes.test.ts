// writeAll against a scripted kernel: batches of WRITES_PER_BATCH, one sendmsg
// each, a result per write in order, "nothing to delete" counted as done only
// for deletes, and errors that name the write they belong to.
import t from 'tap'
import { NlSocket, type RawSocket } from '../../src/netlink/socket.ts'
import { writeAll, WRITES_PER_BATCH, type NlWrite } from '../../src/netlink/writes.ts'
import { NLMSG_ERROR } from '../../src/netlink/constants.ts'
import { delNeighWrite, setFdbWrite, setNeighWrite } from '../../src/netlink/neigh.ts'
import { addAddrWrite, delAddrWrite, delRouteWrite, replaceRouteWrite } from '../../src/netlink/rtnl.ts'
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

t.test('address writes: an add that finds the address, and a delete that finds none, are done', async (t) => {
  const k = new AckingKernel((i) => [17, 99, 17, 99, 0][i]!) // EEXIST, EADDRNOTAVAIL, EEXIST, EADDRNOTAVAIL, ok
  const out = await writeAll(new NlSocket({ raw: k }), [
    addAddrWrite(7, '10.96.0.1/32'),
    delAddrWrite(7, '10.96.0.2/32'),
    delAddrWrite(7, '10.96.0.3/32'), // EEXIST is no "done" for a delete
    addAddrWrite(7, 'fd00::1/128', { noDad: true }), // nor EADDRNOTAVAIL for an add
    addAddrWrite(7, '10.96.0.4/32'),
  ])
  t.equal(out[0], undefined, 'add: EEXIST is done')
  t.equal(out[1], undefined, 'delete: EADDRNOTAVAIL is done')
  t.match(out[2], { code: 'EEXIST', op: 'delAddr' })
  t.match(out[2]!.message, /10\.96\.0\.3\/32 dev 7/)
  t.match(out[3], { code: 'EADDRNOTAVAIL', op: 'addAddr' })
  t.equal(out[4], undefined)
  t.same(k.sends, [5], 'one sendmsg')
  for (const errno of [2, 19]) { // a delete of an address whose link is gone is done; an add there is not
    const [d, a] = await writeAll(new NlSocket({ raw: new AckingKernel(() => errno) }), [delAddrWrite(7, '10.96.0.1/32'), addAddrWrite(7, '10.96.0.1/32')])
    t.equal(d, undefined, `delete, errno ${errno}`)
    t.ok(a instanceof NetlinkError && a.errno === errno, `add, errno ${errno}`)
  }
})

t.test('address writes are checked when built', async (t) => {
  t.throws(() => addAddrWrite(0, '10.96.0.1/32'), NetlinkInputError)
  t.throws(() => addAddrWrite(7, '10.96.0.256/32'), NetlinkInputError)
  t.throws(() => delAddrWrite(-1, '10.96.0.1/32'), NetlinkInputError)
  t.throws(() => delAddrWrite(7, 'nope'), NetlinkInputError)
  const a = addAddrWrite(7, '10.96.0.1/32')
  t.match(a, { op: 'addAddr', absentOk: false, msg: { type: 20, flags: 0x400 | 0x200 } }) // RTM_NEWADDR, CREATE|EXCL
  t.match(delAddrWrite(7, '10.96.0.1/32'), { op: 'delAddr', absentOk: true, msg: { type: 21, flags: 0 } })
  t.notSame(addAddrWrite(7, 'fd00::1/128', { noDad: true }).msg.payload, addAddrWrite(7, 'fd00::1/128').msg.payload, 'noDad reaches the message')
})
