import { cond, decodeRow, select, tableSchema } from '../ovsdb/index.js';
import type { ChassisConfig } from '../schemas/chassis.js';
import type { NodeVif, Vif } from '../schemas/vifs.js';
import type { VifStates } from './transport/client.js';
import { ControllerError } from './errors.js';
import type { Host } from './inventory.js';
import type { SouthboundView } from './verify.js';

/** Each host's VIFs from the binding list; a binding for a host the inventory does not know is refused. */
export function vifsByHost(bindings: Vif[], hosts: Host[], source: string): Map<string, NodeVif[]> {
  const known = new Set(hosts.map((h) => h.name));
  const unknown = [...new Set(bindings.filter((b) => !known.has(b.host)).map((b) => b.host))];
  if (unknown.length > 0) throw new ControllerError('INVALID_CONFIG', `${source}: binds ports to hosts the inventory does not have: ${unknown.join(', ')}`);
  const out = new Map<string, NodeVif[]>();
  for (const { host, ...vif } of bindings) out.set(host, [...(out.get(host) ?? []), vif]);
  return out;
}

/** The integration bridge the node's ovn-controller uses, where its VIFs go. */
export function integrationBridge(c: ChassisConfig): string {
  return c.integrationBridge ?? 'br-int';
}

/** What the Southbound says of one VIF's port. */
export interface BindingFacts {
  /** No Port_Binding: the Northbound has no logical switch port by that name (or northd has not made it). */
  known: boolean;
  /** The chassis it is bound to (its name), if any. */
  chassis?: string;
  /** Port_Binding.up, where the OVN version has it. */
  up?: boolean;
}

/**
 * Pure: why a VIF does not count as moved, or undefined when it does — bound
 * to this node's chassis in the Southbound, up where the version says so,
 * and installed by ovn-controller on the node.
 */
export function whyVifNotMoved(v: { plugged: boolean; installed: boolean; problem?: string | undefined }, sb: BindingFacts, chassis: string): string | undefined {
  if (v.problem) return v.problem;
  if (!v.plugged) return 'not plugged into the integration bridge';
  if (!sb.known) return 'its port is unknown to the Northbound (no Port_Binding in the Southbound)';
  if (sb.chassis === undefined) return 'not bound to any chassis yet';
  if (sb.chassis !== chassis) return `bound to chassis ${sb.chassis}, not this node's ${chassis}`;
  if (sb.up === false) return 'bound, but its Port_Binding is not up';
  if (!v.installed) return 'bound, but ovn-controller has not marked it ovn-installed';
  return undefined;
}

const first = (v: unknown): unknown => (Array.isArray(v) ? v[0] : v);

/** The Southbound's Port_Binding facts for these ports, in one transaction (a select per port, by its indexed name). */
async function bindingFacts(sb: SouthboundView, ports: string[]): Promise<Map<string, BindingFacts>> {
  const db = 'OVN_Southbound';
  const ts = tableSchema(await sb.client.getSchema(db), 'Port_Binding');
  // `up` came in OVN 21.03: an older Southbound is read without it.
  const columns = ['logical_port', 'chassis', ...('up' in ts.columns ? ['up'] : [])];
  const results = await sb.client.transact(db, ports.map((p) => select('Port_Binding', [cond('logical_port', '==', p)], columns)));
  const chassisName = new Map<string, string>();
  for (const name of sb.chassisNames()) {
    const row = sb.chassisByName(name);
    if (row) chassisName.set(row._uuid as string, name);
  }
  return new Map(ports.map((port, i): [string, BindingFacts] => {
    const raw = results[i]?.rows?.[0];
    if (!raw) return [port, { known: false }];
    const r = decodeRow(raw, ts);
    const ch = first(r.chassis) as string | undefined;
    const up = first(r.up) as boolean | undefined;
    return [port, { known: true, ...(ch ? { chassis: chassisName.get(ch) ?? ch } : {}), ...(typeof up === 'boolean' ? { up } : {}) }];
  }));
}

export interface WorkloadVerdict {
  port: string;
  vm: string;
  tap: string;
  /** Undefined: moved (bound here and installed). */
  problem?: string;
}

/**
 * Waits until every VIF of the node is bound to its chassis and installed, or
 * the time is up; each VIF's verdict, with why it did not come up.
 */
export async function awaitWorkloads(sb: SouthboundView, readStates: () => Promise<VifStates>, vifs: NodeVif[], chassis: string, timeoutMs: number): Promise<WorkloadVerdict[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [states, facts] = await Promise.all([readStates(), bindingFacts(sb, vifs.map((v) => v.port))]);
    const verdicts = vifs.map((v, i) => {
      const s = states.vifs[i];
      const why = s ? whyVifNotMoved(s, facts.get(v.port) ?? { known: false }, chassis) : 'the agent did not report it';
      return { port: v.port, vm: v.vm, tap: v.tap, ...(why ? { problem: why } : {}) };
    });
    if (verdicts.every((v) => !v.problem) || Date.now() >= deadline) return verdicts;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** One line per VIF that did not come up, for an error or the report. */
export function describeWorkloadProblems(verdicts: WorkloadVerdict[]): string {
  return verdicts.filter((v) => v.problem).map((v) => `port ${v.port} (VM ${v.vm}, ${v.tap}): ${v.problem}`).join('; ');
}
