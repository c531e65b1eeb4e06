import { isIP } from 'node:net';
import { z } from 'zod';
import { parseEndpointText } from './endpoint.js';

/**
 * The value types of chassis settings: what ovn-controller would choke on is
 * refused here, before it reaches a node.
 */

const NO_SEP = /^[^\s,:=]+$/;

/** Fields that take one value or a list (endpoints, encap type and IP), as a list. */
export const asList = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);

function byteLength(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

export const ipAddress = z.string().refine((s) => isIP(s) !== 0, 'is not an IPv4 or IPv6 address');

/** Why an address cannot be a tunnel endpoint (one host's unicast address), or undefined. */
function notUnicast(s: string): string | undefined {
  if (isIP(s) === 4) {
    const first = Number(s.split('.')[0]);
    if (s === '0.0.0.0') return 'is the unspecified address, not one host\'s';
    if (s === '255.255.255.255') return 'is the broadcast address, not one host\'s';
    if (first >= 224 && first <= 239) return 'is a multicast address, not one host\'s';
    if (first >= 240) return 'is a reserved address (240.0.0.0/4), not one host\'s';
    return undefined;
  }
  const v6 = s.toLowerCase();
  if (/^(0*:)*:?0*$/.test(v6) || v6 === '::') return 'is the unspecified address, not one host\'s';
  if (v6.startsWith('ff')) return 'is a multicast address, not one host\'s';
  return undefined;
}

/** A tunnel endpoint: an IP address of one host (not unspecified, broadcast, multicast or reserved). */
export const unicastAddress = ipAddress.superRefine((s, ctx) => {
  const why = isIP(s) !== 0 ? notUnicast(s) : undefined;
  if (why) ctx.addIssue({ code: 'custom', message: why, input: s });
});

export const endpoint = z.string().superRefine((s, ctx) => {
  const ep = parseEndpointText(s);
  if (typeof ep === 'string') ctx.addIssue({ code: 'custom', message: `is not an OVSDB endpoint: ${ep}`, input: s });
});

export const endpoints = z.union([endpoint, z.array(endpoint).min(1, 'needs at least one endpoint')]);

/** Control characters (ESC, DEL…), which no name shown to a person may hold. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

export const bridgeName = z
  .string()
  .refine((s) => /^[^\s,:/]+$/.test(s) && !CONTROL.test(s), 'is not a bridge name (no spaces, commas, colons, slashes or control characters)')
  .refine((s) => byteLength(s) <= 15, 'is longer than 15 bytes (the Linux limit for a bridge name)');

export const portName = bridgeName;

export const physnetName = z.string().refine((s) => NO_SEP.test(s), 'is not a physnet name (no spaces, commas, colons or =)');

export const azName = z.string().refine((s) => NO_SEP.test(s), 'is not an availability-zone name (no spaces, commas, colons or =)');

export const systemId = z
  .string()
  .refine((s) => s.length > 0, 'must not be empty')
  .refine((s) => !/[\s,]/.test(s), 'must not contain whitespace or commas')
  .refine((s) => /^[\x21-\x7e]*$/.test(s), 'must be printable ASCII (no control characters)')
  .refine((s) => s.length <= 253, 'is longer than 253 characters');

/** What nova and neutron accept as a host name (RFC 1123 labels, dots; underscores seen in the wild). */
export const hostname = z
  .string()
  .refine((s) => /^[A-Za-z0-9]([A-Za-z0-9._-]*)$/.test(s), 'is not a host name (letters, digits, . _ -)')
  .refine((s) => s.length <= 253, 'is longer than 253 characters');

export const mac = z.string().refine((s) => /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(s), 'is not a MAC address');

export const token = z.string().refine((s) => s.length > 0 && !/[\s,]/.test(s), 'is not a single token (no spaces or commas)');

export const encapType = z.enum(['geneve', 'vxlan']);

/** physnet → bridge, as a map or as OVS writes it ("physnet1:br-ex" entries); a physnet may appear once. */
export const bridgeMappings = z.union([
  z.record(physnetName, bridgeName),
  z.array(z.string()).transform((entries, ctx) => {
    const out: Record<string, string> = {};
    entries.forEach((entry, i) => {
      const [physnet, bridge, extra] = entry.split(':');
      if (!physnet || !bridge || extra !== undefined) {
        ctx.addIssue({ code: 'custom', message: 'is not "physnet:bridge"', path: [i], input: entry });
      } else if (physnet in out) {
        ctx.addIssue({ code: 'custom', message: `maps physnet "${physnet}" a second time`, path: [i], input: entry });
      } else {
        const b = bridgeName.safeParse(bridge);
        if (!b.success) ctx.addIssue({ code: 'custom', message: `names an invalid bridge: ${b.error.issues[0]?.message}`, path: [i], input: entry });
        out[physnet] = bridge;
      }
    });
    return out;
  }),
]);


/** A network interface name as Linux allows it (IFNAMSIZ: 15 bytes; no slash or whitespace). */
const interfaceName = z
  .string()
  .refine((s) => /^[^\s/:,]+$/.test(s) && !CONTROL.test(s) && s !== '.' && s !== '..', 'is not an interface name (no spaces, slashes, colons, commas or control characters)')
  .refine((s) => byteLength(s) <= 15, 'is longer than 15 bytes (the Linux limit for an interface name)');

/** An IPv4 or IPv6 network in CIDR notation. */
export const cidr = z.string().refine((s) => {
  const [addr, len, extra] = s.split('/');
  const family = isIP(addr ?? '');
  return extra === undefined && family !== 0 && /^\d{1,3}$/.test(len ?? '') && Number(len) <= (family === 4 ? 32 : 128);
}, 'is not a network in CIDR notation (e.g. 10.0.0.0/24)');

/**
 * The tunnel endpoint IP: given, or found on the node (as kolla-ansible's
 * tunnel_interface and the charm's network binding do): the one address of
 * an interface, or the one address of the node inside a network.
 */
export const encapIpSpec = z.union([
  unicastAddress,
  z.array(unicastAddress).min(1, 'needs at least one address'),
  z.strictObject({ interface: interfaceName }),
  z.strictObject({ cidr }),
]);
