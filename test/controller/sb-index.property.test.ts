import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Row, type RowChange, TableCache, parseSchema } from '../../ovsdb/index.js';
import { SouthboundIndex, TouchFanout } from '../../controller/sb-index.js';
import { type Expectation, type Verdict, VerdictBoard, assess } from '../../controller/verify.js';

/**
 * The indexed Southbound view and incremental verdicts against the full
 * re-assessment they replace (every expectation against a scan of every
 * Chassis row), on random sequences of Southbound transactions fed through
 * the monitor's own cache: inserts, modifies, deletes, a chassis replaced
 * under its name in one transaction, encaps changing under a chassis, and
 * resyncs after missed updates.
 */

const schema = parseSchema({
  name: 'OVN_Southbound',
  version: '20.27.0',
  tables: {
    Chassis: {
      columns: {
        name: { type: 'string' },
        encaps: { type: { key: { type: 'uuid' }, min: 1, max: 'unlimited' } },
        other_config: { type: { key: 'string', value: 'string', min: 0, max: 'unlimited' } },
        external_ids: { type: { key: 'string', value: 'string', min: 0, max: 'unlimited' } },
      },
    },
    Encap: {
      columns: {
        type: { type: 'string' },
        ip: { type: 'string' },
        chassis_name: { type: 'string' },
      },
    },
  },
});

const NAMES = ['c0', 'c1', 'c2', 'c3', 'c4'];
const IPS = ['192.0.2.1', '192.0.2.2', '192.0.2.3'];
const TYPES = ['geneve', 'vxlan'];
const uuidOf = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

interface ChassisModel { uuid: string; name: string; encaps: string[]; gw: boolean }
interface EncapModel { uuid: string; type: string; ip: string; chassisName: string }

type Op =
  | { op: 'insertChassis'; name: number; encaps: number[]; gw: boolean }
  | { op: 'toggleGateway'; pick: number }
  | { op: 'setEncaps'; pick: number; encaps: number[] }
  | { op: 'deleteChassis'; pick: number }
  | { op: 'insertEncap'; type: number; ip: number; name: number }
  | { op: 'modifyEncap'; pick: number; ip: number }
  | { op: 'deleteEncap'; pick: number }
  | { op: 'resync'; drop: number }
  | { op: 'register'; exp: number; wrongGateway: boolean };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('insertChassis' as const), name: fc.nat(NAMES.length - 1), encaps: fc.array(fc.nat(20), { maxLength: 3 }), gw: fc.boolean() }),
  fc.record({ op: fc.constant('toggleGateway' as const), pick: fc.nat(20) }),
  fc.record({ op: fc.constant('setEncaps' as const), pick: fc.nat(20), encaps: fc.array(fc.nat(20), { maxLength: 3 }) }),
  fc.record({ op: fc.constant('deleteChassis' as const), pick: fc.nat(20) }),
  fc.record({ op: fc.constant('insertEncap' as const), type: fc.nat(TYPES.length - 1), ip: fc.nat(IPS.length - 1), name: fc.nat(NAMES.length - 1) }),
  fc.record({ op: fc.constant('modifyEncap' as const), pick: fc.nat(20), ip: fc.nat(IPS.length - 1) }),
  fc.record({ op: fc.constant('deleteEncap' as const), pick: fc.nat(20) }),
  fc.record({ op: fc.constant('resync' as const), drop: fc.nat(20) }),
  fc.record({ op: fc.constant('register' as const), exp: fc.nat(20), wrongGateway: fc.boolean() }),
);

const expArb: fc.Arbitrary<Expectation[]> = fc.array(
  fc.record({
    name: fc.nat(NAMES.length - 1),
    encaps: fc.array(fc.record({ type: fc.nat(TYPES.length - 1), ip: fc.nat(IPS.length - 1) }), { minLength: 1, maxLength: 2 }),
    gateway: fc.boolean(),
  }),
  { maxLength: 6 },
).map((list) => list.map((e, i) => ({
  host: `h${i}`,
  systemId: NAMES[e.name] as string,
  encaps: e.encaps.map((x) => ({ type: TYPES[x.type] as string, ip: IPS[x.ip] as string })),
  gateway: e.gateway,
})));

