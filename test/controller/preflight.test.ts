import { describe, expect, it } from 'vitest';
import { drainMoves, movesFromRecord, movesRecord, type GatewayEntry } from '../../controller/gateways.js';
import type { Host } from '../../controller/inventory.js';
import { MAX_PEERS, fleetProblems, judgePreflight, peersToCheck, preflightParams, tunnelOverhead } from '../../controller/preflight.js';
import { novaHostIn } from '../../agent/preflight.js';
import { preflightSchema } from '../../schemas/inventory.js';

const host = (over: Partial<Host['preflight']> = {}, gateway = false) =>
  ({ name: 'cmp-1', chassis: { hostname: 'cmp-1', gateway }, preflight: preflightSchema.parse(over) }) as unknown as Host;
const facts = { hostname: 'cmp-1', fqdn: 'cmp-1.example', addresses: [], ovnVersion: '23.03.1' };
const good = { mtus: [{ ip: '10.0.0.5', iface: 'eth1', mtu: 1500 }], peers: [{ ip: '10.0.0.6', ok: true }], novaHost: 'cmp-1' };

describe('pre-flight (pure)', () => {
  it('pings a few peers, gateways first, each node its own sample: across a fleet no peer is pinged by every node', () => {
    const fleet = Array.from({ length: 400 }, (_, i) => ({ ip: `10.1.${Math.floor(i / 250)}.${i % 250}`, gateway: i < 3 }));
    const mine = peersToCheck('cmp-7', fleet);
    expect(mine).toHaveLength(MAX_PEERS);
    expect(mine.slice(0, 3).sort()).toEqual(['10.1.0.0', '10.1.0.1', '10.1.0.2']);
    expect(peersToCheck('cmp-7', fleet)).toEqual(mine);
    const pings = new Map<string, number>();
    const computes = fleet.filter((p) => !p.gateway);
    for (let n = 0; n < 400; n++) for (const ip of peersToCheck(`cmp-${n}`, computes)) pings.set(ip, (pings.get(ip) ?? 0) + 1);
    // 400 nodes × 8 pings spread over 397 peers: about 8 each, none near 400; almost every peer is checked by some node.
    expect(Math.max(...pings.values())).toBeLessThan(30);
    expect(pings.size).toBeGreaterThan(390);
  });

  it('asks for a ping whose outer packet is the tenant MTU plus Geneve\'s headers, to the other chassis of the same family', () => {
    expect(tunnelOverhead(4)).toBe(58);
    expect(tunnelOverhead(6)).toBe(78);
    const p = preflightParams(host(), ['10.0.0.5'], [{ ip: '10.0.0.5', gateway: false }, { ip: '10.0.0.6', gateway: false }, { ip: '10.0.0.6', gateway: false }, { ip: 'fd00::1', gateway: false }]);
    expect(p).toMatchObject({ encapIps: ['10.0.0.5'], peers: ['10.0.0.6'], payload: 1442 + 58 - 28 });
  });

  it('passes a node whose MTU, peers, nova host and OVN version are right', () => {
    const p = preflightParams(host(), ['10.0.0.5'], [{ ip: '10.0.0.6', gateway: false }]);
    expect(judgePreflight(host(), facts, p, good, { isGateway: false, otherGateways: [] })).toEqual([]);
  });

  it('names each reason a node must not move', () => {
    const p = preflightParams(host(), ['10.0.0.5'], [{ ip: '10.0.0.6', gateway: false }]);
    const bad = { mtus: [{ ip: '10.0.0.5', iface: 'eth1', mtu: 1450 }], peers: [{ ip: '10.0.0.6', ok: false, why: 'no reply' }], novaHost: 'compute-1' };
    const problems = judgePreflight(host({}, true), { ...facts, ovnVersion: '20.03.0' }, p, bad, { isGateway: true, otherGateways: [] });
    expect(problems).toEqual([
      expect.stringContaining('underlay MTU under encap IP 10.0.0.5 (eth1) is 1450; tenant MTU 1442 over Geneve needs 1500'),
      expect.stringContaining('10.0.0.6 (no reply)'),
      expect.stringContaining('nova knows this node as compute-1'),
      expect.stringContaining('OVN 20.03.0 is older than 20.06.0'),
      expect.stringContaining('leave 0 other gateways'),
    ]);
  });

  it('takes nova\'s hostname when its config sets no host, and checks nothing when there is no nova config', () => {
    const p = preflightParams(host(), ['10.0.0.5'], []);
    expect(judgePreflight(host(), { ...facts, hostname: 'other' }, p, { ...good, novaHost: '' }, { isGateway: false, otherGateways: [] })).toEqual([expect.stringContaining('nova knows this node as other (its hostname)')]);
    expect(judgePreflight(host(), { ...facts, hostname: 'other' }, p, { ...good, novaHost: null }, { isGateway: false, otherGateways: [] })).toEqual([]);
  });

  it('reads nova.conf\'s [DEFAULT] host as nova does, not another section\'s', () => {
    expect(novaHostIn('[DEFAULT]\ndebug = true\nhost = cmp-1.example\n[libvirt]\nhost = nope\n')).toBe('cmp-1.example');
    expect(novaHostIn('[libvirt]\nhost = nope\n')).toBe('');
  });
});

describe('fleet-wide pre-flight (pure)', () => {
  it('names every host whose chassis hostname another host gives too', () => {
    const h = (name: string, hostname: string) => ({ name, chassis: { hostname } }) as unknown as Host;
    const out = fleetProblems([h('a', 'x'), h('b', 'x'), h('c', 'c')]);
    expect([...out.keys()]).toEqual(['a', 'b']);
    expect(out.get('a')?.[0]).toContain("also b's");
  });
});

describe('gateway drain (pure)', () => {
  const e = (chassis: string, priority: number, group = 'lrp-1', table: GatewayEntry['table'] = 'Gateway_Chassis'): GatewayEntry => ({ table, uuid: `${chassis}-${group.replace(/:/g, '')}`, chassis, priority, group });

  it('moves each of the chassis\' entries just below the lowest other entry of its group', () => {
    const { moves, alone } = drainMoves([e('a', 30), e('b', 20), e('c', 10), e('a', 5, 'lrp-2'), e('b', 9, 'lrp-2')], 'a');
    expect(moves).toEqual([{ table: 'Gateway_Chassis', uuid: 'a-lrp-1', group: 'lrp-1', from: 30, to: 9 }]);
    expect(alone).toEqual([]);
  });

  it('never goes below 0, names a group the chassis is alone in, and drains HA_Chassis groups the same way', () => {
    expect(drainMoves([e('a', 3), e('b', 0)], 'a').moves[0]).toMatchObject({ from: 3, to: 0 });
    expect(drainMoves([e('a', 3, 'lonely')], 'a')).toEqual({ moves: [], alone: ['lonely'] });
    expect(drainMoves([e('a', 3, 'g', 'HA_Chassis'), e('b', 2, 'g', 'HA_Chassis'), e('b', 9, 'g')], 'a').moves).toEqual([{ table: 'HA_Chassis', uuid: 'a-g', group: 'g', from: 3, to: 1 }]);
  });

  it('keeps the moves in the journal and reads them back exactly', () => {
    const moves = drainMoves([e('a', 30, 'lrp:x'), e('b', 20, 'lrp:x')], 'a').moves;
    expect(moves).toHaveLength(1);
    expect(movesFromRecord(movesRecord(moves))).toEqual(moves);
    expect(movesFromRecord({ 'Bogus:1:g': '1>0', 'Gateway_Chassis:u:g': 'x>y' })).toEqual([]);
  });
});
