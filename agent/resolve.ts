import net from 'node:net';
import type { ChassisConfig } from '../schemas/chassis.js';
import { AgentError } from './errors.js';
import type { NodeInterface } from './node.js';

type EncapIp = ChassisConfig['encap']['ip'];

const linkLocal = (a: string) => /^fe[89ab][0-9a-f]:/i.test(a);

/**
 * The one address an encap.ip given as an interface or a network stands for
 * on this node. Pure. None, or several, is refused with what the node has:
 * guessing would put the chassis on the wrong network.
 */
export function pickEncapIp(spec: Exclude<EncapIp, string | string[]>, interfaces: NodeInterface[]): string {
  if ('interface' in spec) {
    const iface = interfaces.find((i) => i.name === spec.interface);
    if (!iface) throw new AgentError('UNRESOLVED', `encap.ip: this node has no interface ${spec.interface} (it has ${interfaces.map((i) => i.name).join(', ') || 'none'})`);
    const usable = [...new Set(iface.addresses.map((a) => a.address).filter((a) => !linkLocal(a)))];
    if (usable.length === 0) throw new AgentError('UNRESOLVED', `encap.ip: interface ${spec.interface} has no address (link-local ones aside)`);
    if (usable.length > 1) throw new AgentError('UNRESOLVED', `encap.ip: interface ${spec.interface} has several addresses (${usable.join(', ')}); name the network instead, e.g. {cidr: ${usable[0]}/24}`);
    return usable[0] as string;
  }
  const [base, len] = spec.cidr.split('/') as [string, string];
  const family = net.isIP(base) === 4 ? 'ipv4' : 'ipv6';
  const network = new net.BlockList();
  network.addSubnet(base, Number(len), family);
  const all = [...new Set(interfaces.flatMap((i) => i.addresses.map((a) => a.address)))];
  const inside = all.filter((a) => net.isIP(a) === (family === 'ipv4' ? 4 : 6) && network.check(a, family));
  if (inside.length === 0) throw new AgentError('UNRESOLVED', `encap.ip: no address of this node is in ${spec.cidr} (it has ${all.join(', ') || 'none'})`);
  if (inside.length > 1) throw new AgentError('UNRESOLVED', `encap.ip: this node has several addresses in ${spec.cidr} (${inside.join(', ')}); name one, or a narrower network`);
  return inside[0] as string;
}

/** The config with its encap IP as this node resolves it, and what was found (none when the config names its IPs). */
export function resolveEncapIp(config: ChassisConfig, interfaces: () => Promise<NodeInterface[]>): Promise<{ config: ChassisConfig; resolvedEncapIp?: string[] }> {
  const spec = config.encap.ip;
  if (typeof spec === 'string' || Array.isArray(spec)) return Promise.resolve({ config });
  return interfaces().then((list) => {
    const ip = pickEncapIp(spec, list);
    return { config: { ...config, encap: { ...config.encap, ip } }, resolvedEncapIp: [ip] };
  });
}
