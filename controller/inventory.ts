import { type AgentBackend, agentBackendSchema } from '../schemas/backend.js';
import { type ChassisConfig, asList, chassisConfigSchema } from '../schemas/chassis.js';
import { namedIps } from '../schemas/keys.js';
import { ConfigError } from '../schemas/errors.js';
import { type Where, check, formatIssue, loadConfigAt } from '../schemas/load.js';
import { HOOK_PHASES, type Hooks } from '../schemas/hooks.js';
import { type Inventory, type Layer, type Preflight, type Transport, inventorySchema, preflightSchema, transportSchema } from '../schemas/inventory.js';
import { seededChassisMacs } from './macs.js';
import { uuidv5 } from './uuid5.js';

/** The namespace of generated system-ids when the inventory sets none (fixed: ids must never move). */
export const DEFAULT_SYSTEM_ID_NAMESPACE = '6f0c3c9e-8f6b-5d6e-9a51-0b6a1f9e3c42';

/** Where a pulling agent finds the config database, and the node's PEM files for its ssl: members (those ovn-controller uses). */
export interface PullSource {
  endpoints: string[];
  tls?: { privateKey: string; certificate: string; caCert: string };
}

/** A host whose agent pulls: the inventory's configDb, with the node's TLS files when it names ssl: members; or why it cannot pull. */
function pullOf(inv: Inventory, chassis: ChassisConfig | undefined): PullSource | string {
  if (!inv.configDb) return 'the inventory names no configDb for the agent to pull from';
  const endpoints = asList(inv.configDb);
  if (!endpoints.some((e) => e.startsWith('ssl:'))) return { endpoints };
  const ssl = chassis?.ssl;
  if (!ssl || !('privateKey' in ssl)) return `configDb names ssl: members, so the agent needs the node's PEM files: give ssl: {privateKey, certificate, caCert}`;
  return { endpoints, tls: { privateKey: ssl.privateKey, certificate: ssl.certificate, caCert: ssl.caCert } };
}

export interface Host {
  name: string;
  address: string;
  groups: string[];
  vars: Record<string, string | number | boolean>;
  chassis: ChassisConfig;
  transport: Transport;
  agent: AgentBackend;
  hooks: Hooks;
  preflight: Preflight;
  /** Set when the host's installed agent pulls its config (agent.pull). */
  pull?: PullSource;
}

