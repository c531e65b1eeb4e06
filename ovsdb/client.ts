import { EventEmitter } from 'node:events';
import { TableCache, type RowChange } from './cache.js';
import { SERVER_COLUMNS, SERVER_DB, judgeServer } from './cluster.js';
import { type Endpoint, formatEndpoint, parseEndpoints } from './endpoint.js';
import { OvsdbError, OvsdbRpcError } from './errors.js';
import { RpcConnection, type RpcOptions } from './jsonrpc.js';
import { type Logger, silentLogger } from './logger.js';
import { type Condition, type Operation, checkOperations, cond } from './operations.js';
import { OVS_RECONNECT, type ReconnectAction, ReconnectFsm } from './reconnect.js';
import { type OperationResult, checkResults } from './results.js';
import { type DatabaseSchema, type Row, decodeRow, parseSchema, tableSchema } from './schema.js';
import { type Dial, type TlsFiles, openStream } from './transport.js';

export interface ClientOptions extends RpcOptions {
  /** One remote or a comma-separated list (cluster members or relays), tried in turn. */
  endpoint: string;
  tls?: TlsFiles;
  /** Reach the remotes some other way than this machine's network (a tunnel). */
  dial?: Dial;
  /** How long one connection attempt may take. */
  connectTimeoutMs?: number;
  /** Idle time before an echo probe; no answer within another interval leaves the server. Default: 5 s for tcp/ssl, none for unix, as OVS. */
  probeIntervalMs?: number;
  /** Keep the session up: reconnect (rotating through the remotes) and resume monitors. */
  reconnect?: boolean | { minBackoffMs?: number; maxBackoffMs?: number };
  /**
   * The database whose cluster state decides whether a server may be used,
   * read from the server's `_Server` database: a member cut off from its
   * cluster, or one with older data than already seen, is left for the next.
   */
  database?: string;
  /** Use only the cluster leader (for writes); relays and standalone servers are accepted. */
  leaderOnly?: boolean;
  /** false: never resume monitors with monitor_cond_since, download every row again (for a server whose resume is broken, and to measure what it saves). */
  monitorCondSince?: boolean;
}

export interface MonitorRequest {
  columns?: string[];
  where?: Condition[];
}

type Send = (method: string, params: unknown[]) => Promise<unknown>;

const DEFAULT_PROBE_MS = 5000;
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const DEFAULT_FIRST_CONNECT_MS = 30_000;

/**
 * An OVSDB client (RFC 7047) on node:net / node:tls. Every transaction result
 * is checked: a failed operation rejects with OvsdbOperationError, and nothing
 * was written. When and where it connects, probes and gives up on a server is
 * decided by a ReconnectFsm; this class only carries its decisions out.
 * With `reconnect`, requests made while the session is down wait for it (up
 * to their timeout) and monitors are resumed (monitor_cond_since) or re-issued.
 *
 * Events: 'disconnected' (error), 'reconnected', 'rejected' (endpoint, reason).
 */
/** Parsed schemas by name, version and checksum: a fleet's servers mostly serve the same one, and parsing it is most of a short session's work. */
const parsedSchemas = new Map<string, DatabaseSchema>();
const MAX_PARSED_SCHEMAS = 32;

/** Parses a server's schema, or reuses the one parsed before for the same name, version and cksum (the server's own checksum of its text). */
function parseSchemaOnce(json: unknown): DatabaseSchema {
  const s = json as { name?: unknown; version?: unknown; cksum?: unknown } | null;
  const key = typeof s?.name === 'string' && typeof s.version === 'string' && typeof s.cksum === 'string' ? `${s.name}\0${s.version}\0${s.cksum}` : undefined;
  const hit = key ? parsedSchemas.get(key) : undefined;
  if (hit) return hit;
  const parsed = parseSchema(json);
  if (key) {
    if (parsedSchemas.size >= MAX_PARSED_SCHEMAS) parsedSchemas.delete(parsedSchemas.keys().next().value as string);
    parsedSchemas.set(key, parsed);
  }
  return parsed;
}

export class OvsdbClient extends EventEmitter {
  private readonly endpoints: Endpoint[];
  private readonly opts: ClientOptions;
  private readonly log: Logger;
  private readonly fsm: ReconnectFsm;
  private readonly keepUp: boolean;
  /** The connection requests go to: one that passed every check. */
  private conn: RpcConnection | undefined;
  /** A connection still being checked (its _Server row, its monitors resumed). */
  private trying: RpcConnection | undefined;
  private serverMonitor: Monitor | undefined;
  private schemas = new Map<string, Promise<DatabaseSchema>>();
  private readonly monitors = new Set<Monitor>();
  private nextMonitorId = 1;
  private closedByUser = false;
  private timer: NodeJS.Timeout | undefined;
  /** The newest cluster index this session has seen; older data is never accepted. */
  private minIndex = 0;
  private currentRemote: string | undefined;
  private first: { resolve: () => void; reject: (err: OvsdbError) => void; round: { err: OvsdbError; answered: boolean }[] } | undefined;

