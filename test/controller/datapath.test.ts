import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterEach, describe, expect, it } from 'vitest';
import { readRecords } from '../../controller/journal.js';
import { type ProbeStats, formatProbes } from '../../controller/probes.js';
import { DatapathSandbox, waitFor } from '../../sandbox/index.js';
import { CONTROLLER_BIN, runCli } from '../support/cli.js';

/**
 * Workload migration on a real data plane: per node a namespace with
 * ovs-vswitchd (userspace datapath) and ovn-controller, VMs as namespaces
 * whose taps start on Linux bridges (the old dataplane), a Northbound with a
 * provider network, an overlay network and a router whose gateway port sits
 * on the gateway nodes. Pings run all along (rollout probes).
 */
let sandbox: DatapathSandbox | undefined;

afterEach(async () => {
  await sandbox?.stop();
  sandbox = undefined;
});

interface RolloutJson {
  outcome: string;
  nodes: { host: string; state: string; steps: { step: string; ok: boolean; detail?: string; error?: string }[] }[];
  probes: ProbeStats[];
}

function writeInventory(s: DatapathSandbox, edit: (inv: Record<string, any>) => void = () => undefined): string {
  const inv = s.inventory() as Record<string, any>;
  edit(inv);
  const path = join(s.dir, 'inventory.yaml');
  writeFileSync(path, stringify(inv));
  return path;
}

async function rollout(s: DatapathSandbox, inv: string, journal: string, ...args: string[]): Promise<{ code: number; out: RolloutJson; stderr: string }> {
  const timeout = args.includes('--verify-timeout') ? [] : ['--verify-timeout', '20'];
  const r = await runCli(CONTROLLER_BIN, ['rollout', '-i', inv, '--bindings', s.writeBindings(), '--journal', journal, ...timeout, '--json', ...args]);
  let out: RolloutJson;
  try {
    out = JSON.parse(r.stdout) as RolloutJson;
  } catch {
    throw new Error(`rollout printed no JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr.slice(-3000)}`);
  }
  return { code: r.code, out, stderr: r.stderr };
}

const stepOf = (out: RolloutJson, host: string, step: string) => out.nodes.find((n) => n.host === host)?.steps.find((s) => s.step === step);

