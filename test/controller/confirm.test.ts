import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Sandbox, tempDir } from '../../sandbox/index.js';
import { CONTROLLER_BIN, runCli } from '../support/cli.js';
import { inTerminal } from '../support/terminal.js';

describe('confirmation at a terminal', () => {
  let sandbox: Sandbox;
  let inv: string;
  let dir: string;
  beforeAll(async () => {
    sandbox = await Sandbox.start({ gateways: 0, computes: 1 });
    inv = sandbox.writeInventory();
    dir = tempDir('confirm');
  }, 60_000);
  afterAll(async () => {
    await sandbox?.stop();
  });
  const node = () => sandbox.nodes[0]!.ovsdb.externalIds();

  it('apply shows what it will change and asks: "no" changes nothing, "yes" applies exactly what was shown', async () => {
    const no = inTerminal('apply-no', ['apply', '-i', inv, '--state-dir', sandbox.dir], dir);
    try {
      await no.prompted();
      expect(no.screen()).toContain('ovn-remote');
      no.type('no');
      expect(await no.exit(), no.screen()).toBe(1);
      expect(no.screen()).toContain('cancelled at the prompt: nothing was changed');
    } finally {
      no.close();
    }
    expect(node()['ovn-remote']).toBeUndefined();
    const yes = inTerminal('apply-yes', ['apply', '-i', inv, '--state-dir', sandbox.dir], dir);
    try {
      await yes.prompted();
      yes.type('yes');
      expect(await yes.exit(), yes.screen()).toBe(0);
    } finally {
      yes.close();
    }
    expect(node()['ovn-remote']).toBe(sandbox.southboundEndpoints[0]);
  }, 120_000);

  it('--yes at a terminal does not ask, and without a terminal (a script) nothing asks', async () => {
    const t = inTerminal('rollback-yes', ['rollback', '-i', inv, '--limit', 'cmp-1', '--yes', '--state-dir', sandbox.dir], dir);
    try {
      expect(await t.exit(), t.screen()).toBe(0);
      expect(t.screen()).not.toContain("Only 'yes'");
    } finally {
      t.close();
    }
    expect(node()['ovn-remote']).toBeUndefined();
    const scripted = await runCli(CONTROLLER_BIN, ['apply', '-i', inv, '--state-dir', sandbox.dir]);
    expect(scripted.code, scripted.stderr).toBe(0);
    expect(scripted.stderr).not.toContain("Only 'yes'");
    expect(node()['ovn-remote']).toBe(sandbox.southboundEndpoints[0]);
  }, 120_000);

  it('without a terminal, progress is text a person can read; --log-json gives JSON lines', async () => {
    const text = await runCli(CONTROLLER_BIN, ['diff', '-i', inv, '--state-dir', sandbox.dir]);
    expect(text.stderr).toMatch(/^diff \[1\/1\] cmp-1: /m);
    expect(text.stderr).not.toContain('"level"');
    const json = await runCli(CONTROLLER_BIN, ['diff', '-i', inv, '--state-dir', sandbox.dir, '--log-json']);
    const lines = json.stderr.trim().split('\n').map((l) => JSON.parse(l) as { op?: string; host?: string });
    expect(lines).toContainEqual(expect.objectContaining({ op: 'diff', host: 'cmp-1' }));
  }, 60_000);

  it('rollback and a rollout ask too, and "no" leaves the node as it is', async () => {
    const before = node();
    const rb = inTerminal('rollback-no', ['rollback', '-i', inv, '--limit', 'cmp-1', '--state-dir', sandbox.dir], dir);
    try {
      await rb.prompted();
      expect(rb.screen()).toContain('Rolling back 1 node: cmp-1');
      rb.type('no');
      expect(await rb.exit(), rb.screen()).toBe(1);
    } finally {
      rb.close();
    }
    const ro = inTerminal('rollout-no', ['rollout', '-i', inv, '--batch', '1', '--journal', join(dir, 'r.journal'), '--state-dir', sandbox.dir], dir);
    try {
      await ro.prompted();
      expect(ro.screen()).toContain('batch 1: cmp-1');
      ro.type('no');
      expect(await ro.exit(), ro.screen()).toBe(1);
    } finally {
      ro.close();
    }
    expect(node()).toEqual(before);
  }, 120_000);

  it('status with the Southbound down still shows every node, its registration unproven, and says why (exit 1)', async () => {
    await sandbox.sb.stop();
    const r = await runCli(CONTROLLER_BIN, ['status', '-i', inv, '--state-dir', sandbox.dir]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/cmp-1\s+(in sync|drifted[^\n]*)\s+unproven: the Southbound DB could not be reached/);
    expect(r.stderr).toContain('cannot reach the Southbound DB');
  }, 60_000);
});
