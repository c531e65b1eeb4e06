import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OvsdbCluster, type Spawned, Sandbox, run, spawnServer, startConfigDb, startPullAgent, stopPid, waitFor } from '../../sandbox/index.js';
import { AGENT_BIN, CONTROLLER_BIN, nodesOf, runCli } from '../support/cli.js';

/**
 * Pull mode end to end: a real 3-member Raft cluster of the project's own
 * schema, one `ovn-chassis-agent serve --pull` process per node (each with
 * its node's real ovsdb-server and ovn-controller), and the controller's
 * publish, status --pull and rollout --pull, through the faults a cluster has.
 */
let sandbox: Sandbox;
let configDb: OvsdbCluster;
const agents = new Map<string, Spawned>();
let base: Record<string, any>;

const NODES = ['cmp-1', 'cmp-2', 'cmp-3'];

beforeAll(async () => {
  [sandbox, configDb] = await Promise.all([Sandbox.start({ gateways: 0, computes: 3 }), startConfigDb()]);
  base = { ...sandbox.inventory(), configDb: configDb.tcp };
  for (const n of NODES) startAgent(n);
}, 120_000);

afterAll(async () => {
  await Promise.all([...agents.values()].map((a) => stopPid(a.pid)));
  await Promise.all([sandbox?.stop(), configDb?.stop()]);
});

const node = (name: string) => sandbox.nodes.find((n) => n.name === name)!;

function startAgent(name: string, endpoints = configDb.tcp, host = name): Spawned {
  const a = startPullAgent(AGENT_BIN, node(name), endpoints, host);
  agents.set(name, a);
  return a;
}

async function stopAgent(name: string): Promise<void> {
  const a = agents.get(name);
  agents.delete(name);
  if (a) await stopPid(a.pid);
}

/** The inventory with every host's extra external_ids set to `mark`: a change each publish makes visible on the nodes. */
function inventoryWith(mark: string, edit?: (inv: Record<string, any>) => void): string {
  const inv = structuredClone(base);
  inv.defaults.extraExternalIds = { 'ovn-chassis-test-mark': mark };
  edit?.(inv);
  const p = join(sandbox.dir, `pull-${mark}.yaml`);
  writeFileSync(p, stringify(inv));
  return p;
}

async function ctl(args: string[], stateDir = sandbox.dir): Promise<{ code: number; json: any; stdout: string; stderr: string }> {
  // publish reaches no node, so it has no state dir.
  const r = await runCli(CONTROLLER_BIN, [...args, '--json', ...(args[0] === 'publish' ? [] : ['--state-dir', stateDir])]);
  return { code: r.code, json: nodesOf(r.stdout), stdout: r.stdout, stderr: r.stderr };
}

async function published(inv: string, more: string[] = []): Promise<{ json: any }> {
  const r = await ctl(['publish', '-i', inv, ...more]);
  expect(r.code, r.stderr).toBe(0);
  return r;
}

const markOn = (name: string) => node(name).ovsdb.externalIds()['ovn-chassis-test-mark'];

/** Each host's Status row, read with ovsdb-client from the cluster (not through the tool). */
function statusRows(): Map<string, { generation: number; applied: number; verdict: string; error: string }> {
  const out = run('ovsdb-client', ['-f', 'json', 'dump', configDb.tcp.join(','), 'OVN_Chassis_Config', 'Status', 'host', 'generation', 'applied', 'verdict', 'error']);
  const t = JSON.parse(out) as { headings: string[]; data: unknown[][] };
  const col = (r: unknown[], c: string) => r[t.headings.indexOf(c)];
  return new Map(t.data.map((r) => [String(col(r, 'host')), { generation: Number(col(r, 'generation')), applied: Number(col(r, 'applied')), verdict: String(col(r, 'verdict')), error: String(col(r, 'error')) }]));
}