  private constructor(opts: ClientOptions) {
    super();
    this.opts = opts;
    this.endpoints = parseEndpoints(opts.endpoint);
    this.log = opts.logger ?? silentLogger;
    this.keepUp = opts.reconnect !== undefined && opts.reconnect !== false;
    const r = typeof opts.reconnect === 'object' ? opts.reconnect : {};
    this.fsm = new ReconnectFsm(this.endpoints.length, {
      minBackoffMs: r.minBackoffMs ?? OVS_RECONNECT.minBackoffMs,
      maxBackoffMs: r.maxBackoffMs ?? OVS_RECONNECT.maxBackoffMs,
      probeIntervalMs: (i) => opts.probeIntervalMs ?? (this.endpoints[i]?.kind === 'unix' ? 0 : DEFAULT_PROBE_MS),
    });
  }

  /**
   * Resolves once a server passed every check. Without `reconnect` each remote
   * is tried once; with it, attempts go on (with backoff) until one is usable
   * or `requestTimeoutMs` passes — except when no remote answered at all in a
   * whole round, which fails at once: nothing is listening.
   */
  static async connect(opts: ClientOptions): Promise<OvsdbClient> {
    const client = new OvsdbClient(opts);
    await new Promise<void>((resolve, reject) => {
      const deadline = setTimeout(
        () => client.failFirst(new OvsdbError('CONNECT_FAILED', `no usable server among ${opts.endpoint} within ${opts.requestTimeoutMs ?? DEFAULT_FIRST_CONNECT_MS} ms`)),
        opts.requestTimeoutMs ?? DEFAULT_FIRST_CONNECT_MS,
      );
      client.first = {
        resolve: () => (clearTimeout(deadline), resolve()),
        reject: (err) => (clearTimeout(deadline), reject(err)),
        round: [],
      };
      client.fsm.start(Date.now());
      client.tick();
    });
    return client;
  }

  get endpoint(): string {
    return this.opts.endpoint;
  }

  /** The remote currently in use, e.g. the cluster member answering. */
  get remote(): string | undefined {
    return this.conn && !this.conn.isClosed ? this.currentRemote : undefined;
  }

  get connected(): boolean {
    return this.conn !== undefined && !this.conn.isClosed;
  }

  /** What the server in use says it is (`_Server` model: standalone, clustered, relay), when it has a `_Server` database. */
  get serverModel(): string | undefined {
    const model = this.connected ? this.serverMonitor?.rows('Database')[0]?.model : undefined;
    return typeof model === 'string' ? model : undefined;
  }

  async listDbs(): Promise<string[]> {
    return (await this.request('list_dbs', [])) as string[];
  }

  /** The schema of `db`, fetched once per connection. */
  getSchema(db: string): Promise<DatabaseSchema> {
    let s = this.schemas.get(db);
    if (!s) {
      s = this.request('get_schema', [db]).then(parseSchemaOnce);
      s.catch(() => this.schemas.delete(db));
      this.schemas.set(db, s);
    }
    return s;
  }

