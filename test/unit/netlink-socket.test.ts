// The socket's bookkeeping against a scripted kernel: dumps one at a time,
// interrupted dumps run again, deadlines, batches, and attribute lists.
import t from 'tap'
import { NlSocket, type RawSocket, DUMP_ATTEMPTS, MAX_BATCH_BYTES } from '../../src/netlink/socket.ts'
import { NetlinkError, NetlinkTimeoutError } from '../../src/netlink/errors.ts'
import { attr, getU16be, getU32be, getU64be, parseAttrs, u16be, u32, u32be, u64be } from '../../src/netlink/attrs.ts'
import { NLM_F_ACK, NLM_F_DUMP, NLM_F_DUMP_INTR, NLM_F_MULTI, NLM_F_REQUEST, NLMSG_DONE, NLMSG_ERROR } from '../../src/netlink/constants.ts'

/** A kernel stand-in: records what is sent, and replies when the test says so. */
class ScriptedKernel implements RawSocket {
  sent: Buffer[] = []
  private onMessage: (b: Buffer) => void = () => {}
  send(data: Buffer, _o: { port: number }, cb: (err?: null) => void): void { this.sent.push(data); cb(null) }
  on(event: string, fn: (...a: any[]) => void): this { if (event === 'message') this.onMessage = fn; return this }
  ref(): this { return this }
  unref(): this { return this }
  close(): void {}
  /** the requests sent so far, as {type, flags, seq} */
  requests(): Array<{ type: number; flags: number; seq: number }> {
    const out = []
    for (const b of this.sent) for (let off = 0; off + 16 <= b.length; off += (b.readUInt32LE(off) + 3) & ~3) {
      out.push({ type: b.readUInt16LE(off + 4), flags: b.readUInt16LE(off + 6), seq: b.readUInt32LE(off + 8) })
    }
    return out
  }
  reply(...frames: Buffer[]): void { this.onMessage(Buffer.concat(frames)) }
}

function frame(type: number, flags: number, seq: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const b = Buffer.alloc(16 + ((payload.length + 3) & ~3))
  b.writeUInt32LE(16 + payload.length, 0)
  b.writeUInt16LE(type, 4)
  b.writeUInt16LE(flags, 6)
  b.writeUInt32LE(seq, 8)
  payload.copy(b, 16)
  return b
}
const errno = (n: number): Buffer => { const b = Buffer.alloc(20); b.writeInt32LE(-n, 0); return b }
const done = (seq: number, flags = NLM_F_MULTI) => frame(NLMSG_DONE, flags, seq, Buffer.alloc(4))
const part = (seq: number, text: string, flags = NLM_F_MULTI) => frame(16, flags, seq, Buffer.from(text))
const texts = (parts: Buffer[]) => parts.map((p) => p.toString())
const tick = () => new Promise((r) => setImmediate(r))

t.test('dumps on one socket run one at a time, in order', async (t) => {
  const k = new ScriptedKernel()
  const s = new NlSocket({ raw: k })
  const a = s.request('a', 18, NLM_F_DUMP, [Buffer.alloc(16)])
  const b = s.request('b', 22, NLM_F_DUMP, [Buffer.alloc(8)])
  const c = s.request('c', 19, 0, [Buffer.alloc(16)])
  await tick()
  const sent = k.requests()
  t.same(sent.map((r) => r.type).sort(), [18, 19], 'the second dump waits; a plain request does not')
  const dumpA = sent.find((r) => r.type === 18)!, plain = sent.find((r) => r.type === 19)!
  t.equal(dumpA.flags, NLM_F_DUMP | NLM_F_REQUEST | NLM_F_ACK)
  k.reply(frame(NLMSG_ERROR, 0, plain.seq, errno(0)))
  t.same(await c, [])
  k.reply(part(dumpA.seq, 'link1'), part(dumpA.seq, 'link2'), done(dumpA.seq))
  t.same(texts(await a), ['link1', 'link2'])
  await tick()
  const next = k.requests()[2]!
  t.equal(next.type, 22, 'now the second dump goes out')
  k.reply(part(next.seq, 'addr1'), done(next.seq))
  t.same(texts(await b), ['addr1'])
})

t.test('a failed dump does not wedge the queue', async (t) => {
  const k = new ScriptedKernel()
  const s = new NlSocket({ raw: k })
  const a = s.request('a', 18, NLM_F_DUMP, [])
  const b = s.request('b', 18, NLM_F_DUMP, [])
  await tick()
  k.reply(frame(NLMSG_ERROR, 0, k.requests()[0]!.seq, errno(16)))
  await t.rejects(a, { code: 'EBUSY', op: 'a' })
  await tick()
  const r = k.requests()[1]!
  k.reply(done(r.seq))
  t.same(await b, [])
})

