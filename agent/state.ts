import type { BridgeSpec } from '../schemas/chassis.js';
import { SSL_KEY, type SslState, encodeSsl } from './keys.js';

/** What a backend reads of a node: the Open_vSwitch row's external_ids, its SSL row, and the bridges with their ports. */
export interface NodeState {
  externalIds: Map<string, string>;
  ssl: SslState | undefined;
  bridges: Map<string, string[]>;
}

/** Every setting the agent may own, by name: the external_ids, and the SSL row as `@SSL`. */
export function settingsOf(state: NodeState): Map<string, string> {
  const out = new Map(state.externalIds);
  out.delete(SSL_KEY);
  if (state.ssl) out.set(SSL_KEY, encodeSsl(state.ssl));
  return out;
}

/** A change to make, guarded by the state it was computed from. */
export interface WriteSet {
  set: Record<string, string>;
  remove: string[];
  bridges: BridgeSpec[];
  ports: { bridge: string; port: string }[];
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

/** A write split into its external_ids part and its SSL row part (undefined: leave the row; null: remove it). */
export function splitWrite(w: WriteSet): { set: Record<string, string>; remove: string[]; ssl: string | null | undefined } {
  const { [SSL_KEY]: ssl, ...set } = w.set;
  const removeSsl = w.remove.includes(SSL_KEY);
  return { set, remove: w.remove.filter((k) => k !== SSL_KEY), ssl: ssl ?? (removeSsl ? null : undefined) };
}
