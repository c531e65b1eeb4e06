import { describe, expect, it } from 'vitest';
import { type BatchOutcome, afterBatch, afterPause, lastBatchWithWork, onNodeFailure, todoOf } from '../../controller/rollout-policy.js';

const batch = (over: Partial<BatchOutcome>): BatchOutcome => ({
  index: 1, total: 4, canary: false, failed: [], maxFailures: 0, onFailure: 'continue', lastWithWork: false, stopRequested: false, pauseS: 0, ...over,
});

describe('the rollout policy (pure)', () => {
  it('goes on to the next batch when nothing failed and nobody asked to stop', () => {
    expect(afterBatch(batch({}))).toEqual({ kind: 'next' });
  });

  it('pauses between batches when asked, and stops after the pause if the operator asked meanwhile', () => {
    expect(afterBatch(batch({ pauseS: 5 }))).toEqual({ kind: 'pause', seconds: 5 });
    expect(afterPause(false)).toEqual({ kind: 'next' });
    expect(afterPause(true)).toMatchObject({ kind: 'stop', outcome: 'stopped' });
  });

  it('a canary batch may fail no node, whatever --max-failures says', () => {
    expect(afterBatch(batch({ index: 0, canary: true, failed: ['a'], maxFailures: 5 }))).toMatchObject({ kind: 'stop', outcome: 'failed', reason: expect.stringContaining('canary') });
    expect(afterBatch(batch({ index: 0, canary: false, failed: ['a'], maxFailures: 1 }))).toEqual({ kind: 'next' });
  });

  it('stops when a batch has more failed nodes than --max-failures, and names them', () => {
    const d = afterBatch(batch({ failed: ['a', 'b'], maxFailures: 1 }));
    expect(d).toMatchObject({ kind: 'stop', outcome: 'failed' });
    expect(d.kind === 'stop' && d.reason).toContain('a, b');
  });

  it('onFailure: stop ends the rollout after a batch with any failure, even within --max-failures', () => {
    expect(afterBatch(batch({ failed: ['a'], maxFailures: 3, onFailure: 'stop' }))).toMatchObject({ kind: 'stop', outcome: 'failed', reason: expect.stringContaining('onFailure is stop') });
    expect(afterBatch(batch({ failed: ['a'], maxFailures: 3, onFailure: 'continue' }))).toEqual({ kind: 'next' });
    expect(afterBatch(batch({ failed: ['a'], maxFailures: 3, onFailure: 'rollback' }))).toEqual({ kind: 'next' });
  });

  it('the operator\'s stop takes effect between batches, never after the last one', () => {
    expect(afterBatch(batch({ stopRequested: true }))).toMatchObject({ kind: 'stop', outcome: 'stopped' });
    expect(afterBatch(batch({ stopRequested: true, lastWithWork: true }))).toEqual({ kind: 'finish' });
  });

  it('a failure limit is judged before finishing: a last batch that failed too much fails the rollout', () => {
    expect(afterBatch(batch({ lastWithWork: true, failed: ['a'] }))).toMatchObject({ kind: 'stop', outcome: 'failed' });
  });

  it('only onFailure: rollback puts a failed node back', () => {
    expect(onNodeFailure('rollback')).toBe('rollback');
    expect(onNodeFailure('stop')).toBe('leave');
    expect(onNodeFailure('continue')).toBe('leave');
  });

  it('which nodes are left, and which batch is the last with work, from what the journal shows done', () => {
    const done = new Set(['a', 'b', 'd']);
    const isDone = (h: string) => done.has(h);
    expect(todoOf(['a', 'c'], isDone)).toEqual(['c']);
    expect(lastBatchWithWork([['a'], ['c'], ['d']], isDone)).toBe(1);
    expect(lastBatchWithWork([['a'], ['b']], isDone)).toBe(-1);
  });
});