describe('pull mode on a 3-member config database', () => {
  it('publish: every agent applies its own row, reports it, and status --pull proves each chassis in the Southbound', async () => {
    const inv = inventoryWith('first');
    const p = await ctl(['publish', '-i', inv]);
    expect(p.code, p.stderr).toBe(0);
    expect((p.json as { host: string; changed: boolean; generation: number }[]).map((n) => [n.host, n.changed, n.generation])).toEqual(NODES.map((n) => [n, true, 1]));
    await waitFor('every node to hold the published config', () => NODES.every((n) => markOn(n) === 'first'), 30_000);
    const s = await waitFor('status --pull to show every host applied and registered', async () => {
      const r = await ctl(['status', '-i', inv, '--pull']);
      return r.code === 0 ? r : undefined;
    }, 60_000);
    expect((s.json as { host: string; pull: { state: string; published: number; applied: number }; verdict: { state: string } }[]).map((n) => [n.host, n.pull.state, n.pull.applied, n.verdict.state]))
      .toEqual(NODES.map((n) => [n, 'applied', 1, 'verified']));
    // The same inventory again writes nothing.
    const again = await ctl(['publish', '-i', inv]);
    expect((again.json as { changed: boolean }[]).every((n) => !n.changed)).toBe(true);
  }, 120_000);

  it('a rollout whose controller and cluster leader are killed mid-way is finished by a second controller on another state dir', async () => {
    const inv = inventoryWith('second');
    // The first controller pauses after its first batch: it is killed there, with its leader.
    const first = spawnServer(process.execPath, [CONTROLLER_BIN, 'rollout', '-i', inv, '--pull', '--batch', '1', '--pause', '60', '--yes', '--state-dir', join(sandbox.dir, 'controller-a')]);
    await waitFor(`the first batch applied\n${first.output()}`, () => NODES.some((n) => markOn(n) === 'second'), 60_000);
    expect(NODES.filter((n) => markOn(n) === 'second')).toHaveLength(1);
    const leader = await configDb.leader();
    await Promise.all([stopPid(first.pid, 'SIGKILL'), configDb.members[leader]!.stop('SIGKILL')]);
    try {
      const second = await ctl(['rollout', '-i', inv, '--pull', '--batch', '1'], join(sandbox.dir, 'controller-b'));
      expect(second.code, second.stderr).toBe(0);
      expect((second.json as { host: string; state: string }[]).map((n) => [n.host, n.state])).toEqual(NODES.map((n) => [n, 'done']));
      expect(NODES.map(markOn)).toEqual(NODES.map(() => 'second'));
    } finally {
      await configDb.members[leader]!.launch();
      await waitFor('the killed member back in the cluster', () => configDb.connectedFlag(leader), 30_000);
    }
  }, 180_000);

  it('a node whose agent was down during a publish converges when it comes back', async () => {
    await stopAgent('cmp-3');
    const inv = inventoryWith('third');
    await published(inv);
    await waitFor('the running agents to apply', () => ['cmp-1', 'cmp-2'].every((n) => markOn(n) === 'third'), 30_000);
    const pending = await ctl(['status', '-i', inv, '--pull', '--limit', 'cmp-3']);
    expect(pending.code).toBe(2);
    expect(pending.json[0].pull.state).toBe('pending');
    expect(markOn('cmp-3')).toBe('second');
    startAgent('cmp-3');
    await waitFor('cmp-3 to converge once its agent is back', () => markOn('cmp-3') === 'third', 30_000);
    await waitFor('cmp-3 to report it', () => statusRows().get('cmp-3')?.verdict === 'applied' && statusRows().get('cmp-3')!.applied === statusRows().get('cmp-1')!.applied);
  }, 120_000);

  it('an agent on a member cut off from its cluster (stop-raft-rpc) leaves it and takes the newer generation from the others', async () => {
    const leader = await configDb.leader();
    const cut = (leader + 1) % 3;
    await stopAgent('cmp-2');
    // The cut-off member first: the agent's client must refuse it, not read the stale row it still serves.
    const order = [configDb.tcp[cut]!, ...configDb.tcp.filter((_, i) => i !== cut)];
    await configDb.cutOff(cut);
    try {
      const inv = inventoryWith('fourth');
      const generation = ((await published(inv)).json as { host: string; generation: number }[]).find((n) => n.host === 'cmp-2')!.generation;
      const agent = startAgent('cmp-2', order);
      // The agent logs the generation it takes before it applies it, but its pipe may be read after the node shows the change.
      await waitFor(`cmp-2 to apply the newer generation\n${agent.output()}`, () => markOn('cmp-2') === 'fourth' && /took desired generation/.test(agent.output()), 30_000);
      expect(agent.output()).toMatch(/not used; trying the next/);
      expect([...agent.output().matchAll(/took desired generation (\d+)/g)].map((m) => Number(m[1]))).toEqual([generation]);
    } finally {
      configDb.heal(cut);
      await waitFor('the member back', () => configDb.connectedFlag(cut), 30_000);
    }
  }, 120_000);

  it('a row that fails validation is refused and reported in the status row, the node untouched', async () => {
    const rows = statusRows();
    const generation = rows.get('cmp-1')!.applied + 1;
    const before = node('cmp-1').ovsdb.externalIds();
    const bad = JSON.stringify({ systemId: before['system-id'], encap: { type: 'geneve', ip: '10.0.0.300' }, ovnRemote: 'tcp:127.0.0.1:1' });
    run('ovsdb-client', ['transact', configDb.tcp.join(','), JSON.stringify(['OVN_Chassis_Config',
      { op: 'update', table: 'Desired', where: [['host', '==', 'cmp-1']], row: { generation, config: bad } }])]);
    await waitFor('cmp-1 to refuse it in its status row', () => statusRows().get('cmp-1')?.verdict === 'refused' ? true : undefined, 20_000);
    const s = statusRows().get('cmp-1')!;
    expect(s).toMatchObject({ generation, applied: generation - 1, verdict: 'refused' });
    expect(s.error).toMatch(/encap\.ip.*10\.0\.0\.300/);
    expect(node('cmp-1').ovsdb.externalIds()).toEqual(before);
    const status = await ctl(['status', '-i', inventoryWith('fourth'), '--pull', '--limit', 'cmp-1']);
    expect(status.code).toBe(2);
    expect(status.json[0].pull).toMatchObject({ state: 'outdated', published: generation });
  }, 60_000);

  it('an apply pushed to a node whose agent pulls is refused by that agent, saying to publish; nothing changes', async () => {
    const before = node('cmp-1').ovsdb.externalIds();
    const r = await ctl(['apply', '-i', inventoryWith('pushed'), '--limit', 'cmp-1']);
    expect(r.code, r.stderr).toBe(1);
    expect(JSON.stringify(r.json)).toMatch(/takes its config from .*ovn-chassis publish/);
    expect(node('cmp-1').ovsdb.externalIds()).toEqual(before);
  }, 60_000);

  it('an agent started as another host (a wrong --host) refuses that host\'s row: its node keeps its own chassis', async () => {
    await stopAgent('cmp-3');
    const before = node('cmp-3').ovsdb.externalIds();
    const inv = inventoryWith('fifth');
    await published(inv, ['--limit', 'cmp-2']);
    const wrong = startAgent('cmp-3', configDb.tcp, 'cmp-2');
    await waitFor(`the wrong agent to refuse cmp-2's config\n${wrong.output()}`, () => /system-id/.test(wrong.output()) ? true : undefined, 30_000);
    expect(node('cmp-3').ovsdb.externalIds()).toEqual(before);
    await stopAgent('cmp-3');
    startAgent('cmp-3');
  }, 60_000);

  it('a rollout that loses the whole cluster after its first batch ends in exit 3, saying nodes were changed, never exit 1', async () => {
    const inv = inventoryWith('sixth');
    const r = runCli(CONTROLLER_BIN, ['rollout', '-i', inv, '--pull', '--batch', '1', '--pause', '3', '--json', '--state-dir', join(sandbox.dir, 'controller-c')]);
    await waitFor('the first batch applied', () => NODES.some((n) => markOn(n) === 'sixth'), 60_000);
    await Promise.all(configDb.members.map((m) => m.stop('SIGKILL')));
    try {
      const done = await r;
      expect(done.code, done.stderr).toBe(3);
      expect(JSON.parse(done.stdout).error).toMatchObject({ changed: 'changed' });
    } finally {
      await Promise.all(configDb.members.map((m) => m.launch()));
      await configDb.leader(60_000);
    }
  }, 120_000);
});
