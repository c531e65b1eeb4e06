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
 * Opens a stream to `ep` some other way than this machine's network: e.g. a
 * tunnel to a socket on another host. For ssl it gives the raw stream; TLS is
 * still done here, end to end.
 */
export type Dial = (ep: Endpoint) => Promise<Duplex>;

/**
 * Opens the byte stream for an endpoint. For ssl the server's certificate must
 * chain to the given CA; like OVS itself, the host name is not matched against
 * the certificate (ovs-pki certificates name no host).
 */
export function openStream(ep: Endpoint, opts: { tls?: TlsFiles; timeoutMs: number; dial?: Dial }): Promise<Duplex> {
  const where = formatEndpoint(ep);
  return new Promise((resolve, reject) => {
    let socket: Duplex | undefined;
    let settled = false;
    const fail = (code: 'CONNECT_FAILED' | 'TLS_ERROR', err: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket?.destroy();
      reject(new OvsdbError(code, `cannot connect to ${where}: ${err.message}`, { cause: err }));
    };
    const done = (s: Duplex) => {
      if (settled) {
        s.destroy();
        return;
      }
      settled = true;
      clearTimeout(timer);
      s.removeAllListeners('error');
      resolve(s);
    };
    const timer = setTimeout(() => fail('CONNECT_FAILED', new Error(`no connection within ${opts.timeoutMs} ms`)), opts.timeoutMs);
    let files: { key: Buffer; cert: Buffer; ca: Buffer } | undefined;
    if (ep.kind === 'ssl') {
      if (!opts.tls) {
        settled = true;
        clearTimeout(timer);
        reject(new OvsdbError('INVALID_ARGUMENT', `${where} needs a client key, certificate and CA (--ssl-key, --ssl-cert, --ssl-ca)`));
        return;
      }
      try {
        files = { key: pem(opts.tls.key), cert: pem(opts.tls.cert), ca: pem(opts.tls.ca) };
      } catch (err) {
        settled = true;
        clearTimeout(timer);
        reject(new OvsdbError('INVALID_ARGUMENT', `cannot read TLS files for ${where}: ${(err as Error).message}`));
        return;
      }
    }
    const secure = (raw: Duplex | undefined) => {
      const s = tls.connect({
        ...(raw ? { socket: raw } : ep.kind === 'unix' ? {} : { host: ep.host, port: ep.port }),
        ...files,
        rejectUnauthorized: true,
        checkServerIdentity: () => undefined,
      });
      socket = s;
      s.once('secureConnect', () => done(s));
      s.once('error', (err) => fail('TLS_ERROR', err));
    };
    if (opts.dial) {
      opts.dial(ep).then(
        (raw) => {
          if (settled) return raw.destroy();
          socket = raw;
          if (files) secure(raw);
          else done(raw);
        },
        (err: Error) => fail('CONNECT_FAILED', err),
      );
    } else if (files) {
      secure(undefined);
    } else {
      const s = ep.kind === 'unix' ? net.connect(ep.path) : net.connect(ep.port, ep.host);
      socket = s;
      s.once('connect', () => {
        s.setNoDelay(true);
        done(s);
      });
      s.once('error', (err) => fail('CONNECT_FAILED', err));
    }
  });
}
