import { describe, expect, it } from 'vitest';
import { judgeServer } from '../../ovsdb/cluster.js';

const member = (over: Record<string, unknown> = {}) => ({ name: 'OVN_Southbound', model: 'clustered', connected: true, leader: false, index: [10], ...over }) as never;
const opts = { leaderOnly: false, minIndex: 0 };

describe('judging a server by its _Server row', () => {
  it('uses a connected cluster member and reports its index', () => {
    expect(judgeServer(member(), 'OVN_Southbound', opts)).toEqual({ usable: true, index: 10 });
  });

  it('never uses a member cut off from its cluster', () => {
    const v = judgeServer(member({ connected: false }), 'OVN_Southbound', opts);
    expect(v).toMatchObject({ usable: false, reason: expect.stringMatching(/not connected to its cluster/) });
  });

  it('never goes back in time: a member with older data than already seen is refused', () => {
    expect(judgeServer(member({ index: [9] }), 'OVN_Southbound', { ...opts, minIndex: 10 })).toMatchObject({
      usable: false,
      reason: expect.stringMatching(/index 9.*index 10/),
    });
    expect(judgeServer(member({ index: [10] }), 'OVN_Southbound', { ...opts, minIndex: 10 }).usable).toBe(true);
  });

  it('with leaderOnly, refuses a follower and takes the leader', () => {
    expect(judgeServer(member(), 'OVN_Southbound', { ...opts, leaderOnly: true })).toMatchObject({ usable: false, reason: expect.stringMatching(/leader/) });
    expect(judgeServer(member({ leader: true }), 'OVN_Southbound', { ...opts, leaderOnly: true }).usable).toBe(true);
  });

  it('never uses a relay that says it lost its source, as python-ovs judges it', () => {
    const v = judgeServer(member({ model: 'relay', connected: false, index: [] }), 'OVN_Southbound', opts);
    expect(v).toMatchObject({ usable: false, reason: expect.stringMatching(/relay not connected to its source/) });
  });

  it('accepts a relay and a standalone server, even for leaderOnly (they have no leader to prefer)', () => {
    for (const model of ['relay', 'standalone']) {
      expect(judgeServer(member({ model, leader: false, connected: true, index: [] }), 'OVN_Southbound', { leaderOnly: true, minIndex: 99 })).toEqual({ usable: true, index: undefined });
    }
  });

  it('refuses a server that does not serve the database', () => {
    expect(judgeServer(undefined, 'OVN_Southbound', opts)).toMatchObject({ usable: false, reason: expect.stringMatching(/does not serve/) });
  });
});
