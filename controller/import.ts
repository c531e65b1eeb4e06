import { stringify } from 'yaml';
import { showSettings, splitList } from '../agent/index.js';
import type { ShowResult } from '../schemas/rpc.js';
import { RESERVED_KEYS, chassisConfigSchema } from '../schemas/chassis.js';
import { KEY_TABLE, NEUTRON_TOKEN, TOKEN_TABLE, setField, typedToken } from '../schemas/keys.js';
import { ControllerError } from './errors.js';
import { type NodeResult, type RunOptions, forEachNode } from './fleet.js';
import { type Fleet, type Host, checkInventory, resolveFleet } from './inventory.js';
import type { Inventory, Layer } from '../schemas/inventory.js';
import { Progress } from './progress.js';

/**
 * One node's chassis fields as its OVSDB holds them now, key by key and token
 * by token of the key table. A neutron-owned kind of token (QoS placement,
 * SmartNIC serial) is imported only when the node's ownership record says a
 * config of ours wrote it; otherwise it stays neutron's.
 */
export function fieldsFromNode(show: ShowResult): Record<string, unknown> {
  const x = show.externalIds;
  const f: Record<string, unknown> = {};
  const settings = showSettings(show);
  for (const r of KEY_TABLE) {
    const text = settings[r.key];
    if (text !== undefined) setField(f, r.path, r.decode(text));
  }
  if (show.managers.length > 0) f.managers = [...show.managers];
  const cms = splitList(x['ovn-cms-options']);
  const owned = new Set(show.managedCmsTokens);
  const ours = (t: string) => owned.has(t) || !NEUTRON_TOKEN.test(t);
  for (const r of TOKEN_TABLE) {
    const v = r.decode(cms.filter((t) => r.owns(t) && ours(t)));
    if (v !== undefined) setField(f, r.path, v);
  }
  const rest = cms.filter((t) => !typedToken(t) && ours(t));
  if (rest.length > 0) f.cmsOptions = rest;
  if (show.ssl) f.ssl = { ...show.ssl };
  else if (splitList(x['ovn-remote']).some((e) => e.startsWith('ssl:'))) f.ssl = { fromCommandLine: true };
  const extra = Object.fromEntries(show.managedKeys.filter((k) => !k.startsWith('@') && !RESERVED_KEYS.includes(k) && x[k] !== undefined).map((k) => [k, x[k] as string]));
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
 * The inventory with what was read: its defaults and groups kept, and each
 * host given only the chassis fields whose value differs from what it would
 * inherit. Used only when the written document, resolved again, gives every
 * host exactly the config read; otherwise (a nested field a default would
 * fill in) every host's config is written out in full, and defaults and
 * groups keep only how to reach nodes, so nothing inherited can differ.
 */
export function importedInventory(fleet: Fleet, imported: Map<string, Record<string, unknown>>): string {
  const header = `# written by ovn-chassis import from ${fleet.source} on ${new Date().toISOString()}\n`;
  const read = (h: Host) => imported.get(h.name) ?? (h.chassis as unknown as Record<string, unknown>);
  const compact = compactInventory(fleet, read);
  return `${header}${stringify(compact && reproduces(compact, fleet, read) ? compact : flatInventory(fleet, read))}`;
}

type Read = (h: Host) => Record<string, unknown>;
const json = (v: unknown) => JSON.stringify(v);
const parsedChassis = (fields: Record<string, unknown>) => chassisConfigSchema.safeParse(fields);

function hostAccess(own: Layer | undefined): Record<string, unknown> {
  return Object.fromEntries(Object.entries(own ?? {}).filter(([k]) => !CHASSIS_FIELDS.includes(k)));
}

function compactInventory(fleet: Fleet, read: Read): Record<string, unknown> | undefined {
  const inv = fleet.inventory;
  const hosts: Record<string, unknown> = {};
  for (const h of fleet.hosts) {
    const access = { address: h.address, ...hostAccess(inv.hosts[h.name]) };
    let inherited: Record<string, unknown>;
    try {
      const alone = resolveFleet({ ...inv, hosts: { [h.name]: access } } as Inventory, fleet.source).hosts[0];
      if (!alone) return undefined;
      inherited = alone.chassis as unknown as Record<string, unknown>;
    } catch {
      return undefined;
    }
    const now = parsedChassis(read(h));
    if (!now.success) return undefined;
    const raw = read(h);
    const differs = Object.keys(now.data).filter((k) => json((now.data as Record<string, unknown>)[k]) !== json(inherited[k]));
    hosts[h.name] = { ...access, ...Object.fromEntries(differs.map((k) => [k, raw[k] ?? (now.data as Record<string, unknown>)[k]])) };
  }
  return { ovn: inv.ovn, ...(inv.defaults ? { defaults: inv.defaults } : {}), ...(inv.groups ? { groups: inv.groups } : {}), hosts, ...(inv.rollout ? { rollout: inv.rollout } : {}) };
}

/** Whether the document, resolved again, gives every host exactly the config read. */
function reproduces(doc: Record<string, unknown>, fleet: Fleet, read: Read): boolean {
  try {
    const again = new Map(checkInventory(JSON.parse(json(doc)), fleet.source).hosts.map((h) => [h.name, h.chassis]));
    return fleet.hosts.every((h) => {
      const want = parsedChassis(read(h));
      return want.success && json(again.get(h.name)) === json(want.data);
    });
  } catch {
    return false;
  }
}

function flatInventory(fleet: Fleet, read: Read): Record<string, unknown> {
  const inv = fleet.inventory;
  return {
    ovn: inv.ovn,
    ...(inv.defaults ? { defaults: withoutChassisFields(inv.defaults) } : {}),
    ...(inv.groups ? { groups: Object.fromEntries(Object.entries(inv.groups).map(([g, l]) => [g, withoutChassisFields(l)])) } : {}),
    hosts: Object.fromEntries(fleet.hosts.map((h) => [h.name, { address: h.address, ...hostAccess(inv.hosts[h.name]), ...read(h) }])),
    ...(inv.rollout ? { rollout: inv.rollout } : {}),
  };
}

/** MidoNet tunnel-zone members (host UUID → tunnel IP) and the file they came from. */
export interface TunnelZone {
  file: string;
  members: Record<string, string>;
}

/**
 * Reads each node's chassis fields: as its OVSDB holds them now, or, from a
 * MidoNet node, its MidoNet identity (host UUID as system-id, tunnel-zone IP
 * as encap IP) with the rest as the inventory resolves it.
 */
export interface Imported {
  fields: Record<string, unknown>;
  /** What the operator must know about this node's import (a MidoNet host missing from the tunnel zone). */
  warnings: string[];
}

export function importFleet(hosts: Host[], opts: RunOptions, from: { fromMidonet: boolean; tunnelZone?: TunnelZone }): Promise<NodeResult<Imported>[]> {
  const progress = new Progress('import', hosts.length, opts.log);
  return forEachNode(hosts, opts, progress, (v: Imported) => (v.warnings.length > 0 ? `read, with ${v.warnings.length} warning(s)` : 'read'), async (host, agent) => {
    if (from.fromMidonet) {
      const facts = await agent.facts();
      if (!facts.midonetHostId) throw new ControllerError('REFUSED', `${host.name}: no MidoNet host id on the node (/etc/midonet_host_id.properties or /etc/midolman/host_uuid.properties)`);
      const tz = from.tunnelZone;
      const warnings = tz && !(tz.members[facts.midonetHostId] ?? tz.members[facts.midonetHostId.toUpperCase()]) ? [`MidoNet host ${facts.midonetHostId} is not in ${tz.file}; the inventory's encap IP was kept`] : [];
      return { fields: fieldsFromMidonet(host, facts.midonetHostId, tz?.members ?? {}), warnings };
    }
    const fields = fieldsFromNode(await agent.show());
    if (!fields.systemId) throw new ControllerError('REFUSED', 'the node has no system-id: it is not a chassis yet, nothing to import');
    return { fields, warnings: [] };
  });
}
