import { readFileSync, statSync } from 'node:fs';
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

const ENCRYPTED_KEY = /-----BEGIN ENCRYPTED PRIVATE KEY-----|^Proc-Type: 4,ENCRYPTED/m;

/**
 * The client's private key. Like ssh with its own keys, a key file others
 * may read is refused: whoever reads it can pose as this client. A key
 * protected by a passphrase is refused by name, since nothing here can ask
 * for one (OpenSSL would say only "bad decrypt").
 */
function privateKey(value: string | Buffer): Buffer {
  if (typeof value === 'string' && !value.includes('-----BEGIN')) {
    const mode = statSync(value).mode & 0o777;
    if (mode & 0o077) {
      throw new Error(`the private key ${value} can be read by ${mode & 0o007 ? 'everyone' : 'its group'} (mode ${mode.toString(8)}): whoever reads it can pose as this client; make it private (chmod 600 ${value})`);
    }
  }
  const key = pem(value);
  if (ENCRYPTED_KEY.test(key.toString('latin1'))) {
    const where = typeof value === 'string' && !value.includes('-----BEGIN') ? ` ${value}` : '';
    throw new Error(`the private key${where} is protected by a passphrase, which cannot be asked for here: give a key without one (openssl pkey -in KEY -out PLAIN, kept mode 600)`);
  }
  return key;
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
        files = { key: privateKey(opts.tls.key), cert: pem(opts.tls.cert), ca: pem(opts.tls.ca) };
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