describe('workload migration on a real data plane', () => {
  it('a rolling migration (4 nodes, 2 gateways, 2 VMs each) moves every VIF, proves each bound and installed, and measures every VM\'s pings; beside it, a naive run', async () => {
    const tables: string[] = [];
    for (const mode of ['rolling', 'naive'] as const) {
      sandbox = await DatapathSandbox.start({ gateways: 2, computes: 2, vmsPerNode: 2 });
      const s = sandbox;
      const inv = writeInventory(s);
      const journal = join(s.dir, 'rollout.journal');
      const args = mode === 'rolling' ? ['--batch', '1'] : ['--batch', '100%', '--no-drain'];
      const { code, out } = await rollout(s, inv, journal, ...args);
      expect(code, JSON.stringify(out.nodes, null, 1)).toBe(0);
      expect(out.outcome).toBe('done');
      for (const n of s.nodes) {
        expect(stepOf(out, n.name, 'verify')?.detail).toContain(`${s.vms.filter((v) => v.host === n.name).length} VIFs bound to it and installed`);
        expect(stepOf(out, n.name, 'backup')?.detail).toMatch(/saved to .*\.db/);
      }
      // Every VM's tap is on br-int now, and none is left on an old bridge.
      for (const vm of s.vms) expect(s.tapBridge(vm)).toBe('br-int');
      // Every probe came back: each VM reaches its peer on the provider network, across the overlay and through the router.
      expect(out.probes.map((p) => p.name).sort()).toEqual(s.probes().map((p) => p.name).sort());
      for (const p of out.probes) expect(p, p.name).toMatchObject({ back: true });
      if (mode === 'rolling') {
        // gw-1 was drained (its priority below gw-2's) and put back after it verified.
        expect(stepOf(out, 'gw-1', 'drain')?.detail).toMatch(/moved lrp-gateway \(20→\d+\)/);
        expect(stepOf(out, 'gw-1', 'undrain')?.detail).toContain('gateway priorities back');
        expect(s.gatewayPriorities()).toEqual({ 'gw-1': 20, 'gw-2': 10 });
        await waitFor('the router port back on gw-1', () => s.activeGateway() === 'gw-1' || undefined, 20_000);

        // Rollback of a migrated node: its VIFs back on the old path, its keys restored, its VMs ping again.
        const cmp = s.vms.filter((v) => v.host === 'cmp-1');
        const rb = await runCli(CONTROLLER_BIN, ['rollback', '-i', inv, '--limit', 'cmp-1', '--journal', journal]);
        expect(rb.code, rb.stdout + rb.stderr).toBe(0);
        expect(rb.stdout).toContain(`put ${cmp.length} VIFs back on their old bridges`);
        for (const vm of cmp) expect(s.tapBridge(vm)).toBe(vm.network === 'provider' ? 'old-provider' : 'old-tenant');
        const node = s.nodes.find((n) => n.name === 'cmp-1')!;
        expect(node.ovsdb.externalIds()['ovn-remote']).toBeUndefined();
        const provider = cmp.find((v) => v.network === 'provider')!;
        const peer = s.vms.find((v) => v.network === 'provider' && v.host === 'gw-1')!;
        await waitFor(`${provider.name} pinging ${peer.name} again on the old path`, () => s.pings(provider, peer) || undefined, 20_000);
      }
      tables.push(`${mode === 'rolling' ? 'Rolling (batch 1, gateways drained)' : 'Naive (every node at once, no drain)'}:`, ...formatProbes(out.probes), '');
      await s.stop();
      sandbox = undefined;
    }
    console.log(tables.join('\n'));
  }, 240_000);

  it('maintenance on a gateway (its provider NIC down for 2 s in a hook): drained, the router port is on the other gateway meanwhile; not drained, traffic through the router stops', async () => {
    sandbox = await DatapathSandbox.start({ gateways: 2, computes: 1, vmsPerNode: 2 });
    const s = sandbox;
    const first = await rollout(s, writeInventory(s), join(s.dir, 'migrate.journal'), '--batch', '100%');
    expect(first.code, JSON.stringify(first.out.nodes, null, 1)).toBe(0);
    await waitFor('the router port on gw-1, its preferred gateway', () => s.activeGateway() === 'gw-1' || undefined, 20_000);
    const seen = (mode: string) => join(s.dir, `active-during-hook-${mode}`);
    const tables: string[] = [];
    for (const mode of ['drained', 'not drained'] as const) {
      const inv = writeInventory(s, (i) => {
        // Only the router's path is measured: what a gateway drain is for.
        i.rollout.probes = s.probes().filter((p) => p.name.includes('via router'));
        for (const n of s.nodes.filter((x) => x.group === 'gateway')) {
          i.hosts[n.name].hooks = {
            before: [
              { action: 'command', argv: ['sh', '-c', 'ovn-sbctl --db="$0" --bare --columns=chassis find Port_Binding logical_port=cr-lrp-gateway >> "$1"', s.sb.unix, seen(mode)] },
              { action: 'command', argv: ['ip', 'link', 'set', n.providerUplink, 'down'] },
              { action: 'command', argv: ['sleep', '2'] },
            ],
            after: [{ action: 'command', argv: ['ip', 'link', 'set', n.providerUplink, 'up'] }],
          };
        }
      });
      const r = await rollout(s, inv, join(s.dir, `maintenance-${mode}.journal`), '--batch', '1', '--limit', 'gateway', ...(mode === 'drained' ? [] : ['--no-drain']));
      expect(r.code, JSON.stringify(r.out.nodes, null, 1)).toBe(0);
      for (const p of r.out.probes) expect(p, p.name).toMatchObject({ back: true });
      tables.push(`Gateway maintenance, ${mode}:`, ...formatProbes(r.out.probes), '');
      await waitFor('the router port back on gw-1', () => s.activeGateway() === 'gw-1' || undefined, 20_000);
    }
    const chassisUuid = (host: string) => s.sbctl('--bare', '--columns=_uuid', 'find', 'Chassis', `name=${s.nodes.find((n) => n.name === host)!.systemId}`);
    // While gw-1's hooks ran, its router port was on gw-2 when drained, and still on gw-1 when not.
    expect(readFileSync(seen('drained'), 'utf8').split('\n')[0]).toBe(chassisUuid('gw-2'));
    expect(readFileSync(seen('not drained'), 'utf8').split('\n')[0]).toBe(chassisUuid('gw-1'));
    expect(s.gatewayPriorities()).toEqual({ 'gw-1': 20, 'gw-2': 10 });
    console.log(tables.join('\n'));
  }, 240_000);

  it('a VIF whose port the Northbound does not know is reported, its node not counted, and rollout.onFailure: rollback puts the node back (VIFs, keys, gateway priorities) so its VMs ping on the old path', async () => {
    sandbox = await DatapathSandbox.start({ gateways: 2, computes: 1, vmsPerNode: 2 });
    const s = sandbox;
    const stray = s.addStrayVm('cmp-1');
    const inv = writeInventory(s, (i) => {
      i.rollout.onFailure = 'rollback';
      // gw-1 fails after its drain and its apply: the rollback must undo both.
      i.hosts['gw-1'].hooks = { after: [{ action: 'command', argv: ['false'] }] };
    });
    const { code, out } = await rollout(s, inv, join(s.dir, 'rollout.journal'), '--batch', '1', '--max-failures', '1', '--verify-timeout', '8');
    expect(code).toBe(3);
    expect(out.nodes.find((n) => n.host === 'gw-2')?.state).toBe('done');
    for (const host of ['gw-1', 'cmp-1']) expect(out.nodes.find((n) => n.host === host)?.state, host).toBe('rolled-back');
    const verify = stepOf(out, 'cmp-1', 'verify');
    expect(verify?.ok).toBe(false);
    expect(verify?.error).toContain(`port ${stray.port}`);
    expect(verify?.error).toContain('unknown to the Northbound');
    // The other VIFs of cmp-1 were bound: only the stray one is named.
    expect(verify?.error).toMatch(/1 of 3 VIFs did not come up/);
    // Both failed nodes are back on the old path, with their keys gone and gw-1's priority back.
    for (const vm of s.vms.filter((v) => v.host !== 'gw-2')) expect(s.tapBridge(vm), vm.name).toBe(vm.network === 'provider' ? 'old-provider' : 'old-tenant');
    for (const host of ['gw-1', 'cmp-1']) expect(s.nodes.find((n) => n.name === host)!.ovsdb.externalIds()['ovn-remote'], host).toBeUndefined();
    expect(s.gatewayPriorities()).toEqual({ 'gw-1': 20, 'gw-2': 10 });
    const vm = s.vms.find((v) => v.host === 'cmp-1' && v.network === 'provider' && v !== stray)!;
    const peer = s.vms.find((v) => v.host === 'gw-2' && v.network === 'provider')!;
    await waitFor(`${vm.name} (rolled back) pinging ${peer.name} (migrated) over the provider network`, () => s.pings(vm, peer) || undefined, 20_000);
  }, 180_000);

  it('a node whose underlay MTU is too small for the tenant MTU over Geneve stops at pre-flight, before any hook; the rest of its batch goes on', async () => {
    sandbox = await DatapathSandbox.start({ gateways: 1, computes: 2, vmsPerNode: 1 });
    const s = sandbox;
    const small = s.nodes.find((n) => n.name === 'cmp-2')!;
    s.inNs(small.netns, 'ip', 'link', 'set', 'br-phy', 'mtu', '1400');
    const marker = (host: string) => join(s.dir, `before-${host}`);
    const inv = writeInventory(s, (i) => {
      for (const n of s.nodes) i.hosts[n.name].hooks = { before: [{ action: 'command', argv: ['sh', '-c', 'touch "$0" && echo "touched $0"', marker(n.name)] }] };
    });
    // Fleet-wide first, changing nothing: the operator sees cmp-2's problem before any rollout.
    const pre = await runCli(CONTROLLER_BIN, ['rollout', '-i', inv, '--batch', '1', '--preflight-only']);
    expect(pre.code, pre.stdout + pre.stderr).toBe(3);
    expect(pre.stdout).toMatch(/cmp-2: FAILED \(PREFLIGHT_FAILED\): pre-flight: the underlay MTU/);
    expect(pre.stdout).toMatch(/cmp-1: .*pre-flight passed/);
    for (const n of s.nodes) expect(n.ovsdb.externalIds()['ovn-remote'], n.name).toBeUndefined();
    expect(existsSync(marker('cmp-1'))).toBe(false);
    const journal = join(s.dir, 'rollout.journal');
    const { code, out } = await rollout(s, inv, journal, '--batch', '2', '--max-failures', '1');
    expect(code).toBe(3);
    const precheck = stepOf(out, 'cmp-2', 'precheck');
    expect(precheck?.ok).toBe(false);
    expect(precheck?.error).toMatch(/underlay MTU under encap IP .* \(br-phy\) is 1400; tenant MTU 1442 over Geneve needs 1500/);
    expect(existsSync(marker('cmp-2'))).toBe(false);
    expect(stepOf(out, 'cmp-2', 'before')).toBeUndefined();
    expect(out.nodes.find((n) => n.host === 'cmp-1')?.state).toBe('done');
    expect(existsSync(marker('cmp-1'))).toBe(true);
    // What the hook printed is kept in the journal.
    const before = readRecords(journal).find((r) => r.type === 'step' && r.host === 'cmp-1' && r.step === 'before' && r.phase === 'end');
    expect(before?.type === 'step' && before.hooks?.[0]?.output).toBe(`touched ${marker('cmp-1')}`);
  }, 120_000);
});
