import { isIP } from 'node:net';
import type { Logger } from '../common/log.js';
import { namedIps } from '../schemas/keys.js';
import { ControllerError } from './errors.js';
import { precheck } from './fleet.js';
import type { AgentClient } from './transport/client.js';
import type { Facts } from '../schemas/rpc.js';
import { compareVersions } from '../schemas/keys.js';
import type { Host } from './inventory.js';
import type { PreflightParams, PreflightReport } from './transport/client.js';
import { type SouthboundView, cmsTokens } from './verify.js';

/**
 * What a Geneve tunnel adds to a tenant frame: the inner Ethernet header
 * (14), Geneve with OVN's one option (8 + 8), UDP (8) and the outer IP header
 * (20 for IPv4, 40 for IPv6).
 */
export function tunnelOverhead(family: 4 | 6): number {
  return 14 + 16 + 8 + (family === 4 ? 20 : 40);
}

/** ovn-installed, which workload verification waits for, came in OVN 20.06. */
export const MIN_OVN_VERSION = '20.06.0';
/**
 * Peers a node pings before it moves: enough to see its paths, and few
 * enough that a node of a thousand-node fleet starts a handful of pings, not
 * a thousand (and no peer is pinged by every node).
 */
export const MAX_PEERS = 8;

/** A tunnel endpoint of another chassis, and whether that chassis is a gateway. */
export interface Peer {
  ip: string;
  gateway: boolean;
}

/**
 * Pure: which peers a node checks. The gateways' first (up to half: a
 * gateway carries its north-south traffic), then others ordered by a hash
 * of the node's name and the peer's address, so each node takes its own
 * sample and across the fleet every path gets checked by some node.
 */
export function peersToCheck(self: string, peers: Peer[], max = MAX_PEERS): string[] {
  // Every node ranks every peer, so a fleet ranks N² of them: a cheap hash (FNV-1a of name, NUL, address), and only the few best kept.
  const seed = fnv1a(`${self}\0`);
  const best = (list: Peer[], k: number): { ip: string; rank: number }[] => {
    const kept: { ip: string; rank: number }[] = [];
    for (const p of list) {
      const rank = fnv1a(p.ip, seed);
      if (kept.length === k && rank >= (kept[k - 1] as { rank: number }).rank) continue;
      kept.push({ ip: p.ip, rank });
      kept.sort((a, b) => a.rank - b.rank);
      if (kept.length > k) kept.pop();
    }
    return kept;
  };
  const gateways = best(peers.filter((p) => p.gateway), Math.ceil(max / 2));
  const taken = new Set(gateways.map((g) => g.ip));
  return [...gateways, ...best(peers.filter((p) => !taken.has(p.ip)), max - gateways.length)].map((p) => p.ip);
}

