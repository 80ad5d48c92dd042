import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { findExecutable } from './binary.js';
import { TestkitUnavailableError } from './errors.js';

const run = promisify(execFile);

/** PEM material for a TLS server and a client that trusts it. */
export interface TlsMaterial {
  /** The test CA's certificate: pass it as `ca` to trust the server. */
  ca: string;
  /** Server certificate (SANs: localhost, 127.0.0.1, ::1). */
  cert: string;
  key: string;
  /** A client certificate signed by the same CA, for servers that require client auth. */
  clientCert: string;
  clientKey: string;
  /** Paths of the files above inside the server's dir, for the server config. */
  files: { ca: string; cert: string; key: string };
}

/**
 * Generates a throw-away CA, a server certificate and a client certificate with openssl,
 * valid for two days, P-256 keys (fast to make). Nothing is reused between servers.
 */
export async function generateTlsMaterial(dir: string): Promise<TlsMaterial> {
  const openssl = findExecutable('openssl');
  if (!openssl) {
    throw new TestkitUnavailableError(
      'redis-testkit: TLS servers need the openssl command to generate certificates; install it (Debian/Ubuntu: apt-get install openssl).',
    );
  }
  const p = (name: string): string => join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await run(openssl, ['req', '-x509', ...ec, '-keyout', p('ca.key'), '-out', p('ca.crt'), '-days', '2', '-subj', '/CN=lota-redis-testkit CA']);
  await writeFile(
    p('san.cnf'),
    'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\nextendedKeyUsage=serverAuth,clientAuth\n',
  );
  for (const who of ['server', 'client']) {
    await run(openssl, ['req', ...ec, '-keyout', p(`${who}.key`), '-out', p(`${who}.csr`), '-subj', `/CN=${who === 'server' ? 'localhost' : 'lota-test-client'}`]);
    await run(openssl, [
      'x509', '-req', '-in', p(`${who}.csr`), '-CA', p('ca.crt'), '-CAkey', p('ca.key'),
      '-CAcreateserial', '-out', p(`${who}.crt`), '-days', '2', '-extfile', p('san.cnf'),
    ]);
  }
  const [ca, cert, key, clientCert, clientKey] = await Promise.all(
    ['ca.crt', 'server.crt', 'server.key', 'client.crt', 'client.key'].map((f) => readFile(p(f), 'utf8')),
  );
  return {
    ca: ca!, cert: cert!, key: key!, clientCert: clientCert!, clientKey: clientKey!,
    files: { ca: p('ca.crt'), cert: p('server.crt'), key: p('server.key') },
  };
}