  /**
   * Runs operations as one transaction. Resolves with one result per
   * operation; rejects with OvsdbOperationError (index, server error and
   * details) when any operation or the commit fails. Values the server would
   * choke on (NUL, lone surrogates, integers beyond 2^53 in an integer
   * column) are refused before anything is sent; the schema (fetched once per
   * connection) says which columns hold integers. Abort `signal` to send `cancel`.
   */
  async transact(db: string, ops: Operation[], opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<OperationResult[]> {
    checkOperations(ops, await this.getSchema(db));
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
   * Starts a monitor (monitor_cond_since, else monitor_cond, else monitor)
   * whose cache holds the initial rows when this resolves. Later changes are
   * emitted by the monitor as 'change' with RowChange[].
   */
  async monitor(db: string, tables: Record<string, MonitorRequest>): Promise<Monitor> {
    const schema = await this.getSchema(db);
    const m = new Monitor(this, db, schema, tables, `m${this.nextMonitorId++}`, this.opts.monitorCondSince !== false);
    // Registered before the request goes out: updates can follow the reply in the same read.
    this.monitors.add(m);
    try {
      await m.start((method, params) => this.request(method, params));
    } catch (err) {
      this.monitors.delete(m);
      throw err;
    }
    return m;
  }

  /** Closes for good; no reconnect. */
  close(): void {
    if (this.closedByUser) return;
    this.closedByUser = true;
    this.fsm.stop(Date.now());
    if (this.timer) clearTimeout(this.timer);
    this.trying?.close();
    this.conn?.close();
    this.conn = undefined;
    if (this.first) this.failFirst(new OvsdbError('NOT_CONNECTED', `the client for ${this.opts.endpoint} was closed`));
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
    if (this.closedByUser || !this.keepUp) {
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

  /** Asks the FSM what to do, does it, and sleeps until its next deadline. */
  private tick(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.closedByUser) return;
    for (;;) {
      const live = this.conn ?? this.trying;
      if (live) this.fsm.activity(live.lastReceivedAt);
      const action = this.fsm.run(Date.now());
      if (!action) break;
      this.perform(action);
    }
    const at = this.fsm.wakeAt();
    if (at === undefined) return;
    this.timer = setTimeout(() => this.tick(), Math.max(0, at - Date.now()));
    // While connected the socket keeps the process alive; only a pending reconnect should.
    if (this.fsm.state === 'active' || this.fsm.state === 'idle') this.timer.unref();
  }

  private perform(action: ReconnectAction): void {
    const live = this.conn ?? this.trying;
    if (action.kind === 'connect') {
      this.fsm.connecting(Date.now());
      void this.attempt(action.remote);
    } else if (action.kind === 'probe') {
      this.fsm.probed(Date.now());
      live?.request('echo', ['ovn-chassis-probe'], { timeoutMs: 0 }).catch(() => {});
    } else {
      // The close handler moves the FSM on.
      live?.close(new OvsdbError('PROBE_TIMEOUT', `${this.currentRemote ?? this.opts.endpoint}: ${action.reason}`));
      if (!live) this.fsm.failed(Date.now());
    }
  }

  private async attempt(remote: number): Promise<void> {
    const ep = this.endpoints[remote] as Endpoint;
    const where = formatEndpoint(ep);
    let conn: RpcConnection;
    let schemas: Map<string, Promise<DatabaseSchema>>;
    try {
      const socket = await openStream(ep, {
        ...(this.opts.tls ? { tls: this.opts.tls } : {}),
        ...(this.opts.dial ? { dial: this.opts.dial } : {}),
        timeoutMs: this.opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      });
      if (this.closedByUser) {
        socket.destroy();
        return;
      }
      conn = new RpcConnection(socket, { ...this.opts, logger: this.log });
    } catch (err) {
      this.log.debug({ endpoint: where, err: (err as Error).message }, 'ovsdb connect failed');
      this.onFailure(err as OvsdbError, false);
      return;
    }
    this.trying = conn;
    this.currentRemote = where;
    conn.on('notification', (method: string, params: unknown[]) => {
      this.serverMonitor?.onNotification(method, params);
      for (const m of this.monitors) m.onNotification(method, params);
    });
    conn.once('close', (err?: OvsdbError) => this.onClose(conn, err));
    this.fsm.connected(Date.now());
    this.tick();
    try {
      schemas = await this.check(conn, where);
    } catch (err) {
      const e = err instanceof OvsdbError ? err : new OvsdbError('PROTOCOL_ERROR', String(err), { cause: err });
      conn.close(e);
      return;
    }
    if (conn.isClosed || this.closedByUser) return;
    this.trying = undefined;
    this.conn = conn;
    this.schemas = schemas;
    this.fsm.accepted(Date.now());
    if (this.first) {
      const first = this.first;
      this.first = undefined;
      first.resolve();
    } else {
      this.log.info({ endpoint: where }, 'ovsdb reconnected');
      this.emit('reconnected');
    }
  }

  /**
   * Everything a connection must pass before requests go to it: its cluster
   * state (when `database` is set and the server has `_Server`), the database
   * itself being available there, then every monitor resumed on it. Returns
   * the schemas it fetched, for the connection's cache.
   */
  private async check(conn: RpcConnection, where: string): Promise<Map<string, Promise<DatabaseSchema>>> {
    const send: Send = (method, params) => conn.request(method, params);
    this.serverMonitor = undefined;
    const db = this.opts.database;
    if (db) {
      const schema = await send('get_schema', [SERVER_DB]).then(parseSchema, (err: unknown) => {
        if (err instanceof OvsdbRpcError && err.error === 'unknown database') return undefined;
        throw err;
      });
      if (schema) {
        const m = new Monitor(this, SERVER_DB, schema, { Database: { columns: SERVER_COLUMNS, where: [cond('name', '==', db)] } }, '_Server');
        this.serverMonitor = m;
        const judge = (): void => {
          const verdict = judgeServer(m.rows('Database')[0], db, { leaderOnly: this.opts.leaderOnly === true, minIndex: this.minIndex });
          if (!verdict.usable) throw new OvsdbError('SERVER_UNUSABLE', `${where} is not used: ${verdict.reason}`);
          if (verdict.index !== undefined) this.minIndex = Math.max(this.minIndex, verdict.index);
        };
        await m.start(send);
        judge();
        // A member can drop out of its cluster (or lose leadership) while we use it.
        m.on('change', () => {
          try {
            judge();
          } catch (err) {
            conn.close(err as OvsdbError);
          }
        });
      }
      // A member still joining its cluster, or a relay not yet synced, holds no database to read.
      const dbSchema = await send('get_schema', [db]).then(parseSchema, (err: unknown) => {
        if (err instanceof OvsdbRpcError && err.error === 'database not available') {
          throw new OvsdbError('SERVER_UNUSABLE', `${where} is not used: ${err.details ?? `${db} is not available there yet`}`);
        }
        throw err;
      });
      for (const m of this.monitors) await m.resume(send);
      return new Map([[db, Promise.resolve(dbSchema)]]);
    }
    for (const m of this.monitors) await m.resume(send);
    return new Map();
  }

  private onClose(conn: RpcConnection, err: OvsdbError | undefined): void {
    if (conn === this.trying) this.trying = undefined;
    const wasInUse = conn === this.conn;
    if (wasInUse) this.conn = undefined;
    if (this.closedByUser) return;
    const e = err ?? new OvsdbError('CONNECTION_CLOSED', 'the connection was closed');
    if (wasInUse) {
      this.log.warn({ endpoint: this.currentRemote, err: e.message }, 'ovsdb connection lost');
      this.emit('disconnected', e);
      if (!this.keepUp) {
        this.fsm.stop(Date.now());
        if (this.timer) clearTimeout(this.timer);
        return;
      }
    } else if (e.code === 'SERVER_UNUSABLE') {
      this.log.warn({ endpoint: this.currentRemote, err: e.message }, 'ovsdb server not used; trying the next');
      this.emit('rejected', this.currentRemote, e.message);
    }
    this.onFailure(e, true);
  }

  /** A remote failed (before or after it answered): the FSM picks the next, and the first connect may give up. */
  private onFailure(err: OvsdbError, answered: boolean): void {
    if (this.closedByUser) return;
    this.fsm.failed(Date.now());
    const first = this.first;
    if (first) {
      first.round.push({ err, answered });
      if (first.round.length >= this.endpoints.length) {
        const errs = first.round.map((r) => r.err);
        const nobodyAnswered = first.round.every((r) => !r.answered);
        first.round = [];
        if (!this.keepUp || nobodyAnswered) {
          const code = errs.every((e) => e.code === errs[0]?.code) ? (errs[0] as OvsdbError).code : 'CONNECT_FAILED';
          this.failFirst(new OvsdbError(code, errs.map((e) => e.message).join('; '), { cause: errs.at(-1) }));
          return;
        }
      }
    }
    this.tick();
  }

  private failFirst(err: OvsdbError): void {
    const first = this.first;
    if (!first) return;
    this.first = undefined;
    this.closedByUser = true;
    this.fsm.stop(Date.now());
    if (this.timer) clearTimeout(this.timer);
    this.trying?.close();
    first.reject(err);
  }
}

const NO_TXN = '00000000-0000-0000-0000-000000000000';

/**
 * A live view of some tables. `cache` is always consistent with what the
 * server has sent; 'change' events carry what moved. After a reconnect the
 * monitor resumes from the last transaction it saw (monitor_cond_since) and
 * receives only what it missed; where the server cannot, the fresh snapshot is
 * compared with the cache, so watchers miss nothing either way.
 */
export class Monitor extends EventEmitter {
  readonly cache: TableCache;
  private readonly client: OvsdbClient;
  private readonly db: string;
  private readonly tables: Record<string, MonitorRequest>;
  private readonly id: string;
  private method: 'monitor_cond_since' | 'monitor_cond' | 'monitor';
  private lastTxnId = NO_TXN;
  private deferred: [string, unknown[]][] | undefined;
  /** How the last (re)start went: resumed from a transaction id, or a full snapshot. */
  lastStart: { method: string; resumed: boolean } | undefined;

  constructor(client: OvsdbClient, db: string, schema: DatabaseSchema, tables: Record<string, MonitorRequest>, id: string, resume = true) {
    super();
    this.method = resume ? 'monitor_cond_since' : 'monitor_cond';
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
  async start(send: Send): Promise<void> {
    await this.withDeferredUpdates(async () => {
      const { updates, format } = await this.subscribe(send);
      this.emitChanges(format === 'update' ? this.cache.applyUpdate(updates) : this.cache.applyUpdate2(updates));
    });
  }

  /** @internal on a new connection: what was missed, or a full resync */
  async resume(send: Send): Promise<void> {
    await this.withDeferredUpdates(async () => {
      const { updates, format, found } = await this.subscribe(send);
      if (found) this.emitChanges(this.cache.applyUpdate2(updates));
      else this.emitChanges(this.cache.resync((fresh) => (format === 'update' ? fresh.applyUpdate(updates) : fresh.applyUpdate2(updates))));
    });
  }

  /** @internal */
  onNotification(method: string, params: unknown[]): void {
    if (params[0] !== this.id) return;
    if (this.deferred) {
      this.deferred.push([method, params]);
      return;
    }
    this.applyNotification(method, params);
  }

  async cancel(): Promise<void> {
    this.client.forget(this);
    await this.client.request('monitor_cancel', [this.id]).catch(() => undefined);
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
      for (const [method, params] of this.deferred) this.applyNotification(method, params);
    } finally {
      this.deferred = undefined;
    }
  }

  private applyNotification(method: string, params: unknown[]): void {
    // A bad update throws into the connection, which closes: with reconnect, a resync repairs the cache.
    if (method === 'update3') {
      if (typeof params[1] !== 'string') throw new OvsdbError('PROTOCOL_ERROR', 'update3 without a transaction id');
      this.emitChanges(this.cache.applyUpdate2(params[2]));
      this.lastTxnId = params[1];
    } else if (method === 'update2') this.emitChanges(this.cache.applyUpdate2(params[1]));
    else if (method === 'update') this.emitChanges(this.cache.applyUpdate(params[1]));
  }

  private async subscribe(send: Send): Promise<{ updates: unknown; format: 'update' | 'update2'; found: boolean }> {
    const condReqs = Object.fromEntries(
      Object.entries(this.tables).map(([t, r]) => [
        t,
        [{ ...(r.columns ? { columns: r.columns } : {}), ...(r.where ? { where: r.where } : {}) }],
      ]),
    );
    if (this.method === 'monitor_cond_since') {
      try {
        const reply = await send('monitor_cond_since', [this.db, this.id, condReqs, this.lastTxnId]);
        if (!Array.isArray(reply) || reply.length !== 3 || typeof reply[0] !== 'boolean' || typeof reply[1] !== 'string') {
          throw new OvsdbError('PROTOCOL_ERROR', 'monitor_cond_since reply is not [found, last-txn-id, updates]');
        }
        const found = reply[0] && this.lastTxnId !== NO_TXN;
        this.lastTxnId = reply[1];
        this.lastStart = { method: this.method, resumed: found };
        return { updates: reply[2], format: 'update2', found };
      } catch (err) {
        if (!(err instanceof OvsdbRpcError && err.error === 'unknown method')) throw err;
        this.method = 'monitor_cond';
      }
    }
    if (this.method === 'monitor_cond') {
      try {
        const updates = await send('monitor_cond', [this.db, this.id, condReqs]);
        this.lastStart = { method: this.method, resumed: false };
        return { updates, format: 'update2', found: false };
      } catch (err) {
        if (!(err instanceof OvsdbRpcError && err.error === 'unknown method')) throw err;
        this.method = 'monitor';
      }
    }
    for (const [t, r] of Object.entries(this.tables)) {
      if (r.where && r.where.length > 0) {
        throw new OvsdbError('INVALID_ARGUMENT', `the server lacks monitor_cond, so a where clause on ${t} cannot be honoured`);
      }
    }
    const reqs = Object.fromEntries(Object.entries(this.tables).map(([t, r]) => [t, r.columns ? { columns: r.columns } : {}]));
    const updates = await send('monitor', [this.db, this.id, reqs]);
    this.lastStart = { method: this.method, resumed: false };
    return { updates, format: 'update', found: false };
  }

  private emitChanges(changes: RowChange[]): void {
    if (changes.length > 0) this.emit('change', changes);
  }
}