/** FNV-1a (32 bits) of `text`, continuing from `from`: the same as hashing what gave `from` followed by `text`. */
function fnv1a(text: string, from = 0x811c9dc5): number {
  let h = from;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Pure: what the node is asked to check, from its encap IPs and the other chassis' tunnel endpoints in the Southbound. */
export function preflightParams(host: Host, encapIps: string[], peers: Peer[]): PreflightParams {
  const family = encapIps.some((ip) => isIP(ip) === 6) ? 6 : 4;
  // The ping payload that makes the outer packet exactly tenant MTU + tunnel overhead (less the ping's own IP + ICMP headers).
  const payload = host.preflight.tenantMtu + tunnelOverhead(family) - (family === 4 ? 28 : 48);
  const candidates = [...new Map(peers.filter((p) => !encapIps.includes(p.ip) && isIP(p.ip) === family).map((p) => [p.ip, p])).values()];
  return { encapIps, peers: peersToCheck(host.name, candidates), payload, novaConf: host.preflight.novaConf };
}

/** The other chassis' encap IPs, and how many gateways besides this one the Southbound has. */
export function southboundFacts(sb: SouthboundView, systemId: string): { peers: Peer[]; isGateway: boolean; otherGateways: string[] } {
  const peers: Peer[] = [];
  const otherGateways: string[] = [];
  let isGateway = false;
  const encaps = sb.encaps();
  for (const name of sb.chassisNames()) {
    const row = sb.chassisByName(name);
    if (!row) continue;
    const gw = cmsTokens(row).includes('enable-chassis-as-gw');
    if (name === systemId) {
      isGateway = gw;
      continue;
    }
    if (gw) otherGateways.push(name);
    for (const u of row.encaps as string[]) {
      const ip = encaps.get(u)?.ip;
      if (typeof ip === 'string') peers.push({ ip, gateway: gw });
    }
  }
  return { peers, isGateway, otherGateways };
}

/**
 * Pure: every reason this node must not be migrated now. Each names what to
 * fix; none means it may go on to its hooks.
 */
export function judgePreflight(host: Host, facts: Facts, p: PreflightParams, report: PreflightReport, gateways: { isGateway: boolean; otherGateways: string[] }): string[] {
  const problems: string[] = [];
  const need = p.payload + (p.encapIps.some((ip) => isIP(ip) === 6) ? 48 : 28);
  for (const m of report.mtus) {
    if (m.mtu === undefined) problems.push(`encap IP ${m.ip} is on no interface of the node, so its MTU cannot be checked`);
    else if (m.mtu < need) problems.push(`the underlay MTU under encap IP ${m.ip} (${m.iface}) is ${m.mtu}; tenant MTU ${host.preflight.tenantMtu} over Geneve needs ${need}`);
  }
  const unreachable = report.peers.filter((r) => !r.ok);
  if (unreachable.length > 0) problems.push(`tunnel endpoints not reached with ${need}-byte packets: ${unreachable.map((r) => `${r.ip} (${r.why})`).join(', ')}`);
  if (report.novaHost !== null) {
    const nova = report.novaHost || facts.hostname;
    if (nova !== host.chassis.hostname) {
      problems.push(`nova knows this node as ${nova} (${report.novaHost ? `host in ${p.novaConf}` : 'its hostname'}) but the chassis hostname is ${host.chassis.hostname}: neutron would bind its ports to no chassis`);
    }
  }
  if (!facts.ovnVersion) problems.push('ovn-controller --version gave no version: is OVN installed on the node?');
  else if (compareVersions(facts.ovnVersion, MIN_OVN_VERSION) < 0) problems.push(`OVN ${facts.ovnVersion} is older than ${MIN_OVN_VERSION}, which marks VIFs ovn-installed (how a VIF is proved moved)`);
  if (gateways.isGateway && gateways.otherGateways.length < host.preflight.minOtherGateways) {
    problems.push(`it is a gateway chassis now, and taking it would leave ${gateways.otherGateways.length} other gateway${gateways.otherGateways.length === 1 ? '' : 's'} (preflight.minOtherGateways is ${host.preflight.minOtherGateways})`);
  }
  return problems;
}

/**
 * A node's checks before its first hook: what `fleetProblems` found for it,
 * its agent and OVSDB answer, its config is valid for it, and (unless
 * preflight.enabled is false) the pre-flight above. Throws naming every reason; resolves with what passed.
 */
export async function checkNode(host: Host, agent: AgentClient, sb: SouthboundView, log: Logger, acrossFleet: string[] = []): Promise<string> {
  // What is wrong across the fleet stops the node before anything is asked of it.
  if (host.preflight.enabled && acrossFleet.length > 0) throw new ControllerError('PREFLIGHT_FAILED', `${host.name}: pre-flight: ${acrossFleet.join('; ')}`);
  const [facts, plan] = await Promise.all([agent.facts(), agent.diff(host.chassis)]);
  const warnings = precheck(host, facts);
  for (const w of warnings) log.warn({ host: host.name }, w);
  if (plan.refusals.length > 0) throw new ControllerError('REFUSED', `${host.name}: ${plan.refusals.join('; ')}`);
  const base = `agent and OVSDB reachable, config valid${warnings.length ? `, ${warnings.length} warnings` : ''}`;
  if (!host.preflight.enabled) return `${base}; pre-flight skipped (preflight.enabled is false)`;
  const encapIps = namedIps(host.chassis.encap.ip) ?? plan.resolvedEncapIp ?? [];
  const sbFacts = southboundFacts(sb, host.chassis.systemId);
  const params = preflightParams(host, encapIps, sbFacts.peers);
  const problems = judgePreflight(host, facts, params, await agent.preflight(params), sbFacts);
  if (problems.length > 0) throw new ControllerError('PREFLIGHT_FAILED', `${host.name}: pre-flight: ${problems.join('; ')}`);
  return `${base}; pre-flight passed (MTU for ${host.preflight.tenantMtu} + Geneve, ${params.peers.length} tunnel peers reached, OVN ${facts.ovnVersion})`;
}

/** Pure: what is wrong across the fleet, by host — two hosts that give the same chassis hostname (neutron could bind to either). */
export function fleetProblems(hosts: Host[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const byName = new Map<string, string[]>();
  for (const h of hosts) byName.set(h.chassis.hostname ?? h.name, [...(byName.get(h.chassis.hostname ?? h.name) ?? []), h.name]);
  for (const [name, hs] of byName) {
    if (hs.length < 2) continue;
    for (const h of hs) out.set(h, [...(out.get(h) ?? []), `its chassis hostname ${name} is also ${hs.filter((x) => x !== h).join(', ')}'s: neutron binds ports by host name`]);
  }
  return out;
}
