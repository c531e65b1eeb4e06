import fs, { existsSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveFleet } from '../../controller/inventory.js';
import { Journal, readRecords } from '../../controller/journal.js';
import type { JournalRecord } from '../../schemas/journal.js';
import { rollout } from '../../controller/rollout.js';
import { watchSouthbound } from '../../controller/verify.js';
import { createLogger } from '../../common/log.js';
import { inventorySchema } from '../../schemas/inventory.js';
import { Sandbox, sleep, tempDir } from '../../sandbox/index.js';

const realFsync = fs.fsync;
const realWriteSync = fs.writeSync;

/**
 * A disk that holds back or refuses what the journal asks of it, which a
 * real disk here cannot be made to do: node:fs's own functions, wrapped (its
 * named exports are synced to the module, so the journal calls the wrapper).
 */
function interceptFsync(via: (fd: number, done: (err: NodeJS.ErrnoException | null) => void) => void): void {
  fs.fsync = ((fd: number, cb: (err: NodeJS.ErrnoException | null) => void) => via(fd, cb)) as typeof fs.fsync;
  syncBuiltinESMExports();
}

const refused = (code: string) => Object.assign(new Error(`${code}: refused by the disk`), { code });

afterEach(() => {
  fs.fsync = realFsync;
  fs.writeSync = realWriteSync;
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

  it('writes noted records with the next sync, never while an fsync runs; an append waits for a sync begun after every record before it; close syncs what is left', async () => {
    const path = join(tempDir('journal'), 'rollout.journal');
    const held: (() => void)[] = [];
    interceptFsync((fd, done) => held.push(() => realFsync(fd, done)));
    const j = Journal.open(path, false);
    j.note({ type: 'resume' });
    j.note({ type: 'resume' });
    expect(lines(path)).toBe(0);
    let durable = false;
    const appended = j.append({ type: 'resume' }).then(() => (durable = true));
    expect(lines(path)).toBe(3);
    await sleep(20);
    expect(held).toHaveLength(1);
    expect(durable).toBe(false);
    // A record that comes while that fsync runs is not covered by it: it is written, and its append resolved, with the next.
    let second = false;
    const next = j.append({ type: 'resume' }).then(() => (second = true));
    expect(lines(path)).toBe(3);
    held.shift()?.();
    await appended;
    expect(lines(path)).toBe(4);
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

  it.each([
    ['an fsync', () => interceptFsync((_fd, done) => done(refused('EIO')))],
    ['a write', () => {
      fs.writeSync = (() => {
        throw refused('ENOSPC');
      }) as typeof fs.writeSync;
      syncBuiltinESMExports();
    }],
  ])('ends at %s the disk refuses: the append that needed it fails, and so do every later record and the close', async (_what, refuse) => {
    const path = join(tempDir('journal'), 'rollout.journal');
    const j = Journal.open(path, false);
    refuse();
    j.note({ type: 'resume' });
    await expect(j.append({ type: 'resume' })).rejects.toMatchObject({ code: 'JOURNAL_FAILED', message: expect.stringContaining(`journal ${path} could not be written to disk`) });
    expect(() => j.note({ type: 'resume' })).toThrow(/could not be written to disk/);
    await expect(j.close()).rejects.toMatchObject({ code: 'JOURNAL_FAILED' });
  });

  it('refuses a journal that is not a regular file (a device is never read to its end), and leaves no lock behind', () => {
    const dir = tempDir('journal');
    for (const [name, target] of [['full', '/dev/full'], ['dir', dir]] as const) {
      const path = join(dir, `${name}.journal`);
      symlinkSync(target, path);
      for (const resume of [false, true]) expect(() => Journal.open(path, resume)).toThrow(`journal ${path} is not a regular file`);
      expect(existsSync(`${path}.lock`)).toBe(false);
    }
  });

  it('lets a rollout change no node before the disk holds the record that says it will', async () => {
    // The disk fails the sync that would cover the first apply's begin; every earlier one goes through.
    await rolloutOnFailingDisk((r) => r.step === 'apply' && r.phase === 'begin', (err, path, sandbox) => {
      expect(err).toMatchObject({ code: 'JOURNAL_FAILED' });
      expect((err as { changed?: unknown }).changed).toBeUndefined();
      const written = readRecords(path);
      expect(written.some((r) => r.type === 'step' && r.step === 'precheck' && r.phase === 'end' && r.ok)).toBe(true);
      for (const n of sandbox.nodes) expect(n.ovsdb.externalIds()).not.toHaveProperty('system-id');
    });
  }, 60_000);

  it('a rollout the disk stops after it changed a node says so (maybe-changed, exit 3), never that nothing was changed', async () => {
    // The disk fails the sync that would cover the first apply's end: the apply has happened by then.
    await rolloutOnFailingDisk((r) => r.step === 'apply' && r.phase === 'end', (err, _path, sandbox) => {
      expect(err).toMatchObject({ code: 'JOURNAL_FAILED', changed: 'maybe-changed', message: expect.stringMatching(/this run had begun changing cmp-1/) });
      expect(sandbox.nodes[0]!.ovsdb.externalIds()).toHaveProperty('system-id');
    });
  }, 60_000);
});

/** A rollout of two sandbox nodes on a disk that refuses every sync once the journal holds a step record `failAt` picks. */
async function rolloutOnFailingDisk(failAt: (r: Extract<JournalRecord, { type: 'step' }>) => boolean, check: (err: unknown, path: string, sandbox: Sandbox) => void): Promise<void> {
  const sandbox = await Sandbox.start({ computes: 2, gateways: 0 });
  const sb = await watchSouthbound({ endpoints: sandbox.southboundEndpoints });
  try {
    const path = join(sandbox.dir, 'rollout.journal');
    interceptFsync((fd, done) => {
      if (readRecords(path).some((r) => r.type === 'step' && failAt(r))) done(refused('EIO'));
      else realFsync(fd, done);
    });
    const fleet = resolveFleet(inventorySchema.parse(sandbox.inventory()), 'test');
    const journal = Journal.open(path, false);
    const log = createLogger('test', 'silent');
    const err = await rollout(fleet, journal, sb, {
      batch: '1', canary: 0, maxFailures: 0, pauseS: 0, verifyTimeoutS: 30, log,
      run: { concurrency: 1, nodeTimeoutMs: 30_000, stateRoot: sandbox.dir, log },
      onPlan: () => undefined, onEvent: () => undefined, stopRequested: () => false,
    }).then(() => undefined, (e: unknown) => e);
    await journal.close().catch(() => undefined);
    check(err, path, sandbox);
  } finally {
    sb.close();
    await sandbox.stop();
  }
}