const chassisInsert = (c: ChassisModel) => ({
  name: c.name,
  encaps: ['set', c.encaps.map((u) => ['uuid', u])],
  other_config: ['map', c.gw ? [['ovn-cms-options', 'enable-chassis-as-gw']] : []],
});
const encapInsert = (e: EncapModel) => ({ type: e.type, ip: e.ip, chassis_name: e.chassisName });

/** The reference: every expectation against a linear scan of the cache, as verification did before the index. */
function fullReassessment(cache: TableCache, exps: Expectation[]): Verdict[] {
  const chassis = [...cache.rows('Chassis').values()];
  return exps.map((e) => assess(e, chassis.find((r: Row) => r.name === e.systemId), cache.rows('Encap')));
}

describe('Southbound index and incremental verdicts', () => {
  it('give the same verdicts as a full re-assessment after every transaction', () => {
    const stats = { feeds: 0, verified: 0 };
    fc.assert(
      fc.property(expArb, fc.array(opArb, { minLength: 1, maxLength: 40 }), (exps, ops) => {
        const cache = new TableCache(schema, { Chassis: undefined, Encap: undefined });
        const index = new SouthboundIndex();
        const board = new VerdictBoard(exps, index);
        // As a rollout's nodes wait: a board per node, hearing only of changes to its own chassis.
        const fanout = new TouchFanout();
        const perNode = exps.map((e) => new VerdictBoard([e], index));
        perNode.forEach((b, i) => fanout.subscribe((names) => b.reassess(names, index), [exps[i]?.systemId as string]));
        let chassis: ChassisModel[] = [];
        let encaps: EncapModel[] = [];
        let next = 1;
        const verifiedEvents = new Map<string, number>();
        fanout.subscribe((names) => {
          for (const v of board.reassess(names, index)) verifiedEvents.set(v.host, (verifiedEvents.get(v.host) ?? 0) + 1);
        });
        const feed = (changes: RowChange[]) => fanout.publish(index.apply(changes));
        const same = () => {
          const full = fullReassessment(cache, exps);
          expect(board.all()).toEqual(full);
          expect(perNode.map((b) => b.all()[0])).toEqual(full);
        };
        const pickOf = <T>(list: T[], n: number) => (list.length > 0 ? list[n % list.length] : undefined);
        const encapUuids = (ns: number[]) => [...new Set(ns.map((n) => pickOf(encaps, n)?.uuid).filter((u): u is string => !!u))];
        for (const o of ops) {
          const update: Record<string, Record<string, unknown>> = {};
          const put = (table: string, uuid: string, body: unknown) => ((update[table] ??= {})[uuid] = body);
          if (o.op === 'insertChassis' || o.op === 'register') {
            const want = o.op === 'register' ? pickOf(exps, o.exp) : undefined;
            if (o.op === 'register' && !want) continue;
            const name = want?.systemId ?? NAMES[o.op === 'insertChassis' ? o.name : 0] as string;
            // The Southbound's name index: a chassis that takes a name replaces its holder in the same transaction.
            for (const old of chassis.filter((c) => c.name === name)) put('Chassis', old.uuid, { delete: null });
            chassis = chassis.filter((c) => c.name !== name);
            // As ovn-controller registers: its own Encap rows, made in the same transaction.
            const own = (want?.encaps ?? []).map((x) => ({ uuid: uuidOf(next++), type: x.type, ip: x.ip, chassisName: name }));
            for (const e of own) put('Encap', e.uuid, { insert: encapInsert(e) });
            encaps.push(...own);
            const c = o.op === 'register'
              ? { uuid: uuidOf(next++), name, encaps: own.map((e) => e.uuid), gw: want?.gateway !== o.wrongGateway }
              : { uuid: uuidOf(next++), name, encaps: encapUuids(o.encaps), gw: o.gw };
            chassis.push(c);
            put('Chassis', c.uuid, { insert: chassisInsert(c) });
          } else if (o.op === 'toggleGateway' || o.op === 'setEncaps') {
            const c = pickOf(chassis, o.pick);
            if (!c) continue;
            if (o.op === 'toggleGateway') {
              c.gw = !c.gw;
              // update2 map diff: a key sent with the value it has is removed, a new key is added.
              put('Chassis', c.uuid, { modify: { other_config: ['map', [['ovn-cms-options', 'enable-chassis-as-gw']]] } });
            } else {
              const want = encapUuids(o.encaps);
              const toggled = [...c.encaps.filter((u) => !want.includes(u)), ...want.filter((u) => !c.encaps.includes(u))];
              c.encaps = want;
              if (toggled.length > 0) put('Chassis', c.uuid, { modify: { encaps: ['set', toggled.map((u) => ['uuid', u])] } });
            }
          } else if (o.op === 'deleteChassis') {
            const c = pickOf(chassis, o.pick);
            if (!c) continue;
            chassis = chassis.filter((x) => x !== c);
            put('Chassis', c.uuid, { delete: null });
          } else if (o.op === 'insertEncap') {
            const e = { uuid: uuidOf(next++), type: TYPES[o.type] as string, ip: IPS[o.ip] as string, chassisName: NAMES[o.name] as string };
            encaps.push(e);
            put('Encap', e.uuid, { insert: encapInsert(e) });
          } else if (o.op === 'modifyEncap') {
            const e = pickOf(encaps, o.pick);
            if (!e || e.ip === IPS[o.ip]) continue;
            e.ip = IPS[o.ip] as string;
            put('Encap', e.uuid, { modify: { ip: e.ip } });
          } else if (o.op === 'deleteEncap') {
            const e = pickOf(encaps, o.pick);
            if (!e) continue;
            encaps = encaps.filter((x) => x !== e);
            put('Encap', e.uuid, { delete: null });
          } else {
            // Updates missed while disconnected: a row changed behind our back, then a full resync.
            const c = pickOf(chassis, o.drop);
            if (c) c.gw = !c.gw;
            const full = {
              Chassis: Object.fromEntries(chassis.map((x) => [x.uuid, { initial: chassisInsert(x) }])),
              Encap: Object.fromEntries(encaps.map((x) => [x.uuid, { initial: encapInsert(x) }])),
            };
            feed(cache.resync((fresh) => fresh.applyUpdate2(full)));
            same();
            continue;
          }
          if (Object.keys(update).length === 0) continue;
          feed(cache.applyUpdate2(update));
          stats.feeds++;
          stats.verified += board.all().filter((v) => v.state === 'verified').length;
          same();
          expect(board.allVerified()).toBe(fullReassessment(cache, exps).every((v) => v.state === 'verified'));
        }
        // The board started on an empty Southbound: every node verified now was reported as it turned verified.
        for (const v of board.all()) if (v.state === 'verified') expect(verifiedEvents.get(v.host)).toBeGreaterThan(0);
      }),
      { numRuns: 300 },
    );
    // The runs must reach verified nodes, or the comparison proves little.
    expect(stats.verified).toBeGreaterThan(stats.feeds / 10);
  });

  it('tells a listener only of changes to its chassis, everyone of every change, and no one after unsubscribing', () => {
    const fanout = new TouchFanout();
    const heard: string[] = [];
    const offA = fanout.subscribe((n) => heard.push(`a:${[...n].join()}`), ['c0', 'c0']);
    fanout.subscribe((n) => heard.push(`b:${[...n].join()}`), ['c1']);
    const offAll = fanout.subscribe((n) => heard.push(`all:${[...n].join()}`));
    fanout.publish(new Set(['c0', 'c2']));
    expect(heard.sort()).toEqual(['a:c0,c2', 'all:c0,c2']);
    heard.length = 0;
    offA();
    offAll();
    fanout.publish(new Set(['c0', 'c1']));
    expect(heard).toEqual(['b:c0,c1']);
  });
});
