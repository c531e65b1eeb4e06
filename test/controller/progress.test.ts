import { describe, expect, it, vi } from 'vitest';
import pino from 'pino';
import { Progress, duration, statusLine } from '../../controller/progress.js';

describe('the live progress line', () => {
  it('says done of total, failures, elapsed and what is left at the pace so far', () => {
    expect(statusLine({ label: 'apply', done: 50, total: 200, failed: 2, elapsedMs: 30_000 })).toBe('apply: 50/200 done, 2 failed · 30 s · about 1 min 30 s left');
  });

  it('has no estimate before the first node or after the last, and no failures when there are none', () => {
    expect(statusLine({ label: 'diff', done: 0, total: 3, failed: 0, elapsedMs: 400 })).toBe('diff: 0/3 done · 400 ms');
    expect(statusLine({ label: 'diff', done: 3, total: 3, failed: 0, elapsedMs: 4_200 })).toBe('diff: 3/3 done · 4 s');
  });

  it('reads durations the way a person says them', () => {
    expect([duration(850), duration(12_400), duration(185_000), duration(3_720_000)]).toEqual(['850 ms', '12 s', '3 min 05 s', '1 h 02 min']);
  });
});

describe('progress lines', () => {
  it('are said at the info level: a logger set to warn (a script, the bench) quiets them, in text too', () => {
    const write = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const quiet = new Progress('apply', 2, pino({ level: 'warn', enabled: true }), true, false);
      quiet.node('cmp-1', 'applied');
      quiet.say('  cmp-1: done');
      expect(write).not.toHaveBeenCalled();
      const said = new Progress('apply', 2, pino({ level: 'info' }), true, false);
      said.node('cmp-1', 'applied 3 keys');
      expect(write).toHaveBeenCalledWith('apply [1/2] cmp-1: applied 3 keys\n');
    } finally {
      write.mockRestore();
    }
  });
});

