import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OvsdbCluster, OvnController, run, waitFor, Sandbox } from '../../sandbox/index.js';
import { CONTROLLER_BIN, nodesOf, runCli } from '../support/cli.js';

/**
 * The controller against a real 3-member Raft Southbound, with real
 * ovn-controllers registering through it, and the faults production has:
 * the leader killed mid-verification and mid-rollout, a member cut off from
 * its cluster, a frozen member, and reads through a relay.
 */
let sandbox: Sandbox;
let cluster: OvsdbCluster;
let inventory: Record<string, unknown>;

beforeAll(async () => {
  sandbox = await Sandbox.start({ gateways: 1, computes: 3, southbound: 'cluster' });
  cluster = sandbox.cluster as OvsdbCluster;
  inventory = sandbox.inventory();
}, 120_000);

afterAll(async () => {
  await sandbox?.stop();
});

type NodeView = { host: string; ok: boolean; error?: { code: string; message: string }; verdict?: { state: string } };

/** The controller reads the Southbound at `southbound`; the nodes' ovn-controllers keep talking to the cluster members. */
function writeInventory(name: string, southbound = cluster.tcp, edit?: (inv: any) => void): string {
  const inv = structuredClone(inventory) as { ovn: Record<string, unknown>; defaults: Record<string, unknown> };
  inv.ovn.southbound = southbound;
  inv.defaults.ovnRemote = cluster.tcp;
  edit?.(inv);
  const p = join(sandbox.dir, name);
  writeFileSync(p, stringify(inv));
  return p;
}

async function ctl(args: string[]): Promise<{ code: number; json: any; stderr: string }> {
  const r = await runCli(CONTROLLER_BIN, [...args, '--json', '--state-dir', sandbox.dir]);
  return { code: r.code, json: nodesOf(r.stdout), stderr: r.stderr };
}

const node = (name: string) => sandbox.nodes.find((n) => n.name === name)!;
const sbctl = (members: string[], ...args: string[]) => run('ovn-sbctl', [`--db=${members.join(',')}`, ...args]).trim();

/** Kills the current leader as a crash would, runs `during`, then brings the member back on its files. */
async function killLeader(): Promise<() => Promise<void>> {
  const i = await cluster.leader();
  const m = cluster.members[i]!;
  await m.stop('SIGKILL');
  return async () => {
    await m.launch();
    await waitFor(`member ${i + 1} back in the cluster`, () => cluster.connectedFlag(i), 30_000);
  };
}

