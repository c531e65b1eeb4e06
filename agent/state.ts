import type { BridgeSpec } from '../schemas/chassis.js';

/** What a backend reads of a node: the Open_vSwitch row's external_ids and the bridges with their ports. */
export interface NodeState {
  externalIds: Map<string, string>;
  bridges: Map<string, string[]>;
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
   * Writes `w` only if external_ids still equal `expected.externalIds`;
   * otherwise throws AgentError CONFLICT and writes nothing.
   */
  write(expected: NodeState, w: WriteSet): Promise<void>;
  /** The Open vSwitch version the backend's database or tools report, when known. */
  ovsVersion(): Promise<string | undefined>;
  close(): Promise<void>;
}

export function isEmptyWrite(w: WriteSet): boolean {
  return Object.keys(w.set).length === 0 && w.remove.length === 0 && w.bridges.length === 0 && w.ports.length === 0;
}
