import { MANAGER_SETTING, OTHER_CONFIG_SETTING } from '../schemas/keys.js';
import type { BridgeSpec } from '../schemas/chassis.js';
import type { NodeAccess } from './node.js';
import { MANAGER_PRESENT, SSL_KEY, type SslState, encodeSsl } from './keys.js';

/** A Manager row the Open_vSwitch row references (ovs-vsctl set-manager): its uuid, so a write can name it. */
export interface ManagerRow {
  uuid: string;
  target: string;
}

/**
 * What a backend reads of a node: the Open_vSwitch row's external_ids and
 * other_config, its SSL row and Manager rows, and the bridges with their ports.
 */
export interface NodeState {
  externalIds: Map<string, string>;
  otherConfig?: Map<string, string>;
  ssl: SslState | undefined;
  managers?: ManagerRow[];
  bridges: Map<string, string[]>;
  /** Each bridge's datapath type and fail mode ("" when unset), where the backend reads them. */
  bridgeModes?: Map<string, { datapathType: string; failMode: string }>;
}

/**
 * Every setting the agent may own, by name: the external_ids; other_config
 * keys as `@other_config:KEY`; the SSL row as `@SSL`; each Manager target as
 * `@Manager:TARGET`. Names of ours never start with "@" in external_ids, so
 * these cannot collide with a key.
 */
export function settingsOf(state: NodeState): Map<string, string> {
  const out = new Map([...state.externalIds].filter(([k]) => !k.startsWith('@')));
  for (const [k, v] of state.otherConfig ?? []) out.set(`${OTHER_CONFIG_SETTING}${k}`, v);
  if (state.ssl) out.set(SSL_KEY, encodeSsl(state.ssl));
  for (const m of state.managers ?? []) out.set(`${MANAGER_SETTING}${m.target}`, MANAGER_PRESENT);
  return out;
}

/** A change to make, guarded by the state it was computed from. */
export interface WriteSet {
  set: Record<string, string>;
  remove: string[];
  bridges: BridgeSpec[];
  ports: { bridge: string; port: string }[];
}

/** A port of a bridge with its Interface's external_ids: what VIF re-plug reads and writes. */
export interface PortRow {
  name: string;
  uuid: string;
  externalIds: Map<string, string>;
}

/** What VIF re-plug asks of a backend, in one transaction: ports to add (none may exist yet) and ports to remove (each still as read). */
export interface PortWrite {
  add: { name: string; externalIds: Record<string, string> }[];
  remove: PortRow[];
}

export interface Backend {
  /** e.g. "ovsdb unix:/var/run/openvswitch/db.sock" or "docker openvswitch_vswitchd". */
  readonly description: string;
  read(): Promise<NodeState>;
  /**
   * Writes `w` (whose `@SSL` entry is the SSL row) only if external_ids and
   * the SSL row are still as in `expected`; otherwise throws AgentError
   * CONFLICT and writes nothing.
   */
  write(expected: NodeState, w: WriteSet): Promise<void>;
  /** The ports of `bridge` (undefined: no such bridge). Only where the backend can plug VIFs. */
  ports?(bridge: string): Promise<PortRow[] | undefined>;
  /** Changes `bridge`'s ports as `w` says, or throws AgentError CONFLICT and changes nothing. */
  writePorts?(bridge: string, w: PortWrite): Promise<void>;
  /** The whole database as `ovsdb-client backup` writes it, run where the backend reaches the node (`node`, or inside its container). */
  backup(node: NodeAccess): Promise<{ code: number | null; stdout: string; stderr: string }>;
  /** The Open vSwitch version the backend's database or tools report, when known. */
  ovsVersion(): Promise<string | undefined>;
  /**
   * Tells `on` whenever the node may have changed (a monitor where the
   * backend has one, else polling), and when the node is lost or back.
   * Resolves with a function that stops watching.
   */
  watch(on: (event: WatchEvent) => void): Promise<() => void>;
  close(): Promise<void>;
}

export type WatchEvent = { kind: 'change' } | { kind: 'reconnected' } | { kind: 'lost'; why: string };

export function isEmptyWrite(w: WriteSet): boolean {
  return Object.keys(w.set).length === 0 && w.remove.length === 0 && w.bridges.length === 0 && w.ports.length === 0;
}

export interface SplitWrite {
  /** external_ids to set and to remove. */
  set: Record<string, string>;
  remove: string[];
  otherConfig: { set: Record<string, string>; remove: string[] };
  /** The SSL row (undefined: leave it; null: remove it). */
  ssl: string | null | undefined;
  managers: { add: string[]; remove: string[] };
}

/** A write split by where each setting lives: external_ids, other_config, the SSL row, Manager rows. */
export function splitWrite(w: WriteSet): SplitWrite {
  const out: SplitWrite = { set: {}, remove: [], otherConfig: { set: {}, remove: [] }, ssl: undefined, managers: { add: [], remove: [] } };
  for (const [k, v] of Object.entries(w.set)) {
    if (k === SSL_KEY) out.ssl = v;
    else if (k.startsWith(OTHER_CONFIG_SETTING)) out.otherConfig.set[k.slice(OTHER_CONFIG_SETTING.length)] = v;
    else if (k.startsWith(MANAGER_SETTING)) out.managers.add.push(k.slice(MANAGER_SETTING.length));
    else out.set[k] = v;
  }
  for (const k of w.remove) {
    if (k === SSL_KEY) out.ssl = null;
    else if (k.startsWith(OTHER_CONFIG_SETTING)) out.otherConfig.remove.push(k.slice(OTHER_CONFIG_SETTING.length));
    else if (k.startsWith(MANAGER_SETTING)) out.managers.remove.push(k.slice(MANAGER_SETTING.length));
    else out.remove.push(k);
  }
  return out;
}
