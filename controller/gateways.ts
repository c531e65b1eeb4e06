import { OvsdbClient, type Operation, cond, decodeRow, select, tableSchema, update, uuid, wait } from '../ovsdb/index.js';
import { asList } from '../schemas/chassis.js';
import type { Inventory } from '../schemas/inventory.js';
import { ControllerError } from './errors.js';
import { type SouthboundView, southboundAccess } from './verify.js';

/**
 * Gateway drain: before a gateway node's hooks, its router ports' gateway
 * priorities in the Northbound (Gateway_Chassis, and HA_Chassis for HA
 * groups) go below every other gateway's, so the ports move away while it
 * changes; after it verifies they go back. What was moved is kept in the
 * journal, so a resume or a rollback puts back exactly that.
 */

export type GatewayTable = 'Gateway_Chassis' | 'HA_Chassis';

export interface GatewayEntry {
  table: GatewayTable;
  uuid: string;
  chassis: string;
  priority: number;
  /** What the entries compete for: a router port (Gateway_Chassis) or an HA group (HA_Chassis). */
  group: string;
}

export interface PriorityMove {
  table: GatewayTable;
  uuid: string;
  group: string;
  from: number;
  to: number;
}

/** Pure: each of this chassis' entries moved just below the lowest other entry of its group; groups it is alone in are named. */
export function drainMoves(entries: GatewayEntry[], chassis: string): { moves: PriorityMove[]; alone: string[] } {
  const moves: PriorityMove[] = [];
  const alone: string[] = [];
  for (const e of entries.filter((x) => x.chassis === chassis)) {
    const others = entries.filter((x) => x.table === e.table && x.group === e.group && x.chassis !== chassis);
    if (others.length === 0) {
      alone.push(e.group);
      continue;
    }
    const lowest = Math.min(...others.map((o) => o.priority));
    if (e.priority < lowest) continue;
    moves.push({ table: e.table, uuid: e.uuid, group: e.group, from: e.priority, to: Math.max(0, lowest - 1) });
  }
  return { moves, alone };
}

/** The journal's form of the moves: "TABLE:UUID:GROUP" → "FROM>TO". */
export function movesRecord(moves: PriorityMove[]): Record<string, string> {
  return Object.fromEntries(moves.map((m) => [`${m.table}:${m.uuid}:${m.group}`, `${m.from}>${m.to}`]));
}

export function movesFromRecord(r: Record<string, string>): PriorityMove[] {
  return Object.entries(r).flatMap(([k, v]) => {
    const [table, id, ...group] = k.split(':');
    const [from, to] = v.split('>').map(Number);
    if ((table !== 'Gateway_Chassis' && table !== 'HA_Chassis') || !id || !Number.isInteger(from) || !Number.isInteger(to)) return [];
    return [{ table, uuid: id, group: group.join(':'), from: from as number, to: to as number }];
  });
}

const NB = 'OVN_Northbound';

/** A Northbound connection for gateway moves: to the leader, as writes go. */
export async function connectNorthbound(inv: Inventory): Promise<OvsdbClient | undefined> {
  if (!inv.ovn.northbound) return undefined;
  const { tls } = southboundAccess(inv);
  try {
    return await OvsdbClient.connect({ endpoint: asList(inv.ovn.northbound).join(','), database: NB, leaderOnly: true, reconnect: true, ...(tls ? { tls } : {}) });
  } catch (err) {
    throw new ControllerError('UNREACHABLE', `cannot reach the Northbound DB (${asList(inv.ovn.northbound).join(',')}) to move gateway ports: ${(err as Error).message}`);
  }
}

/** Every gateway entry of the Northbound, with the router port or HA group it belongs to. */
export async function readGateways(nb: OvsdbClient): Promise<GatewayEntry[]> {
  const schema = await nb.getSchema(NB);
  const ts = (t: string) => tableSchema(schema, t);
  const [gcs, lrps, has, groups] = await nb.transact(NB, [
    select('Gateway_Chassis', [], ['_uuid', 'chassis_name', 'priority']),
    select('Logical_Router_Port', [], ['_uuid', 'name', 'gateway_chassis']),
    select('HA_Chassis', [], ['_uuid', 'chassis_name', 'priority']),
    select('HA_Chassis_Group', [], ['_uuid', 'name', 'ha_chassis']),
  ]);
  const rows = (r: typeof gcs, t: string) => (r?.rows ?? []).map((x) => decodeRow(x, ts(t)));
  const owner = new Map<string, string>();
  for (const p of rows(lrps, 'Logical_Router_Port')) for (const u of p.gateway_chassis as string[]) owner.set(u, p.name as string);
  for (const g of rows(groups, 'HA_Chassis_Group')) for (const u of g.ha_chassis as string[]) owner.set(u, g.name as string);
  const entries = (r: typeof gcs, table: GatewayTable): GatewayEntry[] =>
    rows(r, table).map((x) => ({ table, uuid: x._uuid as string, chassis: x.chassis_name as string, priority: Number(x.priority), group: owner.get(x._uuid as string) ?? '' }));
  return [...entries(gcs, 'Gateway_Chassis'), ...entries(has, 'HA_Chassis')];
}

/**
 * Sets each entry's priority from `from` to `to` (or back), in one
 * transaction that holds only while every entry still has the value we
 * expect: an operator's change meanwhile is never overwritten.
 */
export async function setPriorities(nb: OvsdbClient, moves: PriorityMove[], direction: 'drain' | 'restore'): Promise<void> {
  if (moves.length === 0) return;
  const ops: Operation[] = [];
  for (const m of moves) {
    const [expect, value] = direction === 'drain' ? [m.from, m.to] : [m.to, m.from];
    const where = [cond('_uuid', '==', uuid(m.uuid))];
    ops.push(wait(m.table, where, ['priority'], '==', [{ priority: expect }], 0));
    ops.push(update(m.table, where, { priority: value }));
  }
  try {
    await nb.transact(NB, ops);
  } catch (err) {
    throw new ControllerError('DRAIN_FAILED', `could not ${direction === 'drain' ? 'lower' : 'restore'} the gateway priorities (${moves.map((m) => m.group).join(', ')}): ${(err as Error).message}; someone may have changed them meanwhile`);
  }
}

/** Waits until no router port this chassis drained is still active on it (its chassisredirect Port_Binding moved). */
export async function awaitMovedAway(sb: SouthboundView, chassis: string, moves: PriorityMove[], timeoutMs: number): Promise<string[]> {
  const ports = [...new Set(moves.filter((m) => m.table === 'Gateway_Chassis').map((m) => `cr-${m.group}`))];
  if (ports.length === 0) return [];
  const ours = sb.chassisByName(chassis)?._uuid;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const results = await sb.client.transact('OVN_Southbound', ports.map((p) => select('Port_Binding', [cond('logical_port', '==', p)], ['chassis'])));
    const still = ports.filter((_, i) => {
      const ch = results[i]?.rows?.[0]?.chassis;
      return Array.isArray(ch) && ch[0] === 'uuid' && ch[1] === ours;
    });
    if (still.length === 0 || Date.now() >= deadline) return still;
    await new Promise((r) => setTimeout(r, 100));
  }
}
