/**
 * Every failure of the OVSDB client is an OvsdbError with a `code` a caller can
 * switch on. Server-side failures keep the server's own words (`error`,
 * `details`) so an operator sees what ovsdb-server said, not our paraphrase.
 */
export type OvsdbErrorCode =
  | 'INVALID_ENDPOINT'
  | 'INVALID_ARGUMENT'
  | 'CONNECT_FAILED'
  | 'TLS_ERROR'
  | 'CONNECTION_CLOSED'
  | 'NOT_CONNECTED'
  | 'PROTOCOL_ERROR'
  | 'MESSAGE_TOO_LARGE'
  | 'REQUEST_TIMEOUT'
  | 'CANCELED'
  | 'PROBE_TIMEOUT'
  | 'SERVER_UNUSABLE'
  | 'RPC_ERROR'
  | 'OPERATION_FAILED'
  | 'SCHEMA_ERROR';

export class OvsdbError extends Error {
  readonly code: OvsdbErrorCode;

  constructor(code: OvsdbErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'OvsdbError';
    this.code = code;
  }
}

/** A JSON-RPC level error reply, e.g. "unknown database", "canceled", "unknown method". */
export class OvsdbRpcError extends OvsdbError {
  readonly method: string;
  readonly error: string;
  readonly details: string | undefined;

  constructor(method: string, error: string, details?: string) {
    super('RPC_ERROR', `${method} failed: ${error}${details ? ` (${details})` : ''}`);
    this.name = 'OvsdbRpcError';
    this.method = method;
    this.error = error;
    this.details = details;
  }
}

/**
 * One operation of a transaction failed (or the commit did), so nothing was
 * written. `index` is the failing operation's position; a commit failure has
 * index === number of operations and no `op`.
 */
export class OvsdbOperationError extends OvsdbError {
  readonly index: number;
  readonly op: unknown;
  readonly error: string;
  readonly details: string | undefined;
  readonly syntax: string | undefined;

  constructor(index: number, op: unknown, error: string, details?: string, syntax?: string) {
    const where = op === undefined ? 'commit' : `operation ${index} (${(op as { op?: string }).op ?? '?'})`;
    super('OPERATION_FAILED', `${where} failed: ${error}${details ? `: ${details}` : ''}`);
    this.name = 'OvsdbOperationError';
    this.index = index;
    this.op = op;
    this.error = error;
    this.details = details;
    this.syntax = syntax;
  }

  /** A `wait` whose condition no longer held: someone else wrote first. Re-read and retry. */
  get isConflict(): boolean {
    return this.error === 'timed out';
  }
}
