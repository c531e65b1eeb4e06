import { userInfo, hostname } from 'node:os';
import { type Monitor, type Operation, OvsdbClient, OvsdbOperationError, type Row, type RowChange, type WireRow, cond, insert, update, wait } from '../ovsdb/index.js';
import { type ChassisConfig, asList } from '../schemas/chassis.js';
import { CONFIG_DB, type StatusRow, statusRowSchema } from '../schemas/config-db.js';
import type { Inventory } from '../schemas/inventory.js';
import { formatIssue } from '../schemas/load.js';
import type { Logger } from '../common/log.js';
import { ControllerError } from './errors.js';
import { southboundAccess } from './verify.js';

/**
 * The controller's side of pull mode (docs/pull.md): what it writes in the
 * config database (each host's desired row, with a generation) and what it
 * reads there (each host's status row, an agent's word and no more).
 */

/** Connects to the inventory's config database the cluster-aware way: never a member cut off from its cluster, never older data than seen. */
export async function connectConfigDb(inv: Inventory, log: Logger): Promise<OvsdbClient> {
  if (!inv.configDb) throw new ControllerError('INVALID_CONFIG', 'the inventory names no configDb: pull mode needs the config database\'s members (configDb: [tcp:HOST:PORT, ...]; docs/pull.md)');
  const endpoint = asList(inv.configDb).join(',');
  const { tls } = southboundAccess(inv);
  try {
    return await OvsdbClient.connect({ endpoint, database: CONFIG_DB, reconnect: true, logger: log, ...(tls ? { tls } : {}) });
  } catch (err) {
    throw new ControllerError('UNREACHABLE', `cannot reach the config database (${endpoint}): ${(err as Error).message}; nothing was changed`);
  }
}

/** A config as the desired row holds it: JSON with its keys in one order, so the same config is the same text whoever publishes it. */
export function configText(config: ChassisConfig): string {
  const sorted = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sorted);
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sorted((v as Record<string, unknown>)[k])]));
    return v;
  };
  return JSON.stringify(sorted(config));
}

export interface PublishStep {
  host: string;
  generation: number;
  /** The generation it replaces (none: the host has no row yet). */
  previous?: number;
  changed: boolean;
  config: string;
}

/**
 * Pure: each host's next row. An unchanged config keeps its generation (a
 * publish of the same inventory writes nothing); a changed one goes past both
 * the row's generation and any the host's agent reports, so an agent that
 * holds a newer generation than the row (a database rebuilt) takes it.
 */
export function planPublish(
  wanted: { host: string; config: string }[],
  desired: Map<string, { generation: number; config: string }>,
  reported: Map<string, { generation: number; applied: number }>,
): PublishStep[] {
  return wanted.map(({ host, config }) => {
    const row = desired.get(host);
    if (row && row.config === config) return { host, generation: row.generation, previous: row.generation, changed: false, config };
    const seen = reported.get(host);
    const generation = Math.max(row?.generation ?? 0, seen?.generation ?? 0, seen?.applied ?? 0) + 1;
    return { host, generation, ...(row ? { previous: row.generation } : {}), changed: true, config };
  });
}

/** Reads what the config database holds and plans each host's row; nothing is written. */
export async function planPublishIn(client: OvsdbClient, wanted: { host: string; config: string }[]): Promise<PublishStep[]> {
  const [desiredRows, statusRows] = await Promise.all([
    client.select(CONFIG_DB, 'Desired', [], ['host', 'generation', 'config']),
    client.select(CONFIG_DB, 'Status', [], ['host', 'generation', 'applied']),
  ]);
  const num = (v: unknown) => (typeof v === 'number' ? v : 0);
  const desired = new Map(desiredRows.map((r) => [String(r.host), { generation: num(r.generation), config: String(r.config) }]));
  const reported = new Map(statusRows.map((r) => [String(r.host), { generation: num(r.generation), applied: num(r.applied) }]));
  return planPublish(wanted, desired, reported);
}

/**
 * Writes the planned rows in one transaction. Each row replaced is guarded by
 * the generation it was planned from (a wait that fails at once), and a new
 * row by the index on host: a publish racing another writes nothing.
 */
export async function writePublish(client: OvsdbClient, steps: PublishStep[]): Promise<void> {
  const by = { published_by: `${userInfo().username}@${hostname()}`, published_at: Date.now() };
  const ops = steps.filter((s) => s.changed).flatMap((s): Operation[] => {
    const row: WireRow = { generation: s.generation, config: s.config, ...by };
    const where = [cond('host', '==', s.host)];
    return s.previous === undefined ? [insert('Desired', { host: s.host, ...row })] : [wait('Desired', where, ['generation'], '==', [{ generation: s.previous }], 0), update('Desired', where, row)];
  });
  if (ops.length === 0) return;
  try {
    await client.transact(CONFIG_DB, ops);
  } catch (err) {
    if (err instanceof OvsdbOperationError && (err.error === 'timed out' || err.error === 'constraint violation')) {
      throw new ControllerError('PUBLISH_CONFLICT', `another publish changed the config database while this one read it (${err.error}${err.details ? `: ${err.details}` : ''}); nothing was written`);
    }
    // Any other failed operation wrote nothing (a transaction is whole); a lost answer may have written everything.
    if (err instanceof OvsdbOperationError) throw err;
    throw new ControllerError('OUTCOME_UNKNOWN', `the publish was sent but its answer lost (${(err as Error).message}): the rows may have been written, and the agents may apply them; ovn-chassis status --pull says`, { cause: err });
  }
}

