import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KEEP_SNAPSHOTS, PRUNE_BATCH, SnapshotStore } from '../../agent/snapshots.js';
import { tempDir } from '../../sandbox/index.js';

const snapshot = (n: number, cause: 'apply' | 'repair' = 'apply') => ({
  version: 1 as const,
  takenAt: new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString(),
  backend: 'test',
  cause,
  keys: { 'ovn-encap-ip': `192.0.2.${n % 250}` },
});

describe('snapshot store', () => {
  it(`keeps the newest ${KEEP_SNAPSHOTS} or more snapshots of applies and of repairs, so repairs never push the last apply out`, async () => {
    const dir = tempDir('snapshots');
    const store = await SnapshotStore.open(dir);
    const applies = KEEP_SNAPSHOTS + PRUNE_BATCH + 1;
    const repairs = (KEEP_SNAPSHOTS + PRUNE_BATCH + 1) * 2;
    for (let n = 0; n < applies; n++) await store.save(snapshot(n));
    for (let n = 1000; n < 1000 + repairs; n++) await store.save(snapshot(n, 'repair'));
    const files = readdirSync(join(dir, 'snapshots')).filter((f) => f.endsWith('.json'));
    expect(files.length).toBeGreaterThanOrEqual(KEEP_SNAPSHOTS * 2);
    expect(files.length).toBeLessThanOrEqual((KEEP_SNAPSHOTS + PRUNE_BATCH) * 2);
    const last = await store.lastApply();
    expect(last?.snapshot.takenAt).toBe(snapshot(applies - 1).takenAt);
    expect(last?.repairsSince.length).toBeGreaterThanOrEqual(KEEP_SNAPSHOTS);
    expect(JSON.parse(readFileSync(last!.repairsSince[0]!, 'utf8'))).toMatchObject({ takenAt: snapshot(1000 + repairs - 1).takenAt, cause: 'repair' });
  });

  it('finds the last apply behind the drift repairs taken since', async () => {
    const store = await SnapshotStore.open(tempDir('snapshots'));
    await store.save(snapshot(1));
    const apply = await store.save(snapshot(2));
    const repairs = [await store.save(snapshot(3, 'repair')), await store.save(snapshot(4, 'repair'))];
    const last = await store.lastApply();
    expect(last?.path).toBe(apply);
    expect(last?.repairsSince).toEqual(repairs.reverse());
  });

  it('reads back a snapshot changed on disk since this process wrote it, instead of what it remembers writing', async () => {
    const dir = tempDir('snapshots');
    const store = await SnapshotStore.open(dir);
    const first = await store.save(snapshot(1));
    // Still ours as written: the next save compares with it without reading it again, and keeps it.
    await store.save(snapshot(2), (newest) => newest.takenAt !== snapshot(1).takenAt);
    expect(readdirSync(join(dir, 'snapshots'))).toContain(first.slice(first.lastIndexOf('/') + 1));
    // Damaged after it was written (same name, other content): it must be seen as damaged, and set aside.
    const second = (await store.lastApply())?.path as string;
    writeFileSync(second, '{"version": 1, "keys": ');
    const seen: string[] = [];
    await store.save(snapshot(3), (newest) => {
      seen.push(newest.takenAt);
      return false;
    });
    expect(seen).toEqual([]);
    expect(store.warnings.join('\n')).toMatch(/is unreadable.*moved to .*corrupt/);
    expect(readdirSync(join(dir, 'snapshots', 'corrupt'))).toEqual([second.slice(second.lastIndexOf('/') + 1)]);
  });
});
