import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KEEP_SNAPSHOTS, SnapshotStore } from '../../agent/snapshots.js';
import { tempDir } from '../../scripts/lib/procs.js';

const snapshot = (n: number, cause: 'apply' | 'repair' = 'apply') => ({
  version: 1 as const,
  takenAt: new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString(),
  backend: 'test',
  cause,
  keys: { 'ovn-encap-ip': `192.0.2.${n % 250}` },
});

describe('snapshot store', () => {
  it(`keeps the newest ${KEEP_SNAPSHOTS} snapshots of applies and of repairs, so repairs never push the last apply out`, () => {
    const dir = tempDir('snapshots');
    const store = new SnapshotStore(dir);
    for (let n = 0; n < KEEP_SNAPSHOTS + 5; n++) store.save(snapshot(n));
    for (let n = 200; n < 200 + KEEP_SNAPSHOTS * 2; n++) store.save(snapshot(n, 'repair'));
    const files = readdirSync(join(dir, 'snapshots')).filter((f) => f.endsWith('.json'));
    expect(files).toHaveLength(KEEP_SNAPSHOTS * 2);
    expect(store.lastApply()?.snapshot.takenAt).toBe(snapshot(KEEP_SNAPSHOTS + 4).takenAt);
    expect(store.latest()?.snapshot.takenAt).toBe(snapshot(200 + KEEP_SNAPSHOTS * 2 - 1).takenAt);
  });

  it('finds the last apply behind the drift repairs taken since', () => {
    const store = new SnapshotStore(tempDir('snapshots'));
    store.save(snapshot(1));
    const apply = store.save(snapshot(2));
    const repairs = [store.save(snapshot(3, 'repair')), store.save(snapshot(4, 'repair'))];
    const last = store.lastApply();
    expect(last?.path).toBe(apply);
    expect(last?.repairsSince).toEqual(repairs.reverse());
  });
});
