import { asList } from '../schemas/chassis.js';
import { KEY_TABLE, fieldValue, namedIps, versionProblem } from '../schemas/keys.js';
import type { Fleet, Host } from './inventory.js';

export interface Finding {
  level: 'error' | 'warning';
  check: string;
  message: string;
  hosts: string[];
}


function duplicates(hosts: Host[], key: (h: Host) => string[]): Map<string, string[]> {
  const seen = new Map<string, string[]>();
  for (const h of hosts) for (const k of key(h)) seen.set(k, [...(seen.get(k) ?? []), h.name]);
  return new Map([...seen].filter(([, names]) => names.length > 1));
}

/**
 * Fleet-wide checks no single node can make: the mistakes that made chassis
 * flap, gateways go unscheduled or ports refuse to bind in clouds before.
 * (Per-field checks — bridge names of at most 15 bytes, endpoints that parse —
 * already ran when the inventory was loaded.)
 */
export function validateFleet(fleet: Fleet): Finding[] {
  const { hosts } = fleet;
  const out: Finding[] = [];
  for (const [id, names] of duplicates(hosts, (h) => [h.chassis.systemId])) {
    out.push({ level: 'error', check: 'duplicate-system-id', message: `system-id ${id} is used by ${names.join(', ')}: the chassis would flap between them`, hosts: names });
  }
  for (const [ip, names] of duplicates(hosts, (h) => namedIps(h.chassis.encap.ip) ?? [])) {
    out.push({ level: 'error', check: 'duplicate-encap-ip', message: `encap IP ${ip} is used by ${names.join(', ')}: ovn-controller refuses a duplicate encap and one chassis would not register`, hosts: names });
  }
  for (const [mac, names] of duplicates(hosts, (h) => Object.entries(h.chassis.chassisMacMappings ?? {}).map(([p, m]) => `${p} ${m.toLowerCase()}`))) {
    out.push({ level: 'error', check: 'duplicate-chassis-mac', message: `chassis MAC ${mac.split(' ')[1]} on physnet ${mac.split(' ')[0]} is used by ${names.join(', ')}: their DVR traffic would be mistaken for each other's`, hosts: names });
  }
  for (const [hn, names] of duplicates(hosts, (h) => [h.chassis.hostname ?? h.name])) {
    out.push({ level: 'error', check: 'duplicate-hostname', message: `hostname ${hn} is used by ${names.join(', ')}: neutron binds ports by hostname`, hosts: names });
  }
  const gateways = hosts.filter((h) => h.chassis.gateway);
  const noMappings = gateways.filter((h) => Object.keys(h.chassis.bridgeMappings ?? {}).length === 0);
  if (noMappings.length > 0) {
    out.push({ level: 'error', check: 'gateway-without-mappings', message: `gateway chassis without bridge mappings cannot host router gateways: ${noMappings.map((h) => h.name).join(', ')}`, hosts: noMappings.map((h) => h.name) });
  }
  const physnets = new Set(gateways.flatMap((h) => Object.keys(h.chassis.bridgeMappings ?? {})));
  for (const p of physnets) {
    const missing = gateways.filter((h) => !(p in (h.chassis.bridgeMappings ?? {})));
    if (missing.length > 0) {
      out.push({ level: 'warning', check: 'physnet-not-on-all-gateways', message: `physnet ${p} is mapped on some gateways but not on ${missing.map((h) => h.name).join(', ')}: routers on ${p} cannot fail over to them`, hosts: missing.map((h) => h.name) });
    }
  }
  const types = new Map<string, string[]>();
  for (const h of hosts) {
    const t = asList(h.chassis.encap.type).join(',');
    types.set(t, [...(types.get(t) ?? []), h.name]);
  }
  if (types.size > 1) {
    out.push({ level: 'warning', check: 'mixed-encap-types', message: `the fleet mixes encap types (${[...types].map(([t, n]) => `${t}: ${n.length} hosts`).join('; ')}): tunnels form only between chassis sharing a type`, hosts: [...types.values()].flat() });
  }
  // The node's OVN version is not known here: what every version ignores or no longer reads is said now, the rest by the node's agent.
  for (const h of hosts) {
    for (const r of KEY_TABLE) {
      const problem = fieldValue(h.chassis, r.path) === undefined ? undefined : versionProblem(r, undefined);
      if (problem) out.push({ level: 'warning', check: 'ignored-key', message: `${h.name}: ${r.path} (${r.key}) ${problem}`, hosts: [h.name] });
    }
  }
  return out;
}
