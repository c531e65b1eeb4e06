import { stringify } from 'yaml';
import { splitList } from '../agent/index.js';
import type { ShowResult } from '../schemas/rpc.js';
import { RESERVED_KEYS, chassisConfigSchema } from '../schemas/chassis.js';
import type { Fleet, Host } from './inventory.js';

/** neutron's own tokens in ovn-cms-options: they stay neutron's, never imported as ours. */
const NEUTRON_TOKEN = /^(resource_provider_|card-serial-number=)/;

const one = (v: string[]) => (v.length === 1 ? (v[0] as string) : v);
const pairs = (v: string | undefined) =>
  Object.fromEntries(splitList(v).map((e) => [e.slice(0, e.indexOf(':')), e.slice(e.indexOf(':') + 1)]));

/** One node's chassis fields as its OVSDB holds them now. */
export function fieldsFromNode(show: ShowResult): Record<string, unknown> {
  const x = show.externalIds;
  const cms = splitList(x['ovn-cms-options']);
  const owned = new Set(show.managedCmsTokens);
  const az = cms.find((t) => t.startsWith('availability-zones='));
  const f: Record<string, unknown> = {
    systemId: x['system-id'],
    ...(x.hostname ? { hostname: x.hostname } : {}),
    ovnRemote: one(splitList(x['ovn-remote'])),
    ...(x['ovn-nb'] ? { ovnNb: one(splitList(x['ovn-nb'])) } : {}),
    encap: {
      type: one(splitList(x['ovn-encap-type'])),
      ip: one(splitList(x['ovn-encap-ip'])),
      ...(x['ovn-encap-csum'] ? { csum: x['ovn-encap-csum'] === 'true' } : {}),
    },
    bridgeMappings: pairs(x['ovn-bridge-mappings']),
    gateway: cms.includes('enable-chassis-as-gw'),
    availabilityZones: az ? az.slice('availability-zones='.length).split(':') : [],
    // Tokens the node's ownership record says are ours stay ours, even neutron-style ones a config named;
    // a neutron-style token nobody recorded is neutron's, and is left to it.
    cmsOptions: cms.filter((t) => t !== 'enable-chassis-as-gw' && t !== az && (owned.has(t) || !NEUTRON_TOKEN.test(t))),
  };
  if (x['ovn-remote-probe-interval']) f.remoteProbeIntervalMs = Number(x['ovn-remote-probe-interval']);
  if (x['ovn-openflow-probe-interval']) f.openflowProbeIntervalS = Number(x['ovn-openflow-probe-interval']);
  if (x['ovn-monitor-all']) f.monitorAll = x['ovn-monitor-all'] === 'true';
  if (x['ovn-chassis-mac-mappings']) f.chassisMacMappings = pairs(x['ovn-chassis-mac-mappings']);
  if (x['ovn-transport-zones']) f.transportZones = splitList(x['ovn-transport-zones']);
  if (show.ssl) f.ssl = { ...show.ssl };
  else if (splitList(x['ovn-remote']).some((e) => e.startsWith('ssl:'))) f.ssl = { fromCommandLine: true };
  const extra = Object.fromEntries(show.managedKeys.filter((k) => !RESERVED_KEYS.includes(k) && x[k] !== undefined).map((k) => [k, x[k] as string]));
  if (Object.keys(extra).length > 0) f.extraExternalIds = extra;
  return f;
}

/**
 * A MidoNet node's OVN identity: it keeps the host UUID operators already know
 * as its system-id, and its tunnel-zone IP as its encap IP; everything else
 * as the inventory resolves it.
 */
export function fieldsFromMidonet(host: Host, midonetHostId: string, tunnelZone: Record<string, string>): Record<string, unknown> {
  const ip = tunnelZone[midonetHostId] ?? tunnelZone[midonetHostId.toUpperCase()];
  const c = host.chassis as unknown as Record<string, unknown>;
  return { ...c, systemId: midonetHostId, encap: { ...(c.encap as object), ...(ip ? { ip } : {}) } };
}

const CHASSIS_FIELDS = Object.keys(chassisConfigSchema.shape);

function withoutChassisFields(layer: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (!layer) return undefined;
  return Object.fromEntries(Object.entries(layer).filter(([k]) => !CHASSIS_FIELDS.includes(k)));
}

/**
 * An inventory that states every host's chassis config explicitly: imported
 * hosts as their nodes hold it now, the others as the inventory resolved them.
 * Defaults and groups keep only how to reach nodes (transport, agent, vars),
 * so nothing inherited can differ from what was read.
 */
export function importedInventory(fleet: Fleet, imported: Map<string, Record<string, unknown>>): string {
  const inv = fleet.inventory;
  const hostEntry = (h: Host) => {
    const own = inv.hosts[h.name] ?? {};
    const fields = imported.get(h.name) ?? (h.chassis as unknown as Record<string, unknown>);
    return {
      address: h.address,
      ...(own.groups ? { groups: own.groups } : {}),
      ...(own.transport ? { transport: own.transport } : {}),
      ...(own.agent ? { agent: own.agent } : {}),
      ...(own.vars ? { vars: own.vars } : {}),
      ...(own.hooks ? { hooks: own.hooks } : {}),
      ...fields,
    };
  };
  const doc = {
    ovn: inv.ovn,
    ...(inv.defaults ? { defaults: withoutChassisFields(inv.defaults) } : {}),
    ...(inv.groups ? { groups: Object.fromEntries(Object.entries(inv.groups).map(([g, l]) => [g, withoutChassisFields(l)])) } : {}),
    hosts: Object.fromEntries(fleet.hosts.map((h) => [h.name, hostEntry(h)])),
    ...(inv.rollout ? { rollout: inv.rollout } : {}),
  };
  return `# written by ovn-chassis import from ${fleet.source} on ${new Date().toISOString()}\n${stringify(doc)}`;
}
