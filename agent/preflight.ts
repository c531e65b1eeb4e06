import { AgentError } from './errors.js';
import type { NodeAccess } from './node.js';

const TIMEOUT_MS = 10_000;
/** A nova.conf is a few KB; more is not one. */
const MAX_NOVA_CONF = 1024 * 1024;

export interface PreflightReport {
  /** The interface holding each encap IP, and its MTU (none: the node has no such address). */
  mtus: { ip: string; iface?: string; mtu?: number }[];
  /** Each peer's encap IP, pinged with DF set at the tunnel's full packet size. */
  peers: { ip: string; ok: boolean; why?: string }[];
  /** nova's host name from its config: null when the file is not there, "" when it sets none (nova then uses the hostname). */
  novaHost: string | null;
}

/**
 * What only the node can say before it is migrated: the MTU under its tunnel
 * endpoints, whether tunnel-sized packets reach the other chassis unfragmented
 * (ICMP with DF set: it proves the path and its MTU, not that a firewall lets
 * Geneve's UDP 6081 through), and the host name nova uses here.
 */
export async function preflight(node: NodeAccess, p: { encapIps: string[]; peers: string[]; payload: number; novaConf?: string | undefined }): Promise<PreflightReport> {
  const [mtus, peers, novaHost] = await Promise.all([mtusOf(node, p.encapIps), Promise.all(p.peers.map((ip) => reach(node, ip, p.payload))), novaHostOf(node, p.novaConf)]);
  return { mtus, peers, novaHost };
}

async function mtusOf(node: NodeAccess, ips: string[]): Promise<PreflightReport['mtus']> {
  const ifaces = await node.interfaces();
  return Promise.all(
    ips.map(async (ip) => {
      // Linux answers for all of 127.0.0.0/8 on lo, whichever of it lo lists.
      const iface = ifaces.find((i) => i.addresses.some((a) => a.address === ip))?.name ?? (ip.startsWith('127.') ? ifaces.find((i) => i.addresses.some((a) => a.address.startsWith('127.')))?.name : undefined);
      if (!iface) return { ip };
      const r = await node.run(['ip', '-o', 'link', 'show', 'dev', iface], TIMEOUT_MS);
      const mtu = /\bmtu (\d+)\b/.exec(r.stdout)?.[1];
      return { ip, iface, ...(mtu ? { mtu: Number(mtu) } : {}) };
    }),
  );
}

async function reach(node: NodeAccess, ip: string, payload: number): Promise<PreflightReport['peers'][number]> {
  // Two tries: the first may be spent on ARP. Exit 0 means a reply came.
  const r = await node.run(['ping', '-n', '-q', '-c', '2', '-i', '0.2', '-W', '1', '-M', 'do', '-s', String(payload), ip], TIMEOUT_MS);
  if (r.code === 0) return { ip, ok: true };
  const said = `${r.stdout}\n${r.stderr}`;
  if (/message too long|frag needed/i.test(said)) return { ip, ok: false, why: `a ${payload + 28}-byte packet does not fit the path (its MTU is smaller)` };
  if (r.code === null && !r.timedOut) throw new AgentError('BACKEND_FAILED', `cannot run ping on the node: ${r.stderr.trim().slice(0, 200)}`);
  return { ip, ok: false, why: `no reply to a ${payload + 28}-byte packet with DF set` };
}

/** nova.conf's [DEFAULT] host, as nova reads it (the last one wins). */
export function novaHostIn(text: string): string {
  let section = '';
  let host = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const s = /^\[([^\]]+)\]$/.exec(line);
    if (s) section = (s[1] as string).trim();
    else if (section === 'DEFAULT') {
      const m = /^host\s*[=:]\s*(.*)$/.exec(line);
      if (m) host = (m[1] as string).trim();
    }
  }
  return host;
}

async function novaHostOf(node: NodeAccess, path: string | undefined): Promise<string | null> {
  if (!path || !(await node.files.lstat(path))) return null;
  return novaHostIn(await node.files.read(path, MAX_NOVA_CONF));
}