t.test('a dump marked NLM_F_DUMP_INTR is run again and only the clean answer is kept', async (t) => {
  const k = new ScriptedKernel()
  const s = new NlSocket({ raw: k })
  const p = s.request('links', 18, NLM_F_DUMP, [Buffer.alloc(16)])
  await tick()
  const first = k.requests()[0]!
  k.reply(part(first.seq, 'a'), part(first.seq, 'b', NLM_F_MULTI | NLM_F_DUMP_INTR), done(first.seq, NLM_F_MULTI | NLM_F_DUMP_INTR))
  await tick()
  const second = k.requests()[1]
  t.ok(second, 'the dump was sent again')
  t.not(second!.seq, first.seq, 'with a new sequence number')
  k.reply(part(second!.seq, 'a'), part(second!.seq, 'c'), done(second!.seq))
  t.same(texts(await p), ['a', 'c'])
})

t.test('a dump interrupted every time fails with EDUMPINTR after a bounded number of tries', async (t) => {
  const k = new ScriptedKernel()
  const s = new NlSocket({ raw: k })
  const p = s.request('links', 18, NLM_F_DUMP, [])
  for (let i = 0; i < DUMP_ATTEMPTS; i++) {
    await tick()
    const r = k.requests()[i]!
    k.reply(done(r.seq, NLM_F_MULTI | NLM_F_DUMP_INTR))
  }
  await t.rejects(p, { name: 'NetlinkError', code: 'EDUMPINTR', op: 'links' })
  t.equal(k.requests().length, DUMP_ATTEMPTS)
})

t.test('a request nobody answers fails with a typed timeout, and a late answer is ignored', async (t) => {
  const k = new ScriptedKernel()
  const s = new NlSocket({ raw: k, timeoutMs: 20 })
  const p = s.request('setUp', 16, 0, [])
  const err = await p.catch((e) => e)
  t.ok(err instanceof NetlinkTimeoutError)
  t.ok(err instanceof NetlinkError, 'callers that catch NetlinkError see it too')
  t.match(err, { code: 'ETIMEDOUT', op: 'setUp', timeoutMs: 20 })
  k.reply(frame(NLMSG_ERROR, 0, k.requests()[0]!.seq, errno(0)))
  const q = s.request('again', 16, 0, [], { timeoutMs: 1000 })
  await tick()
  k.reply(frame(NLMSG_ERROR, 0, k.requests()[1]!.seq, errno(0)))
  t.same(await q, [], 'the socket keeps working')
})

t.test("a dump's deadline counts from its last part: a long dump that keeps arriving completes, a stalled one fails", async (t) => {
  const k = new ScriptedKernel()
  const s = new NlSocket({ raw: k, timeoutMs: 60 })
  const p = s.request('long', 18, NLM_F_DUMP, [])
  await tick()
  const seq = k.requests()[0]!.seq
  for (let i = 0; i < 4; i++) {
    await new Promise((r) => setTimeout(r, 40))
    k.reply(part(seq, `p${i}`))
  }
  k.reply(done(seq))
  t.same(texts(await p), ['p0', 'p1', 'p2', 'p3'], '160 ms in all, never 60 ms of silence')
  const q = s.request('stalled', 18, NLM_F_DUMP, [])
  await tick()
  k.reply(part(k.requests()[1]!.seq, 'only'))
  t.match(await q.catch((e) => e), { code: 'ETIMEDOUT', op: 'stalled' }, 'a part, then silence: the deadline')
  const r = s.request('plain', 16, 0, [])
  await new Promise((res) => setTimeout(res, 30))
  t.match(await r.catch((e) => e), { code: 'ETIMEDOUT' }, 'a plain request keeps its whole-request deadline')
})

t.test('a request without an ack settles on its single reply', async (t) => {
  const k = new ScriptedKernel()
  const s = new NlSocket({ raw: k })
  const p = s.request('get', 18, 0, [], { ack: false })
  await tick()
  const r = k.requests()[0]!
  t.equal(r.flags & NLM_F_ACK, 0)
  k.reply(part(r.seq, 'one', 0))
  t.same(texts(await p), ['one'])
})

