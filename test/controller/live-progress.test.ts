import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Sandbox, tempDir } from '../../sandbox/index.js';
import { CONTROLLER_BIN, runCli } from '../support/cli.js';
import { inTerminal } from '../support/terminal.js';

describe('progress a person can watch', () => {
  let sandbox: Sandbox;
  let inv: string;
  let dir: string;
  beforeAll(async () => {
    sandbox = await Sandbox.start({ gateways: 0, computes: 2 });
    inv = sandbox.writeInventory();
    dir = tempDir('live-progress');
  }, 60_000);
  afterAll(async () => {
    await sandbox?.stop();
  });

  it('at a terminal, a fleet command keeps a live line beneath its node lines (done/total, failures, elapsed) and leaves the final tally', async () => {
    const t = inTerminal('diff-live', ['diff', '-i', inv, '--state-dir', sandbox.dir], dir);
    try {
      expect(await t.exit(), t.screen()).toBe(2);
      const screen = t.screen();
      expect(screen).toMatch(/diff \[1\/2\] cmp-\d: \d+ changes/);
      expect(screen).toMatch(/^diff: 2\/2 done · \d+ (ms|s)$/m);
    } finally {
      t.close();
    }
  }, 60_000);

  it('a rollout\'s live line counts the nodes of the run; without a terminal there is no live line, only plain lines', async () => {
    const t = inTerminal('rollout-live', ['rollout', '-i', inv, '--batch', '1', '--yes', '--journal', join(dir, 'r.journal'), '--state-dir', sandbox.dir], dir);
    try {
      expect(await t.exit(), t.screen()).toBe(0);
      expect(t.screen()).toMatch(/^rollout: 2\/2 done · \d+ (ms|s)$/m);
      expect(t.screen()).toContain('cmp-1: done');
    } finally {
      t.close();
    }
    const piped = await runCli(CONTROLLER_BIN, ['diff', '-i', inv, '--state-dir', sandbox.dir]);
    expect(piped.stderr).toMatch(/diff \[2\/2\] cmp-\d: in sync/);
    expect(piped.stderr).not.toMatch(/\r|\u001b\[2K|done ·/);
  }, 120_000);
});
