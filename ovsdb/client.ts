import { EventEmitter } from 'node:events';
import { type BackoffPolicy, OVS_BACKOFF, backoffDelay } from './backoff.js';
import { TableCache, type RowChange } from './cache.js';
import { type Endpoint, formatEndpoint, parseEndpoints } from './endpoint.js';
import { OvsdbError, OvsdbRpcError } from './errors.js';
import { RpcConnection, type RpcOptions } from './jsonrpc.js';
import { type Logger, silentLogger } from './logger.js';
import type { Condition, Operation } from './operations.js';
import { type OperationResult, checkResults } from './results.js';
import { type DatabaseSchema, type Row, decodeRow, parseSchema, tableSchema } from './schema.js';
import { type TlsFiles, openStream } from './transport.js';

export interface ClientOptions extends RpcOptions {
  /** One remote or a comma-separated list (cluster members), tried in order. */
  endpoint: string;
  tls?: TlsFiles;
  connectTimeoutMs?: number;
  /** Keep the session up: reconnect with backoff and re-issue monitors. */
  reconnect?: boolean | Partial<BackoffPolicy>;
}

export interface MonitorRequest {
  columns?: string[];
  where?: Condition[];
}

/**
 * An OVSDB client (RFC 7047) on node:net / node:tls. Every transaction result
 * is checked: a failed operation rejects with OvsdbOperationError, and nothing
 * was written. With `reconnect`, requests made while the session is down wait
 * for it (up to their timeout) and monitors are re-issued with a resync.
 *
 * Events: 'disconnected' (error), 'reconnected'.
 */
export class OvsdbClient extends EventEmitter {
  private readonly endpoints: Endpoint[];
  private readonly opts: ClientOptions;
  private readonly log: Logger;
  private readonly backoff: BackoffPolicy | undefined;
  private conn: RpcConnection | undefined;
  private schemas = new Map<string, Promise<DatabaseSchema>>();
  private readonly monitors = new Set<Monitor>();
  private nextMonitorId = 1;
  private closedByUser = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private failedAttempts = 0;

  private constructor(opts: ClientOptions) {
    super();
    this.opts = opts;
    this.endpoints = parseEndpoints(opts.endpoint);
    this.log = opts.logger ?? silentLogger;
    this.backoff = opts.reconnect ? { ...OVS_BACKOFF, ...(opts.reconnect === true ? {} : opts.reconnect) } : undefined;
  }

  static async connect(opts: ClientOptions): Promise<OvsdbClient> {
    const client = new OvsdbClient(opts);
    client.attach(await client.open());
    return client;
  }

  get endpoint(): string {
    return this.opts.endpoint;
  }

  get connected(): boolean {
    return this.conn !== undefined && !this.conn.isClosed;
  }

  async listDbs(): Promise<string[]> {
    return (await this.request('list_dbs', [])) as string[];
  }

  /** The schema of `db`, fetched once per connection. */
  getSchema(db: string): Promise<DatabaseSchema> {
    let s = this.schemas.get(db);
    if (!s) {
      s = this.request('get_schema', [db]).then(parseSchema);
      s.catch(() => this.schemas.delete(db));
      this.schemas.set(db, s);
    }
    return s;
  }

