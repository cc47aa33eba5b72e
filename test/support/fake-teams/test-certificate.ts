// A self-signed certificate for 127.0.0.1/localhost, made with openssl at test time, so https
// fakes (the Bot Framework token service) can be trusted by a server started with
// NODE_EXTRA_CA_CERTS=<certPath> (Node reads that variable only at process start).
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TestCertificate {
  certPath: string;
  cert: string;
  key: string;
  remove(): Promise<void>;
}

export async function createTestCertificate(): Promise<TestCertificate> {
  const dir = await mkdtemp(join(tmpdir(), 'countersign-cert-'));
  const certPath = join(dir, 'cert.pem');
  const keyPath = join(dir, 'key.pem');
  await run('/usr/bin/openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '2',
    '-subj',
    '/CN=countersign-test-login',
    '-addext',
    'subjectAltName=IP:127.0.0.1,DNS:localhost',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-keyout',
    keyPath,
    '-out',
    certPath,
  ]);
  return {
    certPath,
    cert: await readFile(certPath, 'utf8'),
    key: await readFile(keyPath, 'utf8'),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
