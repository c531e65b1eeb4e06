import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { OvsdbClient, insert, remove } from '../../ovsdb/index.js';
import { OvsdbCluster, SB_SCHEMA, waitFor } from '../../sandbox/index.js';

const SB = 'OVN_Southbound';
let cluster: OvsdbCluster;
const clients: OvsdbClient[] = [];

beforeAll(async () => {
  cluster = await OvsdbCluster.start(SB_SCHEMA, SB);
});

afterAll(async () => {
  await cluster?.stop();
});

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (let i = 0; i < cluster.members.length; i++) {
    cluster.heal(i);
    await waitFor(`member ${i + 1} back in its cluster`, () => cluster.connectedFlag(i), 20_000);
  }
});

async function connect(endpoints: string[], extra: { leaderOnly?: boolean; probeIntervalMs?: number } = {}): Promise<OvsdbClient> {
  const c = await OvsdbClient.connect({ endpoint: endpoints.join(','), database: SB, reconnect: { minBackoffMs: 100, maxBackoffMs: 400 }, ...extra });
  clients.push(c);
  return c;
}

const row = (name: string) => insert('Address_Set', { name, addresses: ['set', []] });

describe('a cluster-aware client on a real 3-member Raft Southbound', () => {
  it('passes over a member cut off from its cluster, listed first, and reads from a connected one', async () => {
    await cluster.cutOff(0);
    const c = await connect(cluster.tcp);
    expect(c.remote).not.toBe(cluster.tcp[0]);
    expect(cluster.tcp).toContain(c.remote);
  });

  it('leaves a member that drops out of its cluster while in use, and the monitor resumes from where it was', async () => {
    const c = await connect(cluster.tcp);
    expect(c.remote).toBe(cluster.tcp[0]);
    const m = await c.monitor(SB, { Address_Set: { columns: ['name'] } });
    const writer = await connect(cluster.tcp, { leaderOnly: true });
    await writer.transact(SB, [row('before-cut')]);
    await waitFor('row seen', () => m.rows('Address_Set').some((r) => r.name === 'before-cut'));

    const lost = new Promise((r) => c.once('disconnected', r));
    await cluster.cutOff(0);
    await lost;
    // Written through the majority while the member we used is cut off.
    await writer.transact(SB, [row('during-cut')]);
    await waitFor('monitor resumed on another member', () => c.connected && c.remote !== cluster.tcp[0]);
    await waitFor('row written during the cut seen', () => m.rows('Address_Set').some((r) => r.name === 'during-cut'));
    expect(m.lastStart).toEqual({ method: 'monitor_cond_since', resumed: true });
    await writer.transact(SB, [remove('Address_Set', [])]);
  });

  it('moves past a frozen member (accepts connections, never answers) within two probe intervals', async () => {
    cluster.freeze(0);
    try {
      const started = Date.now();
      const c = await connect(cluster.tcp, { probeIntervalMs: 500 });
      expect(c.remote).not.toBe(cluster.tcp[0]);
      expect(Date.now() - started).toBeLessThan(30_000);
    } finally {
      cluster.thaw(0);
    }
  });

  it('with leaderOnly, talks to the leader, wherever it is listed', async () => {
    const leader = await cluster.leader();
    const c = await connect([...cluster.tcp].reverse(), { leaderOnly: true });
    expect(c.remote).toBe(cluster.tcp[leader]);
  });

  it('follows the leader when leadership moves', async () => {
    const c = await connect(cluster.tcp, { leaderOnly: true });
    const before = await cluster.leader();
    cluster.members[before]?.appctl('cluster/failure-test', 'transfer-leadership');
    await waitFor('a new leader', async () => ((await cluster.leader()) !== before ? true : undefined), 20_000);
    const now = await cluster.leader();
    await waitFor('client on the new leader', () => c.connected && c.remote === cluster.tcp[now], 20_000);
    await c.transact(SB, [row('after-transfer')]);
    await c.transact(SB, [remove('Address_Set', [])]);
  });

  it('reads through a relay', async () => {
    const relay = await cluster.relay();
    const c = await connect([relay.tcp]);
    const writer = await connect(cluster.tcp, { leaderOnly: true });
    const m = await c.monitor(SB, { Address_Set: { columns: ['name'] } });
    await writer.transact(SB, [row('via-relay')]);
    await waitFor('row through the relay', () => m.rows('Address_Set').some((r) => r.name === 'via-relay'));
    await writer.transact(SB, [remove('Address_Set', [])]);
  });
});