/** Plans and writes the hosts' desired rows in one transaction. */
export async function publish(client: OvsdbClient, wanted: { host: string; config: string }[]): Promise<PublishStep[]> {
  const steps = await planPublishIn(client, wanted);
  await writePublish(client, steps);
  return steps;
}

/** A host's status row, or why it cannot be taken as one. */
export type StatusReading = { ok: true; row: StatusRow } | { ok: false; why: string };

/** Pure: a status row, checked; an agent's row that says more than a status may (a bad verdict, a huge error) is not taken. */
export function readStatusRow(row: Row): StatusReading {
  const r = statusRowSchema.safeParse(row, { reportInput: true });
  return r.success ? { ok: true, row: r.data } : { ok: false, why: `its status row is malformed: ${formatIssue(r.error.issues[0] as never)}` };
}

/** A live view of the hosts' desired and status rows. */
export class PullView {
  private readonly monitor: Monitor;

  private constructor(monitor: Monitor) {
    this.monitor = monitor;
  }

  static async watch(client: OvsdbClient): Promise<PullView> {
    return new PullView(await client.monitor(CONFIG_DB, {
      Desired: { columns: ['host', 'generation', 'config'] },
      Status: { columns: ['host', 'generation', 'applied', 'verdict', 'error', 'agent', 'encap_ips', 'seen'] },
    }));
  }

  desired(): Map<string, { generation: number; config: string }> {
    return new Map(this.monitor.rows('Desired').map((r) => [String(r.host), { generation: Number(r.generation), config: String(r.config) }]));
  }

  /** Each host's status as read (a host may be missing: its agent never wrote). */
  statuses(): Map<string, StatusReading> {
    return new Map(this.monitor.rows('Status').map((r) => [String(r.host), readStatusRow(r)]));
  }

  /** Told the hosts whose status row changed: a fleet's rows are read one by one as they move, not all at every change. */
  onStatusChange(listener: (changed: Map<string, StatusReading | undefined>) => void): () => void {
    const heard = (changes: RowChange[]) => {
      const changed = new Map<string, StatusReading | undefined>();
      for (const c of changes) {
        if (c.table !== 'Status') continue;
        if (c.old) changed.set(String(c.old.host), undefined);
        if (c.new) changed.set(String(c.new.host), readStatusRow(c.new));
      }
      if (changed.size > 0) listener(changed);
    };
    this.monitor.on('change', heard);
    return () => this.monitor.off('change', heard);
  }
}

/** Where a host stands on a generation. */
export type PullState =
  | { state: 'applied'; row: StatusRow }
  | { state: 'refused' | 'failed'; row: StatusRow }
  | { state: 'pending'; why: string };

/** Pure: a host's status judged against the generation it must reach. */
export function pullStateOf(reading: StatusReading | undefined, generation: number): PullState {
  if (!reading) return { state: 'pending', why: 'its agent has written no status row' };
  if (!reading.ok) return { state: 'pending', why: reading.why };
  const { row } = reading;
  if (row.applied >= generation) return { state: 'applied', row };
  if (row.generation >= generation && row.verdict !== 'applied') return { state: row.verdict, row };
  return { state: 'pending', why: `its agent reports generation ${row.applied} applied${row.generation > row.applied ? ` and ${row.generation} ${row.verdict}` : ''}` };
}

/** Where a host stands in pull mode, as status shows it. */
export interface PulledStatus {
  /** unpublished: no desired row; outdated: the row differs from the inventory (publish); pending: not yet applied; refused, failed; applied. */
  state: 'unpublished' | 'outdated' | 'pending' | 'refused' | 'failed' | 'applied';
  published?: number;
  applied?: number;
  error?: string;
  agent?: string;
  /** Seconds since the agent last wrote its status row. */
  seenS?: number;
}

/** Pure: a host's desired row and status row against the config the inventory gives it. */
export function pulledStatus(config: string, row: { generation: number; config: string } | undefined, reading: StatusReading | undefined, now: number): PulledStatus {
  const said = reading?.ok ? { applied: reading.row.applied, agent: reading.row.agent, seenS: Math.max(0, Math.round((now - reading.row.seen) / 1000)) } : {};
  if (!row) return { state: 'unpublished', ...said };
  const base = { published: row.generation, ...said };
  if (row.config !== config) return { state: 'outdated', ...base };
  const s = pullStateOf(reading, row.generation);
  if (s.state === 'pending') return { state: 'pending', ...base, ...(reading && !reading.ok ? { error: reading.why } : {}) };
  return { state: s.state, ...base, ...(s.row.error ? { error: s.row.error } : {}) };
}
