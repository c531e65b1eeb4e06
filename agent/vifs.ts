import { z } from 'zod';
import { IFACE_ID, type NodeVif, OVN_INSTALLED, PLUGGED_FROM, vifExternalIds } from '../schemas/vifs.js';
import { AgentError } from './errors.js';
import type { NodeAccess } from './node.js';
import type { Backend, PortRow, PortWrite } from './state.js';

/**
 * VIF re-plug: moving each VM's tap from the old datapath (a Linux bridge, or
 * none once a hook has unbound it from MidoNet's) onto the integration
 * bridge, with the Interface external_ids os-vif writes. What this tool
 * plugged carries a mark with where the tap was, in the node's own OVSDB, so
 * an unplug removes exactly that and puts each tap back.
 */

const TIMEOUT_MS = 10_000;

/** What `ip -j link show dev TAP` says of a tap that we use: its master, if any. Nothing else of the node's answer is read. */
const linkSchema = z.array(z.object({ ifname: z.string(), master: z.string().optional() })).length(1);

/** Where a tap is: undefined when the node has no such device. */
async function tapMaster(node: NodeAccess, tap: string): Promise<{ master: string } | undefined> {
  const r = await node.run(['ip', '-j', 'link', 'show', 'dev', tap], TIMEOUT_MS);
  if (r.code !== 0) {
    if (/does not exist|Cannot find device/.test(r.stderr)) return undefined;
    throw new AgentError('BACKEND_FAILED', `ip link show dev ${tap} failed: ${r.stderr.trim().slice(0, 300) || `exit ${r.code}`}`);
  }
  let parsed;
  try {
    parsed = linkSchema.safeParse(JSON.parse(r.stdout));
  } catch {
    parsed = undefined;
  }
  if (!parsed?.success) throw new AgentError('BACKEND_FAILED', `ip -j link show dev ${tap} gave an answer this agent cannot read`);
  return { master: parsed.data[0]?.master ?? '' };
}

async function setMaster(node: NodeAccess, tap: string, master: string): Promise<void> {
  const argv = master === '' ? ['ip', 'link', 'set', 'dev', tap, 'nomaster'] : ['ip', 'link', 'set', 'dev', tap, 'master', master];
  const r = await node.run(argv, TIMEOUT_MS);
  if (r.code !== 0) throw new AgentError('BACKEND_FAILED', `${argv.join(' ')} failed: ${r.stderr.trim().slice(0, 300) || `exit ${r.code}`}`);
}

function portsOf(backend: Backend): { ports: NonNullable<Backend['ports']>; writePorts: NonNullable<Backend['writePorts']> } {
  if (!backend.ports || !backend.writePorts) {
    throw new AgentError('INVALID_CONFIG', `VIF re-plug needs the ovsdb backend (the node's OVSDB socket); ${backend.description} cannot plug ports with their Interface ids`);
  }
  return { ports: backend.ports.bind(backend), writePorts: backend.writePorts.bind(backend) };
}

async function bridgePorts(backend: Backend, bridge: string): Promise<PortRow[]> {
  const ports = await portsOf(backend).ports(bridge);
  if (!ports) throw new AgentError('NO_BRIDGE', `bridge ${bridge} does not exist on this node yet (ovn-controller makes it once the chassis is configured)`);
  return ports;
}

export interface VifState {
  port: string;
  tap: string;
  /** On the bridge with this port's iface-id. */
  plugged: boolean;
  /** Plugged by this tool (it carries our mark). */
  ours: boolean;
  /** ovn-controller has installed its flows (Interface external_ids:ovn-installed). */
  installed: boolean;
  /** Why it cannot be plugged, or is plugged wrongly. */
  problem?: string;
}

/** Each listed VIF as the node has it: on the bridge or not, installed or not. */
export async function vifStates(backend: Backend, node: NodeAccess, bridge: string, vifs: NodeVif[]): Promise<VifState[]> {
  return (await inspect(backend, node, bridge, vifs)).map((x) => x.state);
}

