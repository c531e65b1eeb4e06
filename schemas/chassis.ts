import { z } from 'zod';
import { KEYS, KEY_TABLE, TOKENS, managerTarget, namedIps, shapeOf, typedToken } from './keys.js';
import { asList, bridgeName, portName, token } from './values.js';

export { asList, bridgeName, endpoint, endpoints, ipAddress, physnetName } from './values.js';

/**
 * One node's desired chassis configuration (docs/agent.md).
 * Validates what ovn-controller would choke on, so a bad
 * value is refused before it reaches a node.
 */

export const bridgeSpec = z.strictObject({
  name: bridgeName,
  uplink: portName.optional(),
  /** netdev for DPDK (userspace); the bridge is made with it, an existing one is not changed. */
  datapathType: z.enum(['system', 'netdev']).optional(),
  /** What the bridge does with no controller: standalone (a learning switch, as the peers make provider bridges) or secure. */
  failMode: z.enum(['standalone', 'secure']).optional(),
});

export const encapSchema = KEYS.encap.field;

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
export const RESERVED_KEYS = [SSL_SETTING, ...KEY_TABLE.map((r) => r.key), 'ovn-cms-options', 'ovn-chassis-managed-keys', 'ovn-chassis-managed-cms'];

/** An extra cms token: one the typed fields do not already say. */
const cmsToken = token.refine((t) => !typedToken(t), 'is set through its own field, not cmsOptions');

const extraKey = z
  .string()
  .refine((s) => s.length > 0 && !/[\s,=]/.test(s), 'is not an external_ids key (no spaces, commas or =)')
  .refine((s) => !RESERVED_KEYS.includes(s), 'is set through its own field, not extraExternalIds');

export const chassisConfigSchema = z
  .strictObject({
    ...shapeOf(KEYS),
    ...shapeOf(TOKENS),
    cmsOptions: z.array(cmsToken).optional(),
    /** Manager rows the node keeps (ovs-vsctl set-manager), each owned on its own. */
    managers: z.array(managerTarget).optional(),
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
    const { encap } = c;
    const ips = namedIps(encap.ip);
    if (encap.ipDefault !== undefined && !ips) {
      ctx.addIssue({ code: 'custom', message: 'needs the encap IPs named: with an IP found on the node there is only one', path: ['encap', 'ipDefault'], input: encap.ipDefault });
    } else if (encap.ipDefault !== undefined && ips && !ips.includes(encap.ipDefault)) {
      ctx.addIssue({ code: 'custom', message: `is not one of the encap IPs (${ips.join(', ')}); ovn-controller would ignore it`, path: ['encap', 'ipDefault'], input: encap.ipDefault });
    }
    const types = asList(encap.type);
    if (new Set(types).size !== types.length) {
      ctx.addIssue({ code: 'custom', message: 'lists a type twice', path: ['encap', 'type'], input: encap.type });
    }
  });

export type ChassisConfig = z.output<typeof chassisConfigSchema>;
export type ChassisConfigInput = z.input<typeof chassisConfigSchema>;
export type BridgeSpec = z.output<typeof bridgeSpec>;
