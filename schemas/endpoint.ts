/**
 * The OVSDB remote grammar OVS uses (`unix:PATH`, `tcp:HOST:PORT`,
 * `ssl:HOST:PORT`, IPv6 in brackets). One parser, used by the config schemas
 * and by the OVSDB client.
 */
import { isIP } from 'node:net';

export type Endpoint =
  | { kind: 'unix'; path: string }
  | { kind: 'tcp' | 'ssl'; host: string; port: number };

const HOST_PORT = /^(?:\[([^\]]+)\]|([^:[\]\s]+)):(\d{1,5})$/;
const DNS_NAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** Returns the endpoint, or a sentence saying why the text is not one. */
export function parseEndpointText(text: string): Endpoint | string {
  const colon = text.indexOf(':');
  const scheme = colon < 0 ? '' : text.slice(0, colon);
  const rest = text.slice(colon + 1);
  if (scheme === 'unix') {
    return rest.length > 0 && !/[\s,]/.test(rest) ? { kind: 'unix', path: rest } : 'a unix endpoint needs a socket path';
  }
  if (scheme !== 'tcp' && scheme !== 'ssl') return 'expected unix:PATH, tcp:HOST:PORT or ssl:HOST:PORT';
  const m = HOST_PORT.exec(rest);
  if (!m) return `expected ${scheme}:HOST:PORT (IPv6 in brackets)`;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return `port ${m[3]} is not 1-65535`;
  const host = (m[1] ?? m[2]) as string;
  if (m[1] !== undefined && isIP(host) !== 6) return `[${host}] is not an IPv6 address`;
  if (m[1] === undefined && isIP(host) !== 4 && (!DNS_NAME.test(host) || /^[\d.]+$/.test(host))) {
    return `${host} is not an IPv4 address or host name${host.includes(':') ? ' (put IPv6 in brackets)' : ''}`;
  }
  return { kind: scheme, host, port };
}

export function formatEndpoint(ep: Endpoint): string {
  if (ep.kind === 'unix') return `unix:${ep.path}`;
  const host = ep.host.includes(':') ? `[${ep.host}]` : ep.host;
  return `${ep.kind}:${host}:${ep.port}`;
}
