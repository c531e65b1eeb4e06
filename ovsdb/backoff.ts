/**
 * Reconnect delays, as the OVS reconnect FSM does them: start at the minimum,
 * double after each failed attempt, cap at the maximum, reset on success.
 * Pure, so it is tested without sockets or clocks.
 */
export interface BackoffPolicy {
  minMs: number;
  maxMs: number;
}

export const OVS_BACKOFF: BackoffPolicy = { minMs: 1000, maxMs: 8000 };

export function backoffDelay(policy: BackoffPolicy, failedAttempts: number): number {
  if (failedAttempts <= 0) return 0;
  return Math.min(policy.maxMs, policy.minMs * 2 ** Math.min(failedAttempts - 1, 30));
}