/** Each VIF's state and, for a tap not yet plugged, the bridge it is on now ("" for none): one look per tap. */
async function inspect(backend: Backend, node: NodeAccess, bridge: string, vifs: NodeVif[]): Promise<{ state: VifState; master?: string }[]> {
  const ports = new Map((await bridgePorts(backend, bridge)).map((p) => [p.name, p]));
  const otherBridges = await portBridges(backend, bridge);
  return Promise.all(
    vifs.map(async (v) => {
      const p = ports.get(v.tap);
      const id = p?.externalIds.get(IFACE_ID);
      const base = { port: v.port, tap: v.tap, plugged: false, ours: false, installed: false };
      if (p && id !== undefined && id.toLowerCase() !== v.port.toLowerCase()) return { state: { ...base, problem: `tap ${v.tap} is on ${bridge} for another port (iface-id ${id})` } };
      if (p) return { state: { ...base, plugged: true, ours: p.externalIds.has(PLUGGED_FROM), installed: p.externalIds.get(OVN_INSTALLED) === 'true' } };
      const elsewhere = otherBridges.get(v.tap);
      if (elsewhere) return { state: { ...base, problem: `tap ${v.tap} is a port of bridge ${elsewhere}` } };
      const link = await tapMaster(node, v.tap);
      if (!link) return { state: { ...base, problem: `tap ${v.tap} does not exist on this node (is the VM running here?)` } };
      return { state: base, master: link.master };
    }),
  );
}

/** Port name → bridge, for every bridge but `except`. */
async function portBridges(backend: Backend, except: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const [br, ports] of (await backend.read()).bridges) if (br !== except) for (const p of ports) out.set(p, br);
  return out;
}

export interface PlugResult {
  plugged: { port: string; tap: string; from: string }[];
  already: string[];
}

/**
 * Plugs every listed VIF not yet on the bridge, in one OVSDB transaction,
 * after taking each tap off its old bridge. Nothing is done when any VIF
 * cannot be plugged; a failed write puts the taps back where they were.
 */
export async function plugVifs(backend: Backend, node: NodeAccess, bridge: string, vifs: NodeVif[]): Promise<PlugResult> {
  const found = await inspect(backend, node, bridge, vifs);
  const states = found.map((x) => x.state);
  const problems = states.filter((s) => s.problem).map((s) => `${s.port}: ${s.problem}`);
  if (problems.length > 0) throw new AgentError('REFUSED', `VIFs not plugged, none of them: ${problems.join('; ')}`);
  const todo = vifs.filter((_, i) => !states[i]?.plugged);
  const from = found.filter((x) => !x.state.plugged).map((x) => x.master ?? '');
  const moved: { tap: string; master: string }[] = [];
  try {
    for (const [i, v] of todo.entries()) {
      const master = from[i] as string;
      if (master === '') continue;
      await setMaster(node, v.tap, '');
      moved.push({ tap: v.tap, master });
    }
    const w: PortWrite = { add: todo.map((v, i) => ({ name: v.tap, externalIds: vifExternalIds(v, from[i] as string) })), remove: [] };
    if (w.add.length > 0) await portsOf(backend).writePorts(bridge, w);
  } catch (err) {
    // Not plugged (or not known to be): each tap goes back where it was, so its VM keeps the old path.
    if (!(err instanceof AgentError && err.code === 'OUTCOME_UNKNOWN')) for (const m of moved) await setMaster(node, m.tap, m.master).catch(() => undefined);
    throw err;
  }
  return { plugged: todo.map((v, i) => ({ port: v.port, tap: v.tap, from: from[i] as string })), already: states.filter((s) => s.plugged).map((s) => s.port) };
}

export interface UnplugResult {
  unplugged: { port: string; tap: string; to: string }[];
  warnings: string[];
}

/**
 * Removes the ports this tool plugged on the bridge (only the listed ones
 * when `only` is given), then puts each tap back on the bridge it came from.
 * Ports plugged by anyone else are never touched.
 */
export async function unplugVifs(backend: Backend, node: NodeAccess, bridge: string, only?: string[]): Promise<UnplugResult> {
  // Nothing can have been plugged through a backend that cannot plug.
  if (!backend.ports) return { unplugged: [], warnings: [] };
  const ports = await portsOf(backend).ports(bridge);
  const wanted = only && new Set(only.map((p) => p.toLowerCase()));
  const ours = (ports ?? []).filter((p) => p.externalIds.has(PLUGGED_FROM) && (!wanted || wanted.has((p.externalIds.get(IFACE_ID) ?? '').toLowerCase())));
  if (ours.length > 0) await portsOf(backend).writePorts(bridge, { add: [], remove: ours });
  const warnings: string[] = [];
  const unplugged = [];
  for (const p of ours) {
    const to = p.externalIds.get(PLUGGED_FROM) ?? '';
    if (to !== '') {
      try {
        await setMaster(node, p.name, to);
      } catch (err) {
        warnings.push(`${p.name} was unplugged but could not be put back on ${to}: ${(err as Error).message}`);
      }
    }
    unplugged.push({ port: p.externalIds.get(IFACE_ID) ?? '', tap: p.name, to });
  }
  return { unplugged, warnings };
}