  /**
   * Runs operations as one transaction. Resolves with one result per
   * operation; rejects with OvsdbOperationError (index, server error and
   * details) when any operation or the commit fails. Abort `signal` to send
   * `cancel`; the server then answers "canceled".
   */
  async transact(db: string, ops: Operation[], opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<OperationResult[]> {
    const reply = await this.request('transact', [db, ...ops], opts);
    return checkResults(ops, reply);
  }

  /** A select whose rows come back decoded through the schema. */
  async select(db: string, table: string, where: Condition[], columns?: string[]): Promise<Row[]> {
    const schema = await this.getSchema(db);
    const ts = tableSchema(schema, table);
    const cols = columns ? [...new Set(['_uuid', ...columns])] : undefined;
    const [res] = await this.transact(db, [{ op: 'select', table, where, ...(cols ? { columns: cols } : {}) }]);
    return (res?.rows ?? []).map((r) => decodeRow(r, ts));
  }

  async echo(params: unknown[] = []): Promise<unknown> {
    return this.request('echo', params);
  }

  /**
   * Starts a monitor (monitor_cond, or monitor where the server lacks it)
   * whose cache holds the initial rows when this resolves. Later changes are
   * emitted by the monitor as 'change' with RowChange[].
   */
  async monitor(db: string, tables: Record<string, MonitorRequest>): Promise<Monitor> {
    const schema = await this.getSchema(db);
    const m = new Monitor(this, db, schema, tables, `m${this.nextMonitorId++}`);
    // Registered before the request goes out: updates can follow the reply in the same read.
    this.monitors.add(m);
    try {
      await m.start();
    } catch (err) {
      this.monitors.delete(m);
      throw err;
    }
    return m;
  }

  /** Closes for good; no reconnect. */
  close(): void {
    this.closedByUser = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.conn?.close();
    this.conn = undefined;
    this.emit('reconnect-abandoned');
  }

  /** @internal used by Monitor */
  async request(method: string, params: unknown[], opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<unknown> {
    const conn = await this.ready(opts.timeoutMs ?? this.opts.requestTimeoutMs ?? 30_000);
    return conn.request(method, params, opts);
  }

  /** @internal */
  forget(m: Monitor): void {
    this.monitors.delete(m);
  }

  private ready(timeoutMs: number): Promise<RpcConnection> {
    if (this.conn && !this.conn.isClosed) return Promise.resolve(this.conn);
    if (this.closedByUser || !this.backoff) {
      return Promise.reject(new OvsdbError('NOT_CONNECTED', `not connected to ${this.opts.endpoint}`));
    }
    return new Promise((resolve, reject) => {
      const onUp = () => {
        cleanup();
        if (this.conn) resolve(this.conn);
        else reject(new OvsdbError('NOT_CONNECTED', `not connected to ${this.opts.endpoint}`));
      };
      const onGone = () => {
        cleanup();
        reject(new OvsdbError('NOT_CONNECTED', `the client for ${this.opts.endpoint} was closed`));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new OvsdbError('NOT_CONNECTED', `still reconnecting to ${this.opts.endpoint} after ${timeoutMs} ms`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.off('reconnected', onUp);
        this.off('reconnect-abandoned', onGone);
      };
      this.once('reconnected', onUp);
      this.once('reconnect-abandoned', onGone);
    });
  }

  private async open(): Promise<RpcConnection> {
    let last: OvsdbError | undefined;
    for (const ep of this.endpoints) {
      try {
        const socket = await openStream(ep, {
          ...(this.opts.tls ? { tls: this.opts.tls } : {}),
          timeoutMs: this.opts.connectTimeoutMs ?? 10_000,
        });
        // Unix sockets need no probes (OVS's own rule); tcp/ssl default to OVS's 5 s.
        const probeIntervalMs = this.opts.probeIntervalMs ?? (ep.kind === 'unix' ? 0 : 5000);
        return new RpcConnection(socket, { ...this.opts, probeIntervalMs, logger: this.log });
      } catch (err) {
        last = err as OvsdbError;
        this.log.debug({ endpoint: formatEndpoint(ep), err: last.message }, 'ovsdb connect failed');
      }
    }
    throw last ?? new OvsdbError('CONNECT_FAILED', `cannot connect to ${this.opts.endpoint}`);
  }

  private attach(conn: RpcConnection): void {
    this.conn = conn;
    this.schemas = new Map();
    conn.on('notification', (method: string, params: unknown[]) => {
      for (const m of this.monitors) m.onNotification(method, params);
    });
    conn.once('close', (err?: OvsdbError) => {
      if (this.conn !== conn) return;
      this.conn = undefined;
      if (this.closedByUser) return;
      this.log.warn({ endpoint: this.opts.endpoint, err: err?.message }, 'ovsdb connection lost');
      this.emit('disconnected', err);
      if (this.backoff) this.scheduleReconnect();
    });
  }

  private scheduleReconnect(): void {
    const delay = backoffDelay(this.backoff as BackoffPolicy, Math.max(1, this.failedAttempts));
    this.reconnectTimer = setTimeout(() => void this.reconnect(), delay);
  }

  private async reconnect(): Promise<void> {
    if (this.closedByUser) return;
    let conn: RpcConnection;
    try {
      conn = await this.open();
    } catch {
      this.failedAttempts++;
      this.scheduleReconnect();
      return;
    }
    if (this.closedByUser) {
      conn.close();
      return;
    }
    this.attach(conn);
    try {
      for (const m of this.monitors) await m.restart();
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'ovsdb monitor re-issue failed; reconnecting');
      this.failedAttempts++;
      conn.close(err instanceof OvsdbError ? err : undefined);
      return;
    }
    this.failedAttempts = 0;
    this.log.info({ endpoint: this.opts.endpoint }, 'ovsdb reconnected');
    this.emit('reconnected');
  }
}

/**
 * A live view of some tables. `cache` is always consistent with what the
 * server has sent; 'change' events carry what moved (after a reconnect, the
 * difference between the old cache and the fresh snapshot).
 */
export class Monitor extends EventEmitter {
  readonly cache: TableCache;
  private readonly client: OvsdbClient;
  private readonly db: string;
  private readonly tables: Record<string, MonitorRequest>;
  private readonly id: string;
  private useV1 = false;
  private deferred: [string, unknown][] | undefined;

  constructor(client: OvsdbClient, db: string, schema: DatabaseSchema, tables: Record<string, MonitorRequest>, id: string) {
    super();
    this.client = client;
    this.db = db;
    this.tables = tables;
    this.id = id;
    this.cache = new TableCache(
      schema,
      Object.fromEntries(Object.entries(tables).map(([t, r]) => [t, r.columns ? ['_uuid', ...r.columns] : undefined])),
    );
  }

  rows(table: string): Row[] {
    return [...this.cache.rows(table).values()];
  }

  /** @internal */
  async start(): Promise<void> {
    await this.withDeferredUpdates(async () => {
      const initial = await this.subscribe();
      this.emitChanges(this.useV1 ? this.cache.applyUpdate(initial) : this.cache.applyUpdate2(initial));
    });
  }

  /** @internal re-issued on a new connection */
  async restart(): Promise<void> {
    await this.withDeferredUpdates(async () => {
      const initial = await this.subscribe();
      this.emitChanges(this.cache.resync((fresh) => (this.useV1 ? fresh.applyUpdate(initial) : fresh.applyUpdate2(initial))));
    });
  }

  /** @internal */
  onNotification(method: string, params: unknown[]): void {
    if (params[0] !== this.id) return;
    if (this.deferred) {
      this.deferred.push([method, params[1]]);
      return;
    }
    this.applyNotification(method, params[1]);
  }

  /**
   * The server sends the initial rows as the reply and later changes as
   * notifications, possibly in the same read; the reply is handled a tick
   * later, so updates that arrive meanwhile wait until the snapshot is in.
   */
  private async withDeferredUpdates(subscribe: () => Promise<void>): Promise<void> {
    this.deferred = [];
    try {
      await subscribe();
      for (const [method, updates] of this.deferred) this.applyNotification(method, updates);
    } finally {
      this.deferred = undefined;
    }
  }

  private applyNotification(method: string, updates: unknown): void {
    // A bad update throws into the connection, which closes: with reconnect, a resync repairs the cache.
    if (method === 'update2') this.emitChanges(this.cache.applyUpdate2(updates));
    else if (method === 'update') this.emitChanges(this.cache.applyUpdate(updates));
  }

  async cancel(): Promise<void> {
    this.client.forget(this);
    await this.client.request('monitor_cancel', [this.id]).catch(() => undefined);
  }

  private async subscribe(): Promise<unknown> {
    if (!this.useV1) {
      const reqs = Object.fromEntries(
        Object.entries(this.tables).map(([t, r]) => [
          t,
          [{ ...(r.columns ? { columns: r.columns } : {}), ...(r.where ? { where: r.where } : {}) }],
        ]),
      );
      try {
        return await this.client.request('monitor_cond', [this.db, this.id, reqs]);
      } catch (err) {
        if (!(err instanceof OvsdbRpcError && err.error === 'unknown method')) throw err;
        this.useV1 = true;
      }
    }
    for (const [t, r] of Object.entries(this.tables)) {
      if (r.where && r.where.length > 0) {
        throw new OvsdbError('INVALID_ARGUMENT', `the server lacks monitor_cond, so a where clause on ${t} cannot be honoured`);
      }
    }
    const reqs = Object.fromEntries(
      Object.entries(this.tables).map(([t, r]) => [t, r.columns ? { columns: r.columns } : {}]),
    );
    return this.client.request('monitor', [this.db, this.id, reqs]);
  }

  private emitChanges(changes: RowChange[]): void {
    if (changes.length > 0) this.emit('change', changes);
  }
}
