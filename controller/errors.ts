/** Failures the controller reports per node or for the whole run, with a code to switch on. */
export type ControllerErrorCode =
  | 'INVALID_CONFIG'
  | 'INVALID_INVENTORY'
  | 'UNREACHABLE'
  | 'HOST_KEY_UNKNOWN'
  | 'HOST_KEY_CHANGED'
  | 'AUTH_FAILED'
  | 'CONNECTION_LOST'
  | 'TIMEOUT'
  | 'AGENT_ERROR'
  | 'PROTOCOL'
  | 'REFUSED'
  | 'NOT_VERIFIED'
  | 'OUTCOME_UNKNOWN'
  | 'PROTOCOL_MISMATCH'
  | 'AGENT_UNHEALTHY'
  | 'AGENT_NOT_STARTED'
  | 'JOURNAL_FAILED'
  /** A rollout's pre-flight found the node not ready (MTU, tunnel reach, nova's host name, versions, gateways left). */
  | 'PREFLIGHT_FAILED'
  /** A gateway's router ports could not be moved to the other gateways, or back. */
  | 'DRAIN_FAILED'
  /** The operator answered no at the prompt: nothing was changed. */
  | 'CANCELLED';

/** What a failure left on its node: changed (the write happened), or perhaps changed (its outcome is unknown). */
export type NodeChange = 'changed' | 'maybe-changed';

export class ControllerError extends Error {
  readonly code: ControllerErrorCode | string;
  /** Set when the node was, or may have been, changed before the failure: such a failure never ends a command with exit 1. */
  readonly changed: NodeChange | undefined;

  constructor(code: ControllerErrorCode | string, message: string, options?: { cause?: unknown; changed?: NodeChange }) {
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

/** Runs the steps that follow a change to a node: whatever fails there failed on a changed node, and says so. */
export async function afterChange<T>(steps: () => Promise<T>): Promise<T> {
  try {
    return await steps();
  } catch (err) {
    if (err instanceof ControllerError && err.changed === 'changed') throw err;
    const e = err as Error & { code?: unknown };
    throw new ControllerError(typeof e.code === 'string' ? e.code : 'ERROR', e.message, { cause: err, changed: 'changed' });
  }
}
