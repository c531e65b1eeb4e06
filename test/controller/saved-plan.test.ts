import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stalePlan } from '../../agent/planned.js';
import { checkInventory } from '../../controller/inventory.js';
import { loadPlan } from '../../controller/saved-plan.js';
import { Sandbox, tempDir } from '../../sandbox/index.js';
import { type SavedPlan, plannedOf } from '../../schemas/saved-plan.js';
import { CONTROLLER_BIN, nodesOf, runCli } from '../support/cli.js';

describe('a saved plan no longer holding (pure)', () => {
  const changes = [{ key: 'ovn-remote', action: 'add' as const, to: 'tcp:a' }, { key: 'ovn-encap-ip', action: 'change' as const, from: '10.0.0.1', to: '10.0.0.2' }];
  const planned = plannedOf(changes);

  it('holds while the node has the recorded values and needs exactly the planned changes', () => {
    expect(planned.expect).toEqual({ 'ovn-remote': null, 'ovn-encap-ip': '10.0.0.1' });
    expect(stalePlan(new Map([['ovn-encap-ip', '10.0.0.1']]), changes, planned)).toEqual([]);
  });

  it('names each key whose value moved, and each change that differs', () => {
    const now = new Map([['ovn-encap-ip', '10.0.0.9'], ['ovn-remote', 'tcp:b']]);
    expect(stalePlan(now, [{ key: 'ovn-encap-ip', action: 'change', from: '10.0.0.9', to: '10.0.0.2' }], planned)).toEqual([
      'ovn-remote was absent when the plan was made and is "tcp:b" now',
      'ovn-encap-ip was "10.0.0.1" when the plan was made and is "10.0.0.9" now',
    ]);
    expect(stalePlan(new Map([['ovn-encap-ip', '10.0.0.1']]), [...changes, { key: 'ovn-bridge', action: 'add', to: 'br-x' }], planned)).toEqual(['the plan for ovn-bridge differs from what the node needs now']);
  });
});

