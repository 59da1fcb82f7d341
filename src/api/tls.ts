// A self-signed serving certificate for every listener. kubectl (like every
// client-go program) sends a bearer token only over TLS, so a listener that
// requires the token must speak HTTPS. The certificate is made once with
// openssl, kept in the data dir, and remade when the listen addresses change.
// It names 127.0.0.1 and localhost always. The key is readable by its owner only.
import { chmodSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ipFamily } from '../net/address.ts'
import { execa } from 'execa'

export interface ServingCert {
  cert: string
  key: string
}

export class TlsError extends Error {
  readonly code = 'ETLS'
}

export async function loadOrMakeCert(dir: string, hosts: string[]): Promise<ServingCert> {
  const crt = join(dir, 'tls.crt')
  const key = join(dir, 'tls.key')
  const hostsFile = join(dir, 'tls.hosts')
  const want = [...new Set([...hosts, '127.0.0.1', 'localhost'])].sort().join(',')
  if (existsSync(crt) && existsSync(key) && existsSync(hostsFile) && readFileSync(hostsFile, 'utf8').trim() === want) {
    chmodSync(key, 0o600)
    return { cert: readFileSync(crt, 'utf8'), key: readFileSync(key, 'utf8') }
  }
  const san = want.split(',').map((h) => (ipFamily(h) ? `IP:${h}` : `DNS:${h}`)).join(',')
  try {
    await execa('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', `${key}.tmp`, '-out', `${crt}.tmp`, '-days', '3650', '-subj', '/CN=pontoon-api',
      '-addext', `subjectAltName=${san}`,
      '-addext', 'basicConstraints=critical,CA:TRUE',
      '-addext', 'keyUsage=critical,digitalSignature,keyCertSign',
      '-addext', 'extendedKeyUsage=serverAuth',
    ])
  } catch (e) {
    throw new TlsError(`could not make a serving certificate with openssl: ${(e as Error).message}`)
  }
  chmodSync(`${key}.tmp`, 0o600)
  renameSync(`${key}.tmp`, key)
  renameSync(`${crt}.tmp`, crt)
  writeFileSync(hostsFile, want + '\n')
  return { cert: readFileSync(crt, 'utf8'), key: readFileSync(key, 'utf8') }
}