export interface Fleet {
  inventory: Inventory;
  source: string;
  hosts: Host[];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Later layers win; nested objects (encap, maps, transport) merge key by key; lists are replaced. */
function merge(a: Obj, b: Obj): Obj {
  const out: Obj = { ...a };
  for (const [k, v] of Object.entries(b)) {
    if (v === undefined) continue;
    out[k] = isObj(v) && isObj(out[k]) ? merge(out[k] as Obj, v) : v;
  }
  return out;
}

export function loadFleet(path: string): Fleet {
  const { data, where } = loadConfigAt(inventorySchema, path);
  return resolveFleet(data, path, where);
}

/**
 * Each host's config: defaults, then its groups in order, then its own fields
 * (hooks are the one exception: they add up, phase by phase, in that order).
 * Then the inventory's conventions: the Southbound list is the default
 * ovn-remote, the address the default encap IP, the inventory name the
 * hostname, and a UUIDv5 of the name the system-id.
 */
export function resolveFleet(inv: Inventory, source: string, where?: Where): Fleet {
  const issues: string[] = [];
  // A problem of a host's own field says where it is in the file; one it inherited, only its path.
  const say = (path: PropertyKey[], text: string) => {
    const at = where?.(path);
    issues.push(`${at ? `${at}: ` : ''}${text}`);
  };
  const hosts: Host[] = [];
  const namespace = inv.ovn.systemIdNamespace ?? DEFAULT_SYSTEM_ID_NAMESPACE;
  for (const [name, own] of Object.entries(inv.hosts)) {
    const groups = own.groups ?? [];
    const layers: Layer[] = [inv.defaults ?? {}, ...groups.map((g) => (inv.groups && Object.hasOwn(inv.groups, g) ? inv.groups[g] : undefined) ?? {}), own];
    // The agent backend is chosen whole: a host that says backend: ovsdb does not inherit a container name.
    let agent: Obj | undefined;
    let merged: Obj = {};
    const hooks: Hooks = {};
    for (const l of layers) {
      const { agent: la, hooks: lh, ...rest } = l as Obj & { hooks?: Hooks };
      if (isObj(la)) agent = la.backend === undefined || la.backend === agent?.backend ? merge(agent ?? {}, la) : la;
      // Hooks add up, never replace: each phase runs the defaults' hooks, then each group's in order, then the host's own.
      for (const phase of HOOK_PHASES) if (lh?.[phase]) hooks[phase] = [...(hooks[phase] ?? []), ...lh[phase]];
      merged = merge(merged, rest);
    }
    const { address, transport, vars, chassisMacSeed, preflight, groups: _g, ...fields } = merged as Obj & { address?: string; transport?: Obj; vars?: Obj; chassisMacSeed?: string; preflight?: Obj };
    const encap = isObj(fields.encap) ? fields.encap : {};
    // Given MACs win; with a seed, each physnet of the host's mappings gets one made for this host.
    const mappings = fields.bridgeMappings;
    const physnets = Array.isArray(mappings) ? mappings.map((e) => String(e).split(':')[0] as string) : isObj(mappings) ? Object.keys(mappings) : [];
    const seeded = chassisMacSeed !== undefined && fields.chassisMacMappings === undefined && physnets.length > 0
      ? { chassisMacMappings: seededChassisMacs(chassisMacSeed, name, physnets) }
      : {};
    const chassisInput: Obj = {
      ...fields,
      ...seeded,
      systemId: fields.systemId ?? uuidv5(name, namespace),
      hostname: fields.hostname ?? name,
      ovnRemote: fields.ovnRemote ?? inv.ovn.southbound,
      encap: { ...encap, ip: encap.ip ?? address },
    };
    const at = (sub: string, res: { success: boolean; error?: { issues: Parameters<typeof formatIssue>[0][] } }, schema: Parameters<typeof formatIssue>[1]) => {
      if (!res.success) for (const i of res.error?.issues ?? []) say(['hosts', name, ...(sub ? [sub] : []), ...i.path], formatIssue(i, schema, ['hosts', name, ...(sub ? [sub] : [])]));
    };
    const chassis = chassisConfigSchema.safeParse(chassisInput, { reportInput: true });
    // A host's address stands in for encap.ip when none is given: a bad one is the address's fault, and said so.
    const fromAddress = encap.ip === undefined && address !== undefined;
    const isEncapIp = (i: { path: PropertyKey[] }) => fromAddress && i.path[0] === 'encap' && i.path[1] === 'ip';
    for (const i of chassis.error?.issues.filter(isEncapIp) ?? []) {
      say(['hosts', name, 'address'], `${formatIssue({ ...i, path: ['address'] }, chassisConfigSchema, ['hosts', name])} (with no encap.ip, the address is the encap IP)`);
    }
    at('', chassis.success ? chassis : { success: false, error: { issues: chassis.error.issues.filter((i) => !isEncapIp(i)) } }, chassisConfigSchema);
    const tr = transportSchema.safeParse(transport ?? { kind: 'ssh' }, { reportInput: true });
    at('transport', tr, transportSchema);
    const ag = agentBackendSchema.safeParse(agent ?? { backend: 'ovsdb' }, { reportInput: true });
    at('agent', ag, agentBackendSchema);
    const pf = preflightSchema.safeParse(preflight ?? {}, { reportInput: true });
    at('preflight', pf, preflightSchema);
    const addr = address ?? (chassis.success ? namedIps(chassis.data.encap.ip)?.[0] : undefined);
    if (!addr) issues.push(`hosts.${name}: needs an address (or an encap.ip that names one)`);
    // Direct mode reaches the node's OVSDB or Docker socket; ovs-vsctl would have to run beside an agent.
    if (tr.success && tr.data.kind === 'ssh' && tr.data.via === 'direct' && ag.success && ag.data.backend === 'vsctl') {
      issues.push(`hosts.${name}.transport.via: "direct" needs agent.backend ovsdb (the node's OVSDB socket) or docker, not "vsctl"`);
    }
    const pull = ag.success && ag.data.pull ? pullOf(inv, chassis.success ? chassis.data : undefined) : undefined;
    if (typeof pull === 'string') say(['hosts', name, 'agent', 'pull'], `hosts.${name}.agent.pull: ${pull}`);
    if (chassis.success && tr.success && ag.success && pf.success && addr && typeof pull !== 'string') {
      hosts.push({
        name, address: addr, groups, vars: (vars ?? {}) as Host['vars'], chassis: chassis.data, transport: tr.data, agent: ag.data, hooks, preflight: pf.data,
        ...(pull ? { pull } : {}),
      });
    }
  }
  if (issues.length > 0) throw new ConfigError(source, issues);
  return { inventory: inv, source, hosts };
}

export function checkInventory(data: unknown, source: string): Fleet {
  return resolveFleet(check(inventorySchema, data, source), source);
}