t.test('a batch goes out in one send and each message gets its own result', async (t) => {
  const k = new ScriptedKernel()
  const s = new NlSocket({ raw: k })
  const p = s.batch('b', [{ type: 16, flags: 0, payload: [u32(1)] }, { type: 16, flags: 0, payload: [u32(2)] }, { type: 17, flags: 0, payload: [] }])
  await tick()
  t.equal(k.sent.length, 1, 'one sendmsg')
  const rs = k.requests()
  t.same(rs.map((r) => r.type), [16, 16, 17])
  t.equal(new Set(rs.map((r) => r.seq)).size, 3)
  k.reply(frame(NLMSG_ERROR, 0, rs[0]!.seq, errno(0)), frame(NLMSG_ERROR, 0, rs[1]!.seq, errno(17)), frame(NLMSG_ERROR, 0, rs[2]!.seq, errno(0)))
  const out = await p
  t.same(out[0], [])
  t.match(out[1], { name: 'NetlinkError', code: 'EEXIST', op: 'b' })
  t.same(out[2], [])
  await t.rejects(s.batch('b', [{ type: 18, flags: NLM_F_DUMP, payload: [] }]), { code: 'EINVAL_BATCH' }, 'dumps are not batched')
  await t.rejects(s.batch('b', [{ type: 16, flags: 0, payload: [Buffer.alloc(MAX_BATCH_BYTES)] }]), { code: 'EINVAL_BATCH' }, 'a batch has a size bound')
  t.equal(k.sent.length, 1, 'refused batches send nothing')
})

t.test('the protocol is a parameter', async (t) => {
  t.equal(new NlSocket({ raw: new ScriptedKernel() }).protocol, 0, 'NETLINK_ROUTE by default')
  t.equal(new NlSocket({ raw: new ScriptedKernel(), protocol: 16 }).protocol, 16)
})

t.test('repeated attributes are kept as a list; get gives the last', async (t) => {
  const a = parseAttrs(Buffer.concat([attr(9, u32(1)), attr(3, u32(7)), attr(9, u32(2)), attr(9, u32(3))]))
  t.same(a.all(9).map((b) => b.readUInt32LE(0)), [1, 2, 3])
  t.equal(a.get(9)?.readUInt32LE(0), 3)
  t.same(a.all(3).length, 1)
  t.same(a.all(4), [])
})

t.test('big-endian helpers', async (t) => {
  t.same([...u16be(0x1f90)], [0x1f, 0x90])
  t.same([...u32be(0x0a000001)], [10, 0, 0, 1])
  t.same([...u32be(0xffffffff)], [255, 255, 255, 255])
  t.same([...u64be(0x0102030405060708n)], [1, 2, 3, 4, 5, 6, 7, 8])
  t.equal(getU16be(Buffer.from([0x21, 0x18])), 8472)
  t.equal(getU32be(Buffer.from([0, 0, 0x21, 0x18])), 8472)
  t.equal(getU64be(Buffer.from([0, 0, 0, 0, 0, 0, 1, 0])), 256n)
  t.equal(getU32be(Buffer.from([1, 2, 3])), undefined, 'short input is undefined, not a read past the end')
  t.equal(getU64be(undefined), undefined)
})

t.test('a quiet batch: one sendmsg, only the last message acked, unasked errors mapped to their messages', async (t) => {
  const k = new ScriptedKernel()
  const s = new NlSocket({ raw: k })
  const p = s.quietBatch('many', [{ type: 30, flags: 0, payload: [Buffer.alloc(8)] }, { type: 30, flags: 0, payload: [Buffer.alloc(8)] }, { type: 30, flags: 0, payload: [Buffer.alloc(8)] }])
  await tick()
  t.equal(k.sent.length, 1, 'one sendmsg')
  const r = k.requests()
  t.same(r.map((x) => x.flags & NLM_F_ACK), [0, 0, NLM_F_ACK], 'only the last asks for an ack')
  // the kernel answers a failed message even unasked, before the last one's ack
  k.reply(frame(NLMSG_ERROR, 0, r[1]!.seq, errno(17)), frame(NLMSG_ERROR, 0, r[2]!.seq, errno(0)))
  const out = await p
  t.same(out.map((e) => e?.code), [undefined, 'EEXIST', undefined])
  t.equal(out[1]!.op, 'many')
  const q = s.quietBatch('last', [{ type: 30, flags: 0, payload: [] }, { type: 30, flags: 0, payload: [] }])
  await tick()
  k.reply(frame(NLMSG_ERROR, 0, k.requests()[4]!.seq, errno(2)))
  t.same((await q).map((e) => e?.code), [undefined, 'ENOENT'], "the last message's own error")
  t.same(await s.quietBatch('none', []), [])
  await t.rejects(s.quietBatch('big', [{ type: 30, flags: 0, payload: [Buffer.alloc(MAX_BATCH_BYTES)] }]), { code: 'EINVAL_BATCH' })
})
