import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { preview } from '../common/text.js';
import { OvsdbError, OvsdbRpcError } from './errors.js';
import { JsonFramer } from './framing.js';
import { type Logger, silentLogger } from './logger.js';

export interface RpcOptions {
  /** Largest single message accepted from the peer; a bigger one closes the connection. */
  maxMessageBytes?: number;
  /** Default time a request may wait for its reply. */
  requestTimeoutMs?: number;
  logger?: Logger;
}

export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
const CANCEL_GRACE_MS = 1000;

interface Pending {
  method: string;
  resolve: (result: unknown) => void;
  reject: (err: OvsdbError) => void;
  timer: NodeJS.Timeout | undefined;
}

const ENVELOPE_MEMBERS = new Set(['method', 'params', 'id', 'result', 'error']);
// Late replies to requests that timed out are dropped quietly; remember that many ids at most.
const MAX_EXPIRED_IDS = 4096;

/**
 * JSON-RPC 1.0 as ovsdb-server speaks it (RFC 7047 §4): replies matched to
 * requests by id (never by order: a transact with `wait` can finish late),
 * server echoes answered, notifications emitted as 'notification'.
 * Any protocol violation by the peer closes the connection with a typed error;
 * it never throws into the event loop. Emits 'close' once, with the error that
 * caused it (undefined for a close we asked for).
 */
export class RpcConnection extends EventEmitter {
  private readonly socket: Duplex;
  private readonly framer: JsonFramer;
  private readonly log: Logger;
  private readonly requestTimeoutMs: number;
  private readonly pending = new Map<number, Pending>();
  private readonly expired = new Set<number>();
  private nextId = 1;
  private closed = false;
  private lastReceived = Date.now();

