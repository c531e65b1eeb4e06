/**
 * The rollout's decisions, as pure functions of where it stands (as
 * ovsdb/reconnect.ts is for timers): the runner carries them out and decides
 * nothing itself, so every rule here is proven by unit tests without servers.
 */

export type OnFailure = 'stop' | 'rollback' | 'continue';

export interface BatchOutcome {
  /** 0-based. */
  index: number;
  total: number;
  /** The first batch is a canary: it may fail no node. */
  canary: boolean;
  /** Nodes that failed in this batch (rolled back or not). */
  failed: string[];
  maxFailures: number;
  onFailure: OnFailure;
  /** No later batch has a node left to do. */
  lastWithWork: boolean;
  /** The operator asked to stop (Ctrl-C, SIGTERM). */
  stopRequested: boolean;
  pauseS: number;
}

export type Decision =
  | { kind: 'stop'; outcome: 'failed' | 'stopped'; reason: string }
  | { kind: 'pause'; seconds: number }
  | { kind: 'next' }
  | { kind: 'finish' };

/** What happens after a batch ends: stop (failed or by request), pause, go on, or finish. */
export function afterBatch(b: BatchOutcome): Decision {
  const limit = b.index === 0 && b.canary ? 0 : b.maxFailures;
  if (b.failed.length > limit) {
    const reason = b.index === 0 && b.canary
      ? `the canary batch failed (${b.failed.join(', ')})`
      : `batch ${b.index + 1} had ${b.failed.length} failed nodes (${b.failed.join(', ')}), more than --max-failures ${b.maxFailures}`;
    return { kind: 'stop', outcome: 'failed', reason };
  }
  if (b.failed.length > 0 && b.onFailure === 'stop') {
    return { kind: 'stop', outcome: 'failed', reason: `batch ${b.index + 1} had failed nodes (${b.failed.join(', ')}) and rollout.onFailure is stop` };
  }
  if (b.lastWithWork) return { kind: 'finish' };
  if (b.stopRequested) return { kind: 'stop', outcome: 'stopped', reason: 'stopped by the operator between batches' };
  return b.pauseS > 0 ? { kind: 'pause', seconds: b.pauseS } : { kind: 'next' };
}

/** After a pause: stop if the operator asked meanwhile, else the next batch. */
export function afterPause(stopRequested: boolean): Decision {
  return stopRequested ? { kind: 'stop', outcome: 'stopped', reason: 'stopped by the operator between batches' } : { kind: 'next' };
}

/** What to do with a node that failed: put it back (VIFs and keys), or leave it for the operator. */
export function onNodeFailure(policy: OnFailure): 'rollback' | 'leave' {
  return policy === 'rollback' ? 'rollback' : 'leave';
}

/** The nodes of a batch still to do: those the journal does not show done. */
export function todoOf(batch: string[], isDone: (host: string) => boolean): string[] {
  return batch.filter((h) => !isDone(h));
}

/** The index of the last batch with a node left to do (-1: none), known before the first runs. */
export function lastBatchWithWork(batches: string[][], isDone: (host: string) => boolean): number {
  return batches.map((b) => b.some((h) => !isDone(h))).lastIndexOf(true);
}
