import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import { type Endpoint, formatEndpoint } from './endpoint.js';
import { OvsdbError } from './errors.js';

/** Client key, certificate and CA for `ssl:` endpoints: file paths or PEM contents. */
export interface TlsFiles {
  key: string | Buffer;
  cert: string | Buffer;
  ca: string | Buffer;
}

function pem(value: string | Buffer): Buffer {
  if (Buffer.isBuffer(value)) return value;
  return value.includes('-----BEGIN') ? Buffer.from(value) : readFileSync(value);
}

/**
 * Opens the byte stream for an endpoint. For ssl the server's certificate must
 * chain to the given CA; like OVS itself, the host name is not matched against
 * the certificate (ovs-pki certificates name no host).
 */
export function openStream(ep: Endpoint, opts: { tls?: TlsFiles; timeoutMs: number }): Promise<Duplex> {
  const where = formatEndpoint(ep);
  return new Promise((resolve, reject) => {
    let socket: net.Socket;
    const fail = (code: 'CONNECT_FAILED' | 'TLS_ERROR', err: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(new OvsdbError(code, `cannot connect to ${where}: ${err.message}`, { cause: err }));
    };
    const timer = setTimeout(() => fail('CONNECT_FAILED', new Error(`no connection within ${opts.timeoutMs} ms`)), opts.timeoutMs);
    if (ep.kind === 'ssl') {
      if (!opts.tls) {
        clearTimeout(timer);
        reject(new OvsdbError('INVALID_ARGUMENT', `${where} needs a client key, certificate and CA (--ssl-key, --ssl-cert, --ssl-ca)`));
        return;
      }
      let files: { key: Buffer; cert: Buffer; ca: Buffer };
      try {
        files = { key: pem(opts.tls.key), cert: pem(opts.tls.cert), ca: pem(opts.tls.ca) };
      } catch (err) {
        clearTimeout(timer);
        reject(new OvsdbError('INVALID_ARGUMENT', `cannot read TLS files for ${where}: ${(err as Error).message}`));
        return;
      }
      const s = tls.connect({
        host: ep.host,
        port: ep.port,
        ...files,
        rejectUnauthorized: true,
        checkServerIdentity: () => undefined,
      });
      socket = s;
      s.once('secureConnect', () => {
        clearTimeout(timer);
        s.removeAllListeners('error');
        resolve(s);
      });
      s.once('error', (err) => fail('TLS_ERROR', err));
    } else {
      socket = ep.kind === 'unix' ? net.connect(ep.path) : net.connect(ep.port, ep.host);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        socket.setNoDelay(true);
        resolve(socket);
      });
      socket.once('error', (err) => fail('CONNECT_FAILED', err));
    }
  });
}
