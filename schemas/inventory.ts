import { isIP } from 'node:net';
import { z } from 'zod';
import { asList, chassisConfigSchema, endpoints } from './chassis.js';
import { hooksSchema } from './hooks.js';

/**
 * The fleet inventory (docs/controller.md). Host fields are checked
 * loosely here — their values are validated as a whole chassis config once
 * defaults, groups and the host are merged, so an error names the host.
 */

export const sshTransportSchema = z.strictObject({
  kind: z.literal('ssh'),
  user: z.string().min(1).default('root'),
  port: z.number().int().min(1).max(65535).default(22),
  /** A private key file; or leave it out and use `agent`. */
  privateKey: z.string().optional(),
  passphrase: z.string().optional(),
  /** An ssh-agent socket (default $SSH_AUTH_SOCK when no privateKey is given). */
  agent: z.string().optional(),
  knownHosts: z.string().optional(),
  /** Pinned host key fingerprints, "SHA256:…", instead of (or besides) known_hosts. */
  fingerprints: z.array(z.string().regex(/^SHA256:[A-Za-z0-9+/]{43}$/, 'is not a SHA256:… fingerprint')).optional(),
  connectTimeoutS: z.number().positive().default(10),
  /** The agent command on the node, as an argument vector (default ["ovn-chassis-agent"]). */
  agentCommand: z.array(z.string().min(1)).min(1).optional(),
  stateDir: z.string().startsWith('/', 'must be an absolute path').optional(),
  /** The node's `ovn-chassis-agent serve` socket (default STATE_DIR/agent.sock); used when an agent serves there. */
  agentSocket: z.string().startsWith('/', 'must be an absolute path').optional(),
  /**
   * `agent`: the node's ovn-chassis-agent does the work. `direct`: nothing of
   * ours on the node; the controller runs the agent's logic over SSH forwards
   * of the node's OVSDB or Docker socket, and keeps the snapshots on the node.
   */
  via: z.enum(['agent', 'direct']).default('agent'),
});

export const localTransportSchema = z.strictObject({
  kind: z.literal('local'),
  /** The in-process agent's state dir for this node (default /var/lib/ovn-chassis/<host>). */
  stateDir: z.string().optional(),
  /** Where this node's MidoNet host id file is (default: MidoNet's own paths). */
  midonetHostIdFiles: z.array(z.string()).optional(),
  /** A node that is a network namespace of this machine (the datapath sandbox): its programs and interfaces are the namespace's. */
  netns: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'is not a network namespace name').optional(),
});

/**
 * MidoNet tunnel-zone membership, as exported from the MidoNet API or
 * `midonet-cli` (tunnel-zone ... list member): host UUID → the tunnel IP.
 */
export const tunnelZoneSchema = z.record(z.string().regex(/^[0-9a-fA-F-]{36}$/, 'is not a MidoNet host UUID'), z.string().refine((v) => isIP(v) !== 0, 'is not an IP address'));

export const transportSchema = z.discriminatedUnion('kind', [sshTransportSchema, localTransportSchema]);
export type Transport = z.output<typeof transportSchema>;
export type SshTransport = z.output<typeof sshTransportSchema>;

/** What a rollout checks on a node before its first hook (rollout pre-flight). */
export const preflightSchema = z.strictObject({
  /** The tenant networks' MTU: the underlay under each encap IP must carry it plus the tunnel's headers. */
  tenantMtu: z.number().int().min(576).max(9000).default(1442),
  /** Where nova's config is on the node: its [DEFAULT] host must be the chassis hostname, or neutron binds ports elsewhere (default Kolla's). */
  novaConf: z.string().startsWith('/', 'must be an absolute path').default('/etc/kolla/nova-compute/nova.conf'),
  /** Other gateway chassis that must be registered before a gateway that carries traffic is taken. */
  minOtherGateways: z.number().int().min(0).default(1),
  /** Set false to skip the checks on this host (said in the journal). */
  enabled: z.boolean().default(true),
});
export type Preflight = z.output<typeof preflightSchema>;

type ChassisField = keyof typeof chassisConfigSchema.shape;

/** Every chassis field, taken from the chassis schema itself so a new field needs no edit here. */
const chassisFields = Object.fromEntries(Object.keys(chassisConfigSchema.shape).map((k) => [k, z.unknown().optional()])) as Record<ChassisField, z.ZodOptional<z.ZodUnknown>>;

