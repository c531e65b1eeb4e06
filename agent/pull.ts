import { OvsdbClient, type Row, type TlsFiles, cond, insert, set, update } from '../ovsdb/index.js';
import { type ChassisConfig, chassisConfigSchema } from '../schemas/chassis.js';
import { CONFIG_DB, MAX_STATUS_ERROR, type PullVerdict, desiredRowSchema } from '../schemas/config-db.js';
import { check, formatIssue } from '../schemas/load.js';
import { VERSION } from '../schemas/version.js';
import type { Logger } from '../common/log.js';
import { ConfigError } from '../schemas/errors.js';

/** Where a pulling agent finds its desired config, and who it is there. */
export interface PullOptions {
  /** The config database's members or relays (tcp:, ssl:, unix:), comma-separated. */
  endpoints: string;
  tls?: TlsFiles;
  /** This node's name in the inventory: the one Desired row it takes. */
  host: string;
}

/** What the agent makes of the Desired rows it was sent. */
export type DesiredJudgement =
  | { kind: 'none' }
  | { kind: 'take'; generation: number; config: ChassisConfig }
  | { kind: 'refuse'; generation: number; why: string };

/**
 * Pure: the rows a config database sent for this host, judged. The server was
 * asked for this host's row only, but what it sends is not trusted for more:
 * a row for another host, one that fails validation as a --config file
 * would, or a generation older than the one in force is refused.
 */
export function judgeDesired(rows: Row[], host: string, applied: number): DesiredJudgement {
  if (rows.length === 0) return { kind: 'none' };
  const generationOf = (r: Row) => (typeof r.generation === 'number' ? r.generation : 0);
  const other = rows.find((r) => r.host !== host);
  if (other) {
    return { kind: 'refuse', generation: generationOf(other), why: `the config database sent a desired row for host ${JSON.stringify(other.host)}; this agent is ${host} and takes only its own` };
  }
  if (rows.length > 1) return { kind: 'refuse', generation: Math.max(...rows.map(generationOf)), why: `the config database sent ${rows.length} desired rows for ${host}; there must be one` };
  const shape = desiredRowSchema.safeParse(rows[0], { reportInput: true });
  if (!shape.success) return { kind: 'refuse', generation: generationOf(rows[0] as Row), why: `the desired row is malformed: ${formatIssue(shape.error.issues[0] as never)}` };
  const { generation, config } = shape.data;
  if (generation < applied) {
    return { kind: 'refuse', generation, why: `desired generation ${generation} is older than generation ${applied}, in force on this node: stale data is never applied (publish again to go past it)` };
  }
  let json: unknown;
  try {
    json = JSON.parse(config);
  } catch {
    return { kind: 'refuse', generation, why: `desired generation ${generation}: its config is not JSON` };
  }
  try {
    return { kind: 'take', generation, config: check(chassisConfigSchema, json, `desired generation ${generation}`) };
  } catch (err) {
    if (err instanceof ConfigError) return { kind: 'refuse', generation, why: err.message };
    throw err;
  }
}

/** What the agent says of itself in its Status row. */
export interface PullStatus {
  generation: number;
  applied: number;
  verdict: PullVerdict;
  error?: string;
  encapIps?: string[];
}

const RETRY_MS = 2000;
/**
 * How often an agent whose state does not change says it is alive. Every
 * commit reaches every cluster-aware session (its `_Server` row moves), so a
 * fleet's heartbeats cost N² messages: every 5 minutes, not every few seconds.
 */
const HEARTBEAT_MS = 300_000;

/**
 * A pulling agent's link to the config database: a cluster-aware session
 * (a member cut off from its cluster, or with older data than already seen,
 * is left for another) that monitors only this host's Desired row, and writes
 * this host's Status row. It keeps trying while the database is away.
 */
export class PullLink {
  private readonly opts: PullOptions;
  private readonly log: Logger;
  private readonly onRows: (rows: Row[]) => void;
  private client: OvsdbClient | undefined;
  private stopped = false;
  private last: PullStatus | undefined;
  private writing: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private readonly heartbeat: NodeJS.Timeout;

  constructor(opts: PullOptions, log: Logger, onRows: (rows: Row[]) => void) {
    this.opts = opts;
    this.log = log;
    this.onRows = onRows;
    this.heartbeat = setInterval(() => void this.write(), HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  /** Connects in the background; rows arrive through onRows once a usable member answers. */
  start(): void {
    void this.connect();
  }

  private async connect(): Promise<void> {
    while (!this.stopped && !this.client) {
      try {
        const client = await OvsdbClient.connect({
          endpoint: this.opts.endpoints, database: CONFIG_DB, reconnect: true, logger: this.log,
          ...(this.opts.tls ? { tls: this.opts.tls } : {}),
        });
        if (this.stopped) {
          client.close();
          return;
        }
        const monitor = await client.monitor(CONFIG_DB, { Desired: { columns: ['host', 'generation', 'config'], where: [cond('host', '==', this.opts.host)] } })
          .catch((err: unknown) => {
            client.close();
            throw err;
          });
        this.client = client;
        client.on('reconnected', () => this.log.info({ remote: client.remote }, 'config database reached again'));
        monitor.on('change', () => this.onRows(monitor.rows('Desired')));
        this.log.info({ remote: client.remote, host: this.opts.host }, 'pulling desired config');
        this.onRows(monitor.rows('Desired'));
        void this.write();
      } catch (err) {
        this.log.warn({ err: (err as Error).message, endpoints: this.opts.endpoints }, 'config database not reached; trying again');
        await new Promise((r) => (this.timer = setTimeout(r, RETRY_MS)));
      }
    }
  }

  /** Records the status and writes it when it differs from the last written (the heartbeat writes it anyway). */
  report(status: PullStatus): Promise<void> {
    const same = this.last && JSON.stringify(this.last) === JSON.stringify(status);
    this.last = status;
    return same ? this.writing : this.write();
  }

  /** One write at a time, in order; a failed one is logged (the next report or heartbeat writes again). */
  private write(): Promise<void> {
    this.writing = this.writing.then(async () => {
      const client = this.client;
      const s = this.last;
      if (!client || !s || this.stopped) return;
      const row = {
        generation: s.generation, applied: s.applied, verdict: s.verdict, error: (s.error ?? '').slice(0, MAX_STATUS_ERROR),
        agent: VERSION, encap_ips: set(s.encapIps ?? []), seen: Date.now(),
      };
      const where = [cond('host', '==', this.opts.host)];
      try {
        const [res] = await client.transact(CONFIG_DB, [update('Status', where, row)]);
        // The index on host makes a second insert fail, so two writers can never make two rows.
        if (res?.count === 0) await client.transact(CONFIG_DB, [insert('Status', { host: this.opts.host, ...row })]);
      } catch (err) {
        this.log.warn({ err: (err as Error).message }, 'could not write this host\'s status row; will try again');
      }
    });
    return this.writing;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.heartbeat);
    if (this.timer) clearTimeout(this.timer);
    await this.writing;
    this.client?.close();
  }
}