  constructor(socket: Duplex, opts: RpcOptions = {}) {
    super();
    this.socket = socket;
    this.framer = new JsonFramer(opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES);
    this.log = opts.logger ?? silentLogger;
    this.requestTimeoutMs = opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err: Error) =>
      this.close(new OvsdbError('CONNECTION_CLOSED', `connection error: ${err.message}`, { cause: err })),
    );
    socket.on('close', () => this.close(new OvsdbError('CONNECTION_CLOSED', 'the peer closed the connection')));
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** When the peer last sent anything: what an inactivity probe is judged by. */
  get lastReceivedAt(): number {
    return this.lastReceived;
  }

  /** Sends a request; resolves with its `result`, rejects with a typed error. */
  request(method: string, params: unknown[], opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<unknown> {
    if (this.closed) return Promise.reject(new OvsdbError('NOT_CONNECTED', `cannot send ${method}: the connection is closed`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timeoutMs = opts.timeoutMs ?? this.requestTimeoutMs;
      const entry: Pending = { method, resolve, reject, timer: undefined };
      if (timeoutMs > 0 && Number.isFinite(timeoutMs)) {
        entry.timer = setTimeout(() => {
          this.pending.delete(id);
          this.rememberExpired(id);
          reject(new OvsdbError('REQUEST_TIMEOUT', `${method} got no reply within ${timeoutMs} ms`));
        }, timeoutMs);
      }
      this.pending.set(id, entry);
      if (opts.signal) {
        // RFC 7047 §4.1.4: cancel is a notification and the server should answer "canceled".
        // ovsdb-server 3.1 drops the request without answering, so after a grace period
        // the promise settles as CANCELED; a reply that does come first (a result, if the
        // server had already committed) still wins, so the caller learns the real outcome.
        const onAbort = () => {
          if (!this.pending.has(id)) return;
          this.notify('cancel', [id]);
          if (entry.timer) clearTimeout(entry.timer);
          entry.timer = setTimeout(() => {
            this.pending.delete(id);
            this.rememberExpired(id);
            reject(new OvsdbError('CANCELED', `${method} was canceled`));
          }, CANCEL_GRACE_MS);
        };
        if (opts.signal.aborted) onAbort();
        else opts.signal.addEventListener('abort', onAbort, { once: true });
      }
      this.send({ method, params, id });
    });
  }

  notify(method: string, params: unknown[]): void {
    if (!this.closed) this.send({ method, params, id: null });
  }

  /** Closes the connection; every request still waiting is rejected with `reason`. */
  close(reason?: OvsdbError): void {
    if (this.closed) return;
    this.closed = true;
    // Built only when a request waits on it: a stack trace per closed session is not free.
    const err = reason ?? (this.pending.size > 0 ? new OvsdbError('CONNECTION_CLOSED', 'the connection was closed') : undefined);
    for (const [, p] of this.pending) {
      if (!err) break;
      if (p.timer) clearTimeout(p.timer);
      p.reject(new OvsdbError(err.code, `${p.method}: ${err.message}`, { cause: err }));
    }
    this.pending.clear();
    this.socket.destroy();
    if (reason) this.log.debug({ code: reason.code, err: reason.message }, 'ovsdb connection closed');
    this.emit('close', reason);
  }

  private send(msg: object): void {
    this.socket.write(JSON.stringify(msg));
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    this.lastReceived = Date.now();
    let messages: unknown[];
    try {
      messages = this.framer.push(chunk);
    } catch (err) {
      this.close(err as OvsdbError);
      return;
    }
    for (const msg of messages) {
      if (this.closed) return;
      try {
        this.dispatch(msg);
      } catch (err) {
        this.close(
          err instanceof OvsdbError ? err : new OvsdbError('PROTOCOL_ERROR', `handling a message failed: ${String(err)}`, { cause: err }),
        );
      }
    }
  }

  private dispatch(msg: unknown): void {
    if (msg === null || typeof msg !== 'object' || Array.isArray(msg)) {
      throw protocol(`message is not a JSON object: ${preview(msg, 120)}`);
    }
    const m = msg as Record<string, unknown>;
    for (const key of Object.keys(m)) {
      if (!ENVELOPE_MEMBERS.has(key)) throw protocol(`message has unexpected member "${key}"`);
    }
    if (typeof m.method === 'string') {
      if (!Array.isArray(m.params)) throw protocol(`${m.method} has no params array`);
      if (m.id === null || m.id === undefined) {
        this.emit('notification', m.method, m.params);
      } else if (m.method === 'echo') {
        this.send({ result: m.params, error: null, id: m.id });
      } else {
        this.send({ result: null, error: 'unknown method', id: m.id });
      }
      return;
    }
    if (!('id' in m) || !('result' in m || 'error' in m)) throw protocol(`message is neither a request nor a reply: ${preview(m, 120)}`);
    const id = m.id;
    const p = typeof id === 'number' ? this.pending.get(id) : undefined;
    if (!p) {
      if (typeof id === 'number' && this.expired.delete(id)) return;
      throw protocol(`reply with unknown id ${preview(id, 120)}`);
    }
    this.pending.delete(id as number);
    if (p.timer) clearTimeout(p.timer);
    if (m.error !== null && m.error !== undefined) {
      const e = m.error;
      if (typeof e === 'string') p.reject(new OvsdbRpcError(p.method, e));
      else if (e && typeof e === 'object' && typeof (e as { error?: unknown }).error === 'string') {
        const eo = e as { error: string; details?: unknown };
        p.reject(new OvsdbRpcError(p.method, eo.error, typeof eo.details === 'string' ? eo.details : undefined));
      } else p.reject(new OvsdbRpcError(p.method, JSON.stringify(e)));
      return;
    }
    p.resolve(m.result);
  }

  private rememberExpired(id: number): void {
    this.expired.add(id);
    if (this.expired.size > MAX_EXPIRED_IDS) {
      const oldest = this.expired.values().next().value;
      if (oldest !== undefined) this.expired.delete(oldest);
    }
  }
}

function protocol(message: string): OvsdbError {
  return new OvsdbError('PROTOCOL_ERROR', message);
}

