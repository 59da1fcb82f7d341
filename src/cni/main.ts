export async function runPlugin(kind: 'bridge' | 'ipam'): Promise<number> {
  process.stderr.write(`${kind}: not built yet\n`)
  return 1
}
