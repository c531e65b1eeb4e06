import { OvsdbError } from './errors.js';

/** An OVSDB remote as OVS writes it: `unix:PATH`, `tcp:HOST:PORT`, `ssl:HOST:PORT`. */
export type Endpoint =
  | { kind: 'unix'; path: string }
  | { kind: 'tcp' | 'ssl'; host: string; port: number };

const HOST_PORT = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/;

export function parseEndpoint(text: string): Endpoint {
  const colon = text.indexOf(':');
  const scheme = colon < 0 ? '' : text.slice(0, colon);
  const rest = text.slice(colon + 1);
  if (scheme === 'unix') {
    if (rest.length === 0) throw invalid(text, 'a unix endpoint needs a socket path');
    return { kind: 'unix', path: rest };
  }
  if (scheme === 'tcp' || scheme === 'ssl') {
    const m = HOST_PORT.exec(rest);
    const port = m ? Number(m[3]) : NaN;
    if (!m || port < 1 || port > 65535) {
      throw invalid(text, `expected ${scheme}:HOST:PORT with a port 1-65535 (IPv6 in brackets)`);
    }
    return { kind: scheme, host: (m[1] ?? m[2]) as string, port };
  }
  throw invalid(text, 'expected unix:PATH, tcp:HOST:PORT or ssl:HOST:PORT');
}

/** A comma-separated list of remotes means the members of a cluster. */
export function parseEndpoints(text: string): Endpoint[] {
  return text.split(',').map((part) => parseEndpoint(part.trim()));
}

export function formatEndpoint(ep: Endpoint): string {
  if (ep.kind === 'unix') return `unix:${ep.path}`;
  const host = ep.host.includes(':') ? `[${ep.host}]` : ep.host;
  return `${ep.kind}:${host}:${ep.port}`;
}

function invalid(text: string, why: string): OvsdbError {
  return new OvsdbError('INVALID_ENDPOINT', `"${text}" is not an OVSDB endpoint: ${why}`);
}