/** What a defaults/group/host layer may say. Chassis fields stay `unknown` until merged. */
const layerShape = {
  ...chassisFields,
  address: z.string().optional(),
  transport: z.record(z.string(), z.unknown()).optional(),
  agent: z.record(z.string(), z.unknown()).optional(),
  encap: z.record(z.string(), z.unknown()).optional(),
  /** Free-form facts for --batch-by and --limit (an availability zone, a rack). */
  vars: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  /** Steps around the change on this node (rollout) and after a rollback. */
  hooks: hooksSchema.optional(),
  /** Pre-flight settings (merged key by key, like encap). */
  preflight: z.record(z.string(), z.unknown()).optional(),
  /** Make chassisMacMappings per host from this seed, one MAC per physnet of its bridgeMappings, when none are given. */
  chassisMacSeed: z.string().min(1).optional(),
};

export const layerSchema = z.strictObject(layerShape);
const hostSchema = z.strictObject({ ...layerShape, groups: z.array(z.string()).optional() });

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const name = (what: string) => z.string().regex(NAME, `is not a valid ${what} name (letters, digits, . _ -)`);

/** PEM files on the controller for its own `ssl:` connections to the Southbound/Northbound DB. */
export const controllerTlsSchema = z.strictObject({
  privateKey: z.string().min(1),
  certificate: z.string().min(1),
  caCert: z.string().min(1),
});

export const inventorySchema = z
  .strictObject({
    ovn: z.strictObject({
      southbound: endpoints,
      northbound: endpoints.optional(),
      /** Used for every ssl: connection the controller makes (verify, status, rollout, stale-chassis removal). */
      tls: controllerTlsSchema.optional(),
      /** The namespace of the UUIDv5 system-ids given to hosts that name none. */
      systemIdNamespace: z.guid('is not a UUID').optional(),
    }),
    /** Pull mode: the config database's members or relays (tcp:, ssl: with ovn.tls, unix:), where publish writes and agents pull (docs/pull.md). */
    configDb: endpoints.optional(),
    defaults: layerSchema.optional(),
    groups: z.record(name('group'), layerSchema).optional(),
    hosts: z.record(name('host'), hostSchema),
    rollout: z
      .strictObject({
        /** Phases in order, each a host, group or glob pattern (e.g. [compute, gateway]): gateways move on their own. */
        order: z.array(z.string().min(1)).min(1).optional(),
        /** What a node that fails does: stop the rollout after its batch, be put back (VIFs and keys), or neither (--max-failures decides). */
        onFailure: z.enum(['stop', 'rollback', 'continue']).default('continue'),
        /** Programs run for the whole rollout whose `ping -D -O` output measures the data plane (e.g. a ping from a VM to another). */
        probes: z.array(z.strictObject({ name: z.string().min(1).max(80), command: z.array(z.string().min(1)).min(1) })).optional(),
      })
      .optional(),
  })
  .superRefine((inv, ctx) => {
    for (const which of ['southbound', 'northbound'] as const) {
      const ssl = asList(inv.ovn[which] ?? []).filter((e) => e.startsWith('ssl:'));
      if (ssl.length > 0 && !inv.ovn.tls) {
        ctx.addIssue({ code: 'custom', message: `names ssl: endpoints (${ssl.join(', ')}) but ovn.tls gives the controller no privateKey, certificate and caCert to connect with`, path: ['ovn', which], input: inv.ovn[which] });
      }
    }
    const sslConfigDb = asList(inv.configDb ?? []).filter((e) => e.startsWith('ssl:'));
    if (sslConfigDb.length > 0 && !inv.ovn.tls) {
      ctx.addIssue({ code: 'custom', message: `names ssl: endpoints (${sslConfigDb.join(', ')}) but ovn.tls gives the controller no privateKey, certificate and caCert to connect with`, path: ['configDb'], input: inv.configDb });
    }
    for (const [h, host] of Object.entries(inv.hosts)) {
      (host.groups ?? []).forEach((g, i) => {
        if (!inv.groups || !Object.hasOwn(inv.groups, g)) ctx.addIssue({ code: 'custom', message: 'is not a group defined under groups', path: ['hosts', h, 'groups', i], input: g });
      });
    }
    if (Object.keys(inv.hosts).length === 0) ctx.addIssue({ code: 'custom', message: 'has no hosts', path: ['hosts'], input: inv.hosts });
  });

export type Inventory = z.output<typeof inventorySchema>;
export type Layer = z.output<typeof layerSchema>;
