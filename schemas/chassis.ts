import { isIP } from 'node:net';
import { z } from 'zod';
import { parseEndpointText } from './endpoint.js';

/**
 * One node's desired chassis configuration (DESIGN.md "Chassis
 * configuration"). Validates what ovn-controller would choke on, so a bad
 * value is refused before it reaches a node.
 */

const NO_SEP = /^[^\s,:=]+$/;

/** Fields that take one value or a list (endpoints, encap type and IP), as a list. */
export const asList = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);

function byteLength(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

export const ipAddress = z.string().refine((s) => isIP(s) !== 0, 'is not an IPv4 or IPv6 address');

export const endpoint = z.string().superRefine((s, ctx) => {
  const ep = parseEndpointText(s);
  if (typeof ep === 'string') ctx.addIssue({ code: 'custom', message: `is not an OVSDB endpoint: ${ep}`, input: s });
});

export const endpoints = z.union([endpoint, z.array(endpoint).min(1, 'needs at least one endpoint')]);

export const bridgeName = z
  .string()
  .refine((s) => /^[^\s,:/]+$/.test(s), 'is not a bridge name (no spaces, commas, colons or slashes)')
  .refine((s) => byteLength(s) <= 15, 'is longer than 15 bytes (the Linux limit for a bridge name)');

const portName = bridgeName;

export const physnetName = z.string().refine((s) => NO_SEP.test(s), 'is not a physnet name (no spaces, commas, colons or =)');

const azName = z.string().refine((s) => NO_SEP.test(s), 'is not an availability-zone name (no spaces, commas, colons or =)');

const systemId = z
  .string()
  .refine((s) => s.length > 0, 'must not be empty')
  .refine((s) => !/[\s,]/.test(s), 'must not contain whitespace or commas')
  .refine((s) => /^[\x21-\x7e]*$/.test(s), 'must be printable ASCII (no control characters)')
  .refine((s) => s.length <= 253, 'is longer than 253 characters');

/** What nova and neutron accept as a host name (RFC 1123 labels, dots; underscores seen in the wild). */
const hostname = z
  .string()
  .refine((s) => /^[A-Za-z0-9]([A-Za-z0-9._-]*)$/.test(s), 'is not a host name (letters, digits, . _ -)')
  .refine((s) => s.length <= 253, 'is longer than 253 characters');

const mac = z.string().refine((s) => /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(s), 'is not a MAC address');

const token = z.string().refine((s) => s.length > 0 && !/[\s,]/.test(s), 'is not a single token (no spaces or commas)');

const encapType = z.enum(['geneve', 'vxlan']);

/** physnet → bridge, as a map or as OVS writes it ("physnet1:br-ex" entries); a physnet may appear once. */
const bridgeMappings = z.union([
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

export const bridgeSpec = z.strictObject({
  name: bridgeName,
  uplink: portName.optional(),
});

export const encapSchema = z.strictObject({
  type: z.union([encapType, z.array(encapType).min(1)]).default('geneve'),
  ip: z.union([ipAddress, z.array(ipAddress).min(1, 'needs at least one address')]),
  csum: z.boolean().optional(),
});

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Strings OVSDB cannot store (a NUL), or that are not valid UTF-8 (a lone surrogate), anywhere in a value, with their paths. */
function unstorable(v: unknown, path: (string | number)[] = []): { path: (string | number)[]; value: string; why: string }[] {
  if (typeof v === 'string') {
    if (v.includes('\0')) return [{ path, value: v, why: 'holds a NUL character, which OVSDB cannot store' }];
    if (LONE_SURROGATE.test(v)) return [{ path, value: v, why: 'holds a lone UTF-16 surrogate, which is not valid UTF-8' }];
    return [];
  }
  if (Array.isArray(v)) return v.flatMap((x, i) => unstorable(x, [...path, i]));
  if (v !== null && typeof v === 'object') {
    return Object.entries(v).flatMap(([k, x]) => [...unstorable(k, [...path, k]).map((u) => ({ ...u, why: `its key ${u.why}` })), ...unstorable(x, [...path, k])]);
  }
  return [];
}

/** The name under which the node's SSL row is owned and diffed beside the external_ids keys. */
export const SSL_SETTING = '@SSL';

const nodePath = z
  .string()
  .refine((s) => s.startsWith('/'), 'is not an absolute path (ovn-controller opens it from wherever it runs)')
  .refine((s) => !/[\0\n]/.test(s), 'holds a NUL or newline');

/**
 * The node's TLS files for ovn-controller's ssl: connection to the Southbound
 * (written to the node's SSL row), or the statement that ovn-controller gets
 * them on its command line (-p/-c/-C, as Kolla and EDPM start it).
 */
export const nodeSslSchema = z.union([
  z.strictObject({ privateKey: nodePath, certificate: nodePath, caCert: nodePath, bootstrapCaCert: z.boolean().optional() }),
  z.strictObject({ fromCommandLine: z.literal(true) }),
]);

/** Keys the agent writes from typed fields, or keeps for itself: not settable through extraExternalIds. */
export const RESERVED_KEYS = [SSL_SETTING, 
  'system-id', 'hostname', 'ovn-remote', 'ovn-nb', 'ovn-encap-type', 'ovn-encap-ip', 'ovn-encap-csum',
  'ovn-bridge-mappings', 'ovn-cms-options', 'ovn-remote-probe-interval', 'ovn-openflow-probe-interval',
  'ovn-monitor-all', 'ovn-chassis-mac-mappings', 'ovn-transport-zones',
  'ovn-chassis-managed-keys', 'ovn-chassis-managed-cms',
];

const extraKey = z
  .string()
  .refine((s) => s.length > 0 && !/[\s,=]/.test(s), 'is not an external_ids key (no spaces, commas or =)')
  .refine((s) => !RESERVED_KEYS.includes(s), 'is set through its own field, not extraExternalIds');

export const chassisConfigSchema = z
  .strictObject({
    systemId,
    hostname: hostname.optional(),
    ovnRemote: endpoints,
    ovnNb: endpoints.optional(),
    encap: encapSchema,
    bridgeMappings: bridgeMappings.optional(),
    gateway: z.boolean().optional(),
    availabilityZones: z.array(azName).optional(),
    cmsOptions: z.array(token).optional(),
    remoteProbeIntervalMs: z.number().int().min(0).optional(),
    openflowProbeIntervalS: z.number().int().min(0).optional(),
    monitorAll: z.boolean().optional(),
    chassisMacMappings: z.record(physnetName, mac).optional(),
    transportZones: z.array(token).optional(),
    bridges: z.array(bridgeSpec).optional(),
    extraExternalIds: z.record(extraKey, z.string()).optional(),
    ssl: nodeSslSchema.optional(),
  })
  .superRefine((c, ctx) => {
    for (const u of unstorable(c)) ctx.addIssue({ code: 'custom', message: u.why, path: u.path, input: u.value });
    const sslRemotes = asList(c.ovnRemote).filter((e) => e.startsWith('ssl:'));
    if (sslRemotes.length > 0 && !c.ssl) {
      ctx.addIssue({
        code: 'custom',
        message: `names ssl: endpoints, so ovn-controller needs a private key, certificate and CA: give ssl: {privateKey, certificate, caCert} (written to the node's SSL row), or ssl: {fromCommandLine: true} when ovn-controller is started with -p/-c/-C`,
        path: ['ovnRemote'],
        input: c.ovnRemote,
      });
    }
    const seen = new Set<string>();
    (c.bridges ?? []).forEach((b, i) => {
      if (seen.has(b.name)) ctx.addIssue({ code: 'custom', message: 'is listed twice', path: ['bridges', i, 'name'], input: b.name });
      seen.add(b.name);
    });
    const types = asList(c.encap.type);
    if (new Set(types).size !== types.length) {
      ctx.addIssue({ code: 'custom', message: 'lists a type twice', path: ['encap', 'type'], input: c.encap.type });
    }
  });

export type ChassisConfig = z.output<typeof chassisConfigSchema>;
export type ChassisConfigInput = z.input<typeof chassisConfigSchema>;
export type BridgeSpec = z.output<typeof bridgeSpec>;
