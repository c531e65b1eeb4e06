import fs, { readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveFleet } from '../../controller/inventory.js';
import { Journal, readRecords } from '../../controller/journal.js';
import { rollout } from '../../controller/rollout.js';
import { watchSouthbound } from '../../controller/verify.js';
import { createLogger } from '../../common/log.js';
import { inventorySchema } from '../../schemas/inventory.js';
import { Sandbox } from '../../scripts/lib/sandbox.js';
import { sleep, tempDir } from '../../scripts/lib/procs.js';

const realFsync = fs.fsync;

/**
 * Puts `fsync` in the journal's hands: each call the real fsync's, passed
 * through `via` (the module's named export is the same function: node:fs
 * exports are synced to it).
 */
function interceptFsync(via: (fd: number, done: (err: NodeJS.ErrnoException | null) => void) => void): void {
  fs.fsync = ((fd: number, cb: (err: NodeJS.ErrnoException | null) => void) => via(fd, cb)) as typeof fs.fsync;
  syncBuiltinESMExports();
}

afterEach(() => {
  fs.fsync = realFsync;
  syncBuiltinESMExports();
});

const lines = (path: string) => readFileSync(path, 'utf8').split('\n').filter(Boolean).length;

describe('journal', () => {
  it('drops a record torn by a crash mid-write, and the next record starts on its own line', async () => {
    const path = join(tempDir('journal'), 'rollout.journal');
    const whole = JSON.stringify({ type: 'node', host: 'cmp-1', state: 'done', at: new Date().toISOString() });
    writeFileSync(path, `${whole}\n{"type":"step","host":"cmp-2","st`);
    const j = Journal.open(path, true);
    expect(j.records.map((r) => r.type)).toEqual(['node']);
    await j.append({ type: 'resume' });
    await j.close();
    expect(readFileSync(path, 'utf8').split('\n').filter(Boolean)).toHaveLength(2);
    expect(readRecords(path).map((r) => r.type)).toEqual(['node', 'resume']);
  });

  it('cuts a complete but corrupt last record on resume, so the next resume still reads the journal', async () => {
    const path = join(tempDir('journal'), 'rollout.journal');
    const whole = JSON.stringify({ type: 'node', host: 'cmp-1', state: 'done', at: new Date().toISOString() });
    for (const corrupt of ['{"type":"step","host":"cmp-2","step":"apply","phase":"sideways"}', '\u0000\u0000garbage']) {
      writeFileSync(path, `${whole}\n${corrupt}\n`);
      for (let resume = 0; resume < 2; resume++) {
        const j = Journal.open(path, true);
        expect(j.records.map((r) => r.type)).toEqual(['node', ...Array(resume).fill('resume')]);
        await j.append({ type: 'resume' });
        await j.close();
      }
      expect(readRecords(path).map((r) => r.type)).toEqual(['node', 'resume', 'resume']);
    }
  });

  it('refuses a journal malformed anywhere but its last line', async () => {
    const path = join(tempDir('journal'), 'rollout.journal');
    writeFileSync(path, `not json\n${JSON.stringify({ type: 'resume', at: new Date().toISOString() })}\n`);
    expect(() => readRecords(path)).toThrow(`journal ${path} line 1 is not JSON`);
  });

  it('notes a record at once without waiting for the disk; an append waits for a sync begun after every record before it; close syncs what is left', async () => {
    const path = join(tempDir('journal'), 'rollout.journal');
    const held: (() => void)[] = [];
    interceptFsync((fd, done) => held.push(() => realFsync(fd, done)));
    const j = Journal.open(path, false);
    j.note({ type: 'resume' });
    j.note({ type: 'resume' });
    expect(lines(path)).toBe(2);
    expect(held).toHaveLength(0);
    let durable = false;
    const appended = j.append({ type: 'resume' }).then(() => (durable = true));
    await sleep(20);
    expect(held).toHaveLength(1);
    expect(durable).toBe(false);
    // A record written while that sync runs is not covered by it: its append waits for the next.
    let second = false;
    const next = j.append({ type: 'resume' }).then(() => (second = true));
    held.shift()?.();
    await appended;
    await sleep(20);
    expect(second).toBe(false);
    expect(held).toHaveLength(1);
    held.shift()?.();
    await next;
    j.note({ type: 'resume' });
    const closing = j.close();
    await sleep(20);
    expect(held).toHaveLength(1);
    held.shift()?.();
    await closing;
    expect(readRecords(path)).toHaveLength(5);
  });

  it('ends at a sync the disk refuses: the append that needed it fails, and so do every later record and the close', async () => {
    const dir = tempDir('journal');
    // fsync of /dev/null is refused by the kernel (EINVAL): a journal pointed at a device.
    const path = join(dir, 'device.journal');
    symlinkSync('/dev/null', path);
    const j = Journal.open(path, false);
    j.note({ type: 'resume' });
    await expect(j.append({ type: 'resume' })).rejects.toMatchObject({ code: 'JOURNAL_FAILED', message: expect.stringContaining(`journal ${path} could not be synced to disk`) });
    expect(() => j.note({ type: 'resume' })).toThrow(/could not be synced to disk/);
    await expect(j.close()).rejects.toMatchObject({ code: 'JOURNAL_FAILED' });
  });

  it('lets a rollout change no node before the disk holds the record that says it will', async () => {
    const sandbox = await Sandbox.start({ computes: 2, gateways: 0 });
    const sb = await watchSouthbound({ endpoints: sandbox.southboundEndpoints });
    try {
      const path = join(sandbox.dir, 'rollout.journal');
      // The disk fails the sync that would cover the first apply's begin; every earlier one goes through.
      interceptFsync((fd, done) => {
        const applying = readRecords(path).some((r) => r.type === 'step' && r.step === 'apply' && r.phase === 'begin');
        if (applying) done(Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' }));
        else realFsync(fd, done);
      });
      const fleet = resolveFleet(inventorySchema.parse(sandbox.inventory()), 'test');
      const journal = Journal.open(path, false);
      const log = createLogger('test', 'silent');
      await expect(
        rollout(fleet, journal, sb, {
          batch: '1', canary: 0, maxFailures: 0, pauseS: 0, verifyTimeoutS: 30, log,
          run: { concurrency: 1, nodeTimeoutMs: 30_000, stateRoot: sandbox.dir, log },
          onPlan: () => undefined, onEvent: () => undefined, stopRequested: () => false,
        }),
      ).rejects.toMatchObject({ code: 'JOURNAL_FAILED' });
      await journal.close().catch(() => undefined);
      const written = readRecords(path);
      expect(written.some((r) => r.type === 'step' && r.step === 'precheck' && r.phase === 'end' && r.ok)).toBe(true);
      for (const n of sandbox.nodes) expect(n.ovsdb.externalIds()).not.toHaveProperty('system-id');
    } finally {
      sb.close();
      await sandbox.stop();
    }
  }, 60_000);
});

