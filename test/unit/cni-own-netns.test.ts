// The plugin's own network namespace is recognised by identity (device and
// inode of the nsfs file), whatever path names it.
import t from 'tap'
import { refuseOwnNetns } from '../../src/cni/own-netns.ts'

t.test('own namespace refused under any of its names; anything else passes through', async (t) => {
  for (const p of ['/proc/self/ns/net', '/proc/thread-self/ns/net', `/proc/${process.pid}/ns/net`]) {
    t.throws(() => refuseOwnNetns(p), { code: 4, message: /^CNI_NETNS: .* is the plugin's own network namespace/ }, p)
  }
  t.doesNotThrow(() => refuseOwnNetns(''), 'no netns (DEL may send none)')
  t.doesNotThrow(() => refuseOwnNetns('/nonexistent/netns'), 'a missing path is left to the open that reports it')
  t.doesNotThrow(() => refuseOwnNetns('/proc/self/ns/mnt'), 'another namespace file is not ours')
})
