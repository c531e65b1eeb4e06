import { OvsdbError, OvsdbOperationError } from './errors.js';
import type { Operation } from './operations.js';

export interface OperationResult {
  /** insert: the new row's uuid. */
  uuid?: string;
  /** select: the rows, in wire form. */
  rows?: Record<string, unknown>[];
  /** update, mutate, delete: rows matched. Zero is not an error. */
  count?: number;
}

/**
 * Checks a transact reply (RFC 7047 §4.1.3): one entry per operation, the
 * failing one an error object and the rest null; when every operation passed
 * but the commit failed, an extra trailing error. Any failure means nothing
 * was written.
 */
export function checkResults(ops: readonly Operation[], reply: unknown): OperationResult[] {
  if (!Array.isArray(reply)) {
    throw new OvsdbError('PROTOCOL_ERROR', `transact reply is not an array: ${JSON.stringify(reply)?.slice(0, 200)}`);
  }
  for (let i = 0; i < reply.length; i++) {
    const entry = reply[i] as Record<string, unknown> | null;
    if (entry && typeof entry === 'object' && typeof entry.error === 'string') {
      throw new OvsdbOperationError(
        i,
        i < ops.length ? ops[i] : undefined,
        entry.error,
        typeof entry.details === 'string' ? entry.details : undefined,
        typeof entry.syntax === 'string' ? entry.syntax : undefined,
      );
    }
  }
  if (reply.length < ops.length) {
    throw new OvsdbError('PROTOCOL_ERROR', `transact reply has ${reply.length} results for ${ops.length} operations`);
  }
  return reply.slice(0, ops.length).map((entry: unknown) => {
    const e = (entry ?? {}) as Record<string, unknown>;
    const out: OperationResult = {};
    if (Array.isArray(e.uuid) && typeof e.uuid[1] === 'string') out.uuid = e.uuid[1];
    if (Array.isArray(e.rows)) out.rows = e.rows as Record<string, unknown>[];
    if (typeof e.count === 'number') out.count = e.count;
    return out;
  });
}
