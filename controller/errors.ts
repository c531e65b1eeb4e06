import { type ErrorCode, errorCodeOf } from '../schemas/errors.js';

/** What a failure left on its node: changed (the write happened), or perhaps changed (its outcome is unknown). */
export type NodeChange = 'changed' | 'maybe-changed';

export class ControllerError extends Error {
  readonly code: ErrorCode;
  /** Set when the node was, or may have been, changed before the failure: such a failure never ends a command with exit 1. */
  readonly changed: NodeChange | undefined;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; changed?: NodeChange }) {
    super(message, options);
    this.name = 'ControllerError';
    this.code = code;
    this.changed = options?.changed ?? (code === 'OUTCOME_UNKNOWN' ? 'maybe-changed' : undefined);
  }
}

/** What a failure left on its node, from any error (an agent's OUTCOME_UNKNOWN, a ControllerError that says). */
export function changeOf(err: unknown): NodeChange | undefined {
  if (err instanceof ControllerError) return err.changed;
  return (err as { code?: unknown } | null)?.code === 'OUTCOME_UNKNOWN' ? 'maybe-changed' : undefined;
}

/** A failure that came after a change, as one: its code kept, and said to have changed something. */
export function asChanged(err: unknown): ControllerError {
  if (err instanceof ControllerError && err.changed === 'changed') return err;
  return new ControllerError(errorCodeOf(err), (err as Error).message, { cause: err, changed: 'changed' });
}

/** Runs the steps that follow a change to a node: whatever fails there failed on a changed node, and says so. */
export async function afterChange<T>(steps: () => Promise<T>): Promise<T> {
  try {
    return await steps();
  } catch (err) {
    throw asChanged(err);
  }
}