describe('saved plans on real nodes', () => {
  let sandbox: Sandbox;
  let inv: string;
  let dir: string;
  beforeAll(async () => {
    sandbox = await Sandbox.start({ gateways: 0, computes: 3 });
    inv = sandbox.writeInventory();
    dir = tempDir('saved-plan');
  }, 60_000);
  afterAll(async () => {
    await sandbox?.stop();
  });

  it('applies exactly the plan on the nodes that did not change, and refuses, untouched, the one that did, naming its keys', async () => {
    const plan = join(dir, 'plan.json');
    const d = await runCli(CONTROLLER_BIN, ['diff', '-i', inv, '-o', plan, '--state-dir', sandbox.dir]);
    expect(d.code, d.stderr).toBe(2);
    expect(d.stdout).toContain(`Plan saved to ${plan}`);
    const saved = JSON.parse(readFileSync(plan, 'utf8')) as SavedPlan;
    expect(saved.nodes.map((n) => n.host)).toEqual(['cmp-1', 'cmp-2', 'cmp-3']);

    // Someone else changes a planned key on cmp-2 after the plan was reviewed.
    const cmp2 = sandbox.nodes.find((n) => n.name === 'cmp-2')!;
    cmp2.ovsdb.vsctl('set', 'Open_vSwitch', '.', 'external_ids:ovn-encap-type=vxlan');
    const before = cmp2.ovsdb.externalIds();

    const r = await runCli(CONTROLLER_BIN, ['apply', '-i', inv, '--plan', plan, '--json', '--state-dir', sandbox.dir]);
    expect(r.code, r.stderr).toBe(3);
    const out = nodesOf<{ host: string; ok: boolean; error?: { code: string; message: string } }>(r.stdout);
    const refused = out.find((n) => n.host === 'cmp-2')!;
    expect(refused.ok).toBe(false);
    expect(refused.error?.code).toBe('PLAN_STALE');
    expect(refused.error?.message).toContain('ovn-encap-type was absent when the plan was made and is "vxlan" now');
    expect(cmp2.ovsdb.externalIds()).toEqual(before);
    for (const host of ['cmp-1', 'cmp-3']) {
      expect(out.find((n) => n.host === host)?.ok, host).toBe(true);
      const ids = sandbox.nodes.find((n) => n.name === host)!.ovsdb.externalIds();
      for (const c of saved.nodes.find((n) => n.host === host)!.changes) expect(ids[c.key], `${host} ${c.key}`).toBe(c.to);
    }
  }, 120_000);

  it('refuses a plan from another inventory, one too old, and --limit with --plan, changing nothing', async () => {
    const plan = join(dir, 'plan2.json');
    expect((await runCli(CONTROLLER_BIN, ['diff', '-i', inv, '-o', plan, '--limit', 'cmp-3', '--state-dir', sandbox.dir])).code).toBe(0);
    const fleet = checkInventory(JSON.parse(JSON.stringify(sandbox.inventory())), inv);
    expect(loadPlan(plan, fleet, 24).hosts.map((h) => h.name)).toEqual(['cmp-3']);
    expect(() => loadPlan(plan, fleet, 24, Date.now() + 25 * 3_600_000)).toThrow(/more than --plan-max-age 24/);
    const other = sandbox.inventory() as Record<string, any>;
    other.hosts['cmp-3'].encap = { ip: '127.0.9.9' };
    expect(() => loadPlan(plan, checkInventory(other, 'other.yaml'), 24)).toThrow(/made from another inventory/);
    const otherPath = join(dir, 'other.json');
    writeFileSync(otherPath, JSON.stringify(other));
    const r = await runCli(CONTROLLER_BIN, ['apply', '-i', otherPath, '--plan', plan, '--state-dir', sandbox.dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('made from another inventory');
    const l = await runCli(CONTROLLER_BIN, ['apply', '-i', inv, '--plan', plan, '--limit', 'cmp-3', '--state-dir', sandbox.dir]);
    expect(l.code).toBe(1);
    expect(l.stderr).toContain('give no --limit with it');
  }, 60_000);
});

describe('a saved rollout plan on real nodes', () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await Sandbox.start({ gateways: 0, computes: 3 });
  }, 60_000);
  afterAll(async () => {
    await sandbox?.stop();
  });

  it('rollout --plan-only -o saves the batches and changes; rollout --plan runs exactly them and refuses, untouched, the node that changed since', async () => {
    const inv = sandbox.writeInventory();
    const dir = tempDir('rollout-plan');
    const plan = join(dir, 'rollout.plan');
    const p = await runCli(CONTROLLER_BIN, ['rollout', '-i', inv, '--batch', '1', '--plan-only', '-o', plan, '--state-dir', sandbox.dir]);
    expect(p.code, p.stderr).toBe(2);
    expect(p.stdout).toContain('batch 1: cmp-1');
    const saved = JSON.parse(readFileSync(plan, 'utf8')) as SavedPlan;
    expect(saved.batches).toEqual([['cmp-1'], ['cmp-2'], ['cmp-3']]);
    for (const n of sandbox.nodes) expect(n.ovsdb.externalIds()['ovn-remote'], n.name).toBeUndefined();

    const cmp2 = sandbox.nodes.find((n) => n.name === 'cmp-2')!;
    cmp2.ovsdb.vsctl('set', 'Open_vSwitch', '.', 'external_ids:ovn-encap-type=vxlan');
    const before = cmp2.ovsdb.externalIds();
    const r = await runCli(CONTROLLER_BIN, ['rollout', '-i', inv, '--batch', '1', '--plan', plan, '--max-failures', '1', '--journal', join(dir, 'j'), '--json', '--state-dir', sandbox.dir]);
    expect(r.code, r.stderr).toBe(3);
    const out = JSON.parse(r.stdout) as { nodes: { host: string; state: string; steps: { step: string; ok: boolean; error?: string }[] }[] };
    const failed = out.nodes.find((n) => n.host === 'cmp-2')!;
    expect(failed.state).toBe('failed');
    expect(failed.steps.find((s) => s.step === 'apply')?.error).toContain('ovn-encap-type was absent when the plan was made and is "vxlan" now');
    expect(cmp2.ovsdb.externalIds()).toEqual(before);
    for (const host of ['cmp-1', 'cmp-3']) expect(out.nodes.find((n) => n.host === host)?.state, host).toBe('done');
  }, 120_000);
});