describe('the controller on a 3-member Raft Southbound', () => {
  it('apply verifies even though the leader is killed while it verifies', async () => {
    const inv = writeInventory('cluster.yaml');
    const applying = ctl(['apply', '-i', inv, '--limit', 'gw-1,cmp-1', '--verify-timeout', '60']);
    // The nodes are written first; the proof comes after: kill the leader between the two.
    await waitFor('nodes written', () => ['gw-1', 'cmp-1'].every((n) => node(n).ovsdb.externalIds()['system-id']), 30_000);
    const restart = await killLeader();
    const r = await applying;
    await restart();
    expect(r.code, r.stderr).toBe(0);
    expect((r.json as NodeView[]).map((n) => [n.host, n.verdict?.state])).toEqual([['gw-1', 'verified'], ['cmp-1', 'verified']]);
  });

  it('rollout ends verified although the leader is killed after its first batch', async () => {
    const inv = writeInventory('cluster.yaml');
    const journal = join(sandbox.dir, 'cluster.journal');
    const rolling = runCli(CONTROLLER_BIN, ['rollout', '-i', inv, '--limit', 'cmp-2,cmp-3', '--batch', '1', '--journal', journal, '--json', '--state-dir', sandbox.dir]);
    const firstVerified = () =>
      existsSync(journal) &&
      readFileSync(journal, 'utf8').split('\n').filter(Boolean).some((l) => {
        const r = JSON.parse(l) as { host?: string; step?: string; phase?: string };
        return r.host === 'cmp-2' && r.step === 'verify' && r.phase === 'end';
      });
    await waitFor('first batch verified', firstVerified, 60_000);
    const restart = await killLeader();
    const r = await rolling;
    await restart();
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as { outcome: string; nodes: { host: string; state: string }[] };
    expect(report.outcome).toBe('done');
    expect(report.nodes.map((n) => [n.host, n.state])).toEqual([['cmp-2', 'done'], ['cmp-3', 'done']]);
  });

  it('a member cut off from its cluster, listed first, cannot vouch for a chassis the cluster deleted', async () => {
    const inv = writeInventory('cluster.yaml');
    expect((await ctl(['apply', '-i', inv, '--verify-timeout', '30'])).code).toBe(0);
    // cmp-1's ovn-controller stops, so nothing re-registers the chassis; then the member listed first is cut off.
    await node('cmp-1').controller?.stop();
    await cluster.cutOff(0);
    try {
      const systemId = node('cmp-1').ovsdb.externalIds()['system-id'] as string;
      const majority = cluster.tcp.slice(1);
      sbctl(majority, 'chassis-del', systemId);
      // The cut-off member still holds the row: a client that trusted it would call cmp-1 registered.
      expect(run('ovsdb-client', ['dump', cluster.members[0]!.unix, 'OVN_Southbound', 'Chassis', 'name'])).toContain(systemId);

      const status = await ctl(['status', '-i', inv]);
      expect(status.code).toBe(2);
      const byHost = Object.fromEntries((status.json.nodes as NodeView[]).map((n) => [n.host, n.verdict?.state]));
      expect(byHost).toEqual({ 'gw-1': 'verified', 'cmp-1': 'missing', 'cmp-2': 'verified', 'cmp-3': 'verified' });

      const apply = await ctl(['apply', '-i', inv, '--limit', 'cmp-1', '--verify-timeout', '3']);
      expect(apply.code).toBe(1);
      expect((apply.json as NodeView[])[0]?.error?.code).toBe('NOT_VERIFIED');
    } finally {
      cluster.heal(0);
      await waitFor('member 1 back in its cluster', () => cluster.connectedFlag(0), 30_000);
      const n = node('cmp-1');
      n.controller = OvnController.start(n.ovsdb.unix, (n.controller as OvnController).dir);
    }
    const again = await ctl(['apply', '-i', inv, '--limit', 'cmp-1', '--verify-timeout', '30']);
    expect(again.code, again.stderr).toBe(0);
  });

  it('a frozen member listed first (accepts connections, never answers) is passed over by status and verification', async () => {
    const inv = writeInventory('cluster.yaml');
    cluster.freeze(0);
    try {
      const status = await ctl(['status', '-i', inv]);
      expect(status.code, status.stderr).toBe(0);
      expect((status.json.nodes as NodeView[]).every((n) => n.verdict?.state === 'verified')).toBe(true);
      const apply = await ctl(['apply', '-i', inv, '--verify-timeout', '30']);
      expect(apply.code, apply.stderr).toBe(0);
      expect((apply.json as NodeView[]).every((n) => n.verdict?.state === 'verified')).toBe(true);
    } finally {
      cluster.thaw(0);
    }
  });

  it('verifies through an OVSDB relay', async () => {
    expect((await ctl(['apply', '-i', writeInventory('cluster.yaml'), '--verify-timeout', '30'])).code).toBe(0);
    const relay = await cluster.relay();
    const inv = writeInventory('relay.yaml', [relay.tcp]);
    const status = await ctl(['status', '-i', inv]);
    expect(status.code, status.stderr).toBe(0);
    expect((status.json.nodes as NodeView[]).map((n) => n.verdict?.state)).toEqual(['verified', 'verified', 'verified', 'verified']);
    // A change that the Southbound must show again: the gateway flag off on gw-1 and back on.
    const off = writeInventory('relay-off.yaml', [relay.tcp], (i) => {
      i.hosts['gw-1'].gateway = false;
      i.hosts['gw-1'].bridgeMappings = {};
    });
    const r = await ctl(['apply', '-i', off, '--limit', 'gw-1', '--verify-timeout', '30']);
    expect(r.code, r.stderr).toBe(0);
    // ovn-sbctl wants the leader: a member thawed by the test before may still be holding an election.
    const gwOptions = await waitFor('ovn-sbctl to reach the Southbound leader', () => {
      try {
        return sbctl(cluster.tcp, '--bare', '--columns=other_config', 'find', 'Chassis', `name=${node('gw-1').ovsdb.externalIds()['system-id']}`);
      } catch {
        return undefined;
      }
    }, 30_000);
    expect(gwOptions).not.toContain('enable-chassis-as-gw');
    const back = await ctl(['apply', '-i', inv, '--limit', 'gw-1', '--verify-timeout', '30']);
    expect(back.code, back.stderr).toBe(0);
  });
});
