import { join } from 'node:path';
import { run } from './procs.js';

export interface Pki {
  ca: string;
  serverKey: string;
  serverCert: string;
  clientKey: string;
  clientCert: string;
}

function key(path: string): void {
  run('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-out', path]);
}

function signed(dir: string, name: string, caKey: string, caCert: string): { key: string; cert: string } {
  const k = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const cert = join(dir, `${name}.pem`);
  key(k);
  run('openssl', ['req', '-new', '-key', k, '-out', csr, '-subj', `/CN=${name}`]);
  run('openssl', ['x509', '-req', '-in', csr, '-CA', caCert, '-CAkey', caKey, '-CAcreateserial', '-out', cert, '-days', '2']);
  return { key: k, cert };
}

/** A throwaway CA with a server and a client certificate, made with openssl. */
export function makePki(dir: string, name: string): Pki {
  const caKey = join(dir, `${name}-ca.key`);
  const ca = join(dir, `${name}-ca.pem`);
  key(caKey);
  run('openssl', ['req', '-x509', '-new', '-key', caKey, '-out', ca, '-days', '2', '-subj', `/CN=${name} test CA`]);
  const server = signed(dir, `${name}-server`, caKey, ca);
  const client = signed(dir, `${name}-client`, caKey, ca);
  return { ca, serverKey: server.key, serverCert: server.cert, clientKey: client.key, clientCert: client.cert };
}
