import { byCodeUnit } from '../common/text.js';
import type { BridgeSpec } from '../schemas/chassis.js';
import { mergeCms } from './cms.js';
import { KEY_ROWS, versionProblem } from '../schemas/keys.js';
import { CMS_OPTIONS, MANAGED_CMS, MANAGED_KEYS, SYSTEM_ID, sameValue, splitList } from './keys.js';
import type { Desired } from './render.js';
import { type NodeState, type WriteSet, settingsOf } from './state.js';

export interface KeyChange {
  key: string;
  action: 'add' | 'change' | 'remove';
  from?: string;
  to?: string;
}

export interface Plan {
  /** Changes an operator cares about, in key order. */
  changes: KeyChange[];
  /** Bridges to create, and uplink ports to add to bridges that exist. */
  bridges: BridgeSpec[];
  ports: { bridge: string; port: string }[];
  warnings: string[];
  /** Keys and cms tokens that already hold the desired value and become owned (only the ownership record is written). */
  adopted: string[];
  /** Why this plan must not be applied as it is (e.g. a system-id change not allowed). */
  refusals: string[];
  /** Everything to write, the ownership record included. */
  write: WriteSet;
  /** The encap IPs the node found, when the config named an interface or a network. */
  resolvedEncapIp?: string[];
}

export interface DiffOptions {
  allowSystemIdChange?: boolean;
  /** The node's OVN version (ovn-controller --version), when known: keys it ignores or does not know yet are warned of. */
  ovnVersion?: string;
}

/**
 * current → desired, touching only what the agent owns: keys it manages
 * (recorded in the node's own OVSDB) and its own tokens inside
 * ovn-cms-options. Keys written by anyone else are never in the plan.
 */
export function diff(state: NodeState, desired: Desired, opts: DiffOptions = {}): Plan {
  const cur = settingsOf(state);
  const target = new Map<string, string | undefined>();
  const warnings: string[] = [];
  const refusals: string[] = [];

  for (const [k, v] of Object.entries(desired.keys)) target.set(k, v);
  for (const k of splitList(cur.get(MANAGED_KEYS))) if (!target.has(k)) target.set(k, undefined);

  const cms = mergeCms(cur.get(CMS_OPTIONS), splitList(cur.get(MANAGED_CMS)), desired.cmsTokens);
  target.set(CMS_OPTIONS, cms.value);
  warnings.push(...cms.warnings);

  const oldId = cur.get(SYSTEM_ID);
  if (oldId !== undefined && oldId !== desired.systemId) {
    const why = `system-id would change from ${oldId} to ${desired.systemId}: a new id makes a new chassis and strands the old one`;
    if (opts.allowSystemIdChange) warnings.push(`${why} (allowed by --allow-system-id-change)`);
    else refusals.push(`${why}; refused without --allow-system-id-change`);
  }

  for (const k of Object.keys(desired.keys)) {
    const shadow = `${k}-${desired.systemId}`;
    if (k !== SYSTEM_ID && cur.has(shadow)) {
      warnings.push(`external_ids:${shadow}="${cur.get(shadow)}" overrides ${k} on this chassis, so the desired value will not take effect`);
    }
    const row = KEY_ROWS.get(k);
    const problem = row && versionProblem(row, opts.ovnVersion);
    if (problem) warnings.push(`${k} ${problem}; it is written anyway`);
  }

  const changes: KeyChange[] = [];
  for (const [key, to] of [...target].sort(([a], [b]) => byCodeUnit(a, b))) {
    const from = cur.get(key);
    if (to === undefined && from !== undefined) changes.push({ key, action: 'remove', from });
    else if (to !== undefined && from === undefined) changes.push({ key, action: 'add', to });
    else if (to !== undefined && !sameValue(key, from, to)) changes.push({ key, action: 'change', from, to });
  }
  const ownedKeys = new Set(splitList(cur.get(MANAGED_KEYS)));
  const ownedCms = new Set(splitList(cur.get(MANAGED_CMS)));
  const curCms = splitList(cur.get(CMS_OPTIONS));
  const adopted = [
    ...Object.keys(desired.keys).filter((k) => !ownedKeys.has(k) && cur.has(k) && sameValue(k, cur.get(k), desired.keys[k])),
    ...desired.cmsTokens.filter((t) => !ownedCms.has(t) && curCms.includes(t)).map((t) => `${CMS_OPTIONS} token ${t}`),
  ].sort();

  const bridges: BridgeSpec[] = [];
  const ports: { bridge: string; port: string }[] = [];
  const portOwner = new Map<string, string>();
  for (const [br, ps] of state.bridges) for (const p of ps) portOwner.set(p, br);
  for (const b of desired.bridges) {
    const owner = b.uplink ? portOwner.get(b.uplink) : undefined;
    if (b.uplink && owner !== undefined && owner !== b.name) {
      refusals.push(`uplink port ${b.uplink} for bridge ${b.name} is already on bridge ${owner}`);
      continue;
    }
    const have = state.bridgeModes?.get(b.name);
    for (const [attr, want, got] of [['datapath_type', b.datapathType, have?.datapathType], ['fail_mode', b.failMode, have?.failMode]] as const) {
      // Changing either under a live bridge drops its flows or its traffic: said, never done.
      // Unset means OVS's default: the kernel datapath, and standalone with no controller.
      if (want !== undefined && got !== undefined && want !== (got || (attr === 'datapath_type' ? 'system' : 'standalone'))) {
        warnings.push(`bridge ${b.name} exists with ${attr} ${got || 'unset'}, not ${want}; an existing bridge is left as it is (change it in a maintenance window)`);
      }
    }
    if (!state.bridges.has(b.name)) bridges.push(b);
    else if (b.uplink && owner === undefined) ports.push({ bridge: b.name, port: b.uplink });
  }

  const record = (key: string, names: string[]): KeyChange | undefined => {
    const to = names.length > 0 ? [...names].sort().join(',') : undefined;
    const from = cur.get(key);
    if (to === from) return undefined;
    if (to === undefined) return { key, action: 'remove', from };
    return from === undefined ? { key, action: 'add', to } : { key, action: 'change', from, to };
  };
  const bookkeeping = [record(MANAGED_KEYS, Object.keys(desired.keys)), record(MANAGED_CMS, desired.cmsTokens)];
  const all = [...changes, ...bookkeeping.filter((c): c is KeyChange => c !== undefined)];
  // The record alone changing (e.g. adopting keys that already hold the desired values) is still a write.
  const write: WriteSet = {
    set: Object.fromEntries(all.filter((c) => c.action !== 'remove').map((c) => [c.key, c.to as string])),
    remove: all.filter((c) => c.action === 'remove').map((c) => c.key),
    bridges,
    ports,
  };
  return { changes, bridges, ports, warnings, adopted, refusals, write };
}

export function hasChanges(plan: Plan): boolean {
  return plan.changes.length > 0 || plan.bridges.length > 0 || plan.ports.length > 0;
}
