import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  OvsdbClient, OvsdbError, OvsdbOperationError, OvsdbRpcError, abort, assertLock, comment, commit, cond, insert, map,
  mutate, mutation, namedUuid, remove, select, set, setKeys, deleteKeys, update, uuid, wait, type RowChange,
} from '../../ovsdb/index.js';
import { OvsdbServer, SB_SCHEMA, VSWITCH_SCHEMA, run, waitFor } from '../../sandbox/index.js';

const VS = 'Open_vSwitch';
const SB = 'OVN_Southbound';
let server: OvsdbServer;
let client: OvsdbClient;
let root: string;

beforeAll(async () => {
  server = await OvsdbServer.start({ schemas: [VSWITCH_SCHEMA, SB_SCHEMA] });
  client = await OvsdbClient.connect({ endpoint: server.unix });
  root = server.vsctl('get', 'Open_vSwitch', '.', '_uuid');
});

afterAll(async () => {
  client?.close();
  await server?.stop();
});

const rootWhere = () => [cond('_uuid', '==', uuid(root))];
const sbctl = (...args: string[]) => run('ovn-sbctl', [`--db=${server.unix}`, ...args]).trim();

describe('discovery', () => {
  it('lists the databases the server holds', async () => {
    expect(await client.listDbs()).toEqual(expect.arrayContaining([VS, SB, '_Server']));
  });

  it('fetches a schema once per connection', async () => {
    const a = await client.getSchema(VS);
    expect(a.tables.Open_vSwitch?.maxRows).toBe(1);
    expect(await client.getSchema(VS)).toBe(a);
  });

  it('reports an unknown database as a typed RPC error', async () => {
    const err = await client.getSchema('Nope').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OvsdbRpcError);
    expect((err as OvsdbRpcError).error).toBe('unknown database');
  });

  it('answers echo', async () => {
    expect(await client.echo(['hello', 1])).toEqual(['hello', 1]);
  });
});

describe('transact', () => {
  it('inserts with a uuid-name that later operations reference, as ovs-vsctl add-br would', async () => {
    const res = await client.transact(VS, [
      insert('Interface', { name: 'br-test', type: 'internal' }, { uuidName: 'iface' }),
      insert('Port', { name: 'br-test', interfaces: namedUuid('iface') }, { uuidName: 'port' }),
      insert('Bridge', { name: 'br-test', ports: set([namedUuid('port')]) }, { uuidName: 'br' }),
      mutate('Open_vSwitch', rootWhere(), [mutation('bridges', 'insert', set([namedUuid('br')]))]),
    ]);
    expect(res[2]?.uuid).toMatch(/^[0-9a-f-]{36}$/);
    expect(res[3]?.count).toBe(1);
    expect(server.vsctl('list-br')).toBe('br-test');
    expect(server.vsctl('list-ports', 'br-test')).toBe('');
    expect(server.vsctl('get', 'Bridge', 'br-test', '_uuid')).toBe(res[2]?.uuid);
  });

  it('selects with conditions and decodes through the schema', async () => {
    const rows = await client.select(VS, 'Bridge', [cond('name', '==', 'br-test')], ['name', 'ports']);
    expect(rows).toHaveLength(1);
    expect(rows[0]?.name).toBe('br-test');
    expect(rows[0]?.ports).toHaveLength(1);
    const none = await client.transact(VS, [select('Bridge', [cond('name', '==', 'absent')], ['_uuid'])]);
    expect(none[0]?.rows).toEqual([]);
  });

  it('update replaces a whole map column', async () => {
    server.vsctl('set', 'Open_vSwitch', '.', 'external_ids:old=1');
    await client.transact(VS, [update('Open_vSwitch', rootWhere(), { external_ids: map({ fresh: '2' }) })]);
    expect(server.externalIds()).toEqual({ fresh: '2' });
  });

  it('map insert never overwrites a key; delete-then-insert in one mutate does, touching nothing else', async () => {
    await client.transact(VS, [update('Open_vSwitch', rootWhere(), { external_ids: map({ k: 'old', other: 'keep' }) })]);
    await client.transact(VS, [mutate('Open_vSwitch', rootWhere(), [mutation('external_ids', 'insert', map({ k: 'new', added: 'yes' }))])]);
    expect(server.externalIds()).toEqual({ k: 'old', other: 'keep', added: 'yes' });
    await client.transact(VS, [mutate('Open_vSwitch', rootWhere(), setKeys('external_ids', { k: 'new' }))]);
    expect(server.externalIds()).toEqual({ k: 'new', other: 'keep', added: 'yes' });
  });

  it('map delete by keys removes whatever the value; by pairs only on an exact match', async () => {
    await client.transact(VS, [update('Open_vSwitch', rootWhere(), { external_ids: map({ a: '1', b: '2', c: '3' }) })]);
    await client.transact(VS, [mutate('Open_vSwitch', rootWhere(), [mutation('external_ids', 'delete', map({ b: 'wrong', c: '3' }))])]);
    expect(server.externalIds()).toEqual({ a: '1', b: '2' });
    await client.transact(VS, [mutate('Open_vSwitch', rootWhere(), deleteKeys('external_ids', ['b', 'absent']))]);
    expect(server.externalIds()).toEqual({ a: '1' });
  });

  it('applies numeric mutators and reports their errors', async () => {
    const before = Number(server.vsctl('get', 'Open_vSwitch', '.', 'next_cfg'));
    await client.transact(VS, [mutate('Open_vSwitch', rootWhere(), [mutation('next_cfg', '+=', 5)])]);
    expect(Number(server.vsctl('get', 'Open_vSwitch', '.', 'next_cfg'))).toBe(before + 5);
    const err = await client
      .transact(VS, [mutate('Open_vSwitch', rootWhere(), [mutation('next_cfg', '/=', 0)])])
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'OPERATION_FAILED', index: 0, error: 'domain error' });
  });

  it('a wait that fails aborts the whole transaction and nothing is written', async () => {
    await client.transact(VS, [update('Open_vSwitch', rootWhere(), { external_ids: map({ v: 'current' }) })]);
    const err = await client
      .transact(VS, [
        wait('Open_vSwitch', rootWhere(), ['external_ids'], '==', [{ external_ids: map({ v: 'stale' }) }], 0),
        mutate('Open_vSwitch', rootWhere(), setKeys('external_ids', { v: 'clobbered', extra: 'x' })),
      ])
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OvsdbOperationError);
    expect((err as OvsdbOperationError).isConflict).toBe(true);
    expect((err as OvsdbOperationError).index).toBe(0);
    expect(server.externalIds()).toEqual({ v: 'current' });
  });

  it('a wait whose condition holds lets the transaction through', async () => {
    await client.transact(VS, [
      wait('Open_vSwitch', rootWhere(), ['external_ids'], '==', [{ external_ids: map({ v: 'current' }) }], 0),
      mutate('Open_vSwitch', rootWhere(), setKeys('external_ids', { v: 'next' })),
    ]);
    expect(server.externalIds()).toEqual({ v: 'next' });
  });

  it('reports count 0 for a write that matches nothing (not an error)', async () => {
    const [r] = await client.transact(VS, [update('Bridge', [cond('name', '==', 'absent')], { stp_enable: true })]);
    expect(r?.count).toBe(0);
  });

  it('deletes rows; unreferenced non-root rows go with them', async () => {
    sbctl('chassis-add', 'ch-del', 'geneve', '192.0.2.9');
    expect(await client.select(SB, 'Encap', [cond('chassis_name', '==', 'ch-del')])).toHaveLength(1);
    const [r] = await client.transact(SB, [remove('Chassis', [cond('name', '==', 'ch-del')])]);
    expect(r?.count).toBe(1);
    expect(await client.select(SB, 'Encap', [cond('chassis_name', '==', 'ch-del')])).toHaveLength(0);
  });

  it('commit, comment, abort and assert behave as the RFC says', async () => {
    await client.transact(VS, [
      mutate('Open_vSwitch', rootWhere(), setKeys('external_ids', { committed: 'yes' })),
      comment('ovn-chassis test comment'),
      commit(true),
    ]);
    expect(server.externalIds().committed).toBe('yes');
    const log = run('ovsdb-tool', ['show-log', '-m', `${server.dir}/db0.db`]);
    expect(log).toContain('ovn-chassis test comment');

    const aborted = await client
      .transact(VS, [mutate('Open_vSwitch', rootWhere(), setKeys('external_ids', { aborted: 'yes' })), abort()])
      .catch((e: unknown) => e);
    expect(aborted).toMatchObject({ index: 1, error: 'aborted' });
    expect(server.externalIds().aborted).toBeUndefined();

    const notOwner = await client.transact(VS, [assertLock('some_lock')]).catch((e: unknown) => e);
    expect(notOwner).toMatchObject({ index: 0, error: 'not owner' });
  });

  it('surfaces a commit-time failure (referential integrity) as the N+1th result', async () => {
    const err = await client
      .transact(SB, [insert('Chassis', { name: 'ch-bad', encaps: set([uuid('11111111-2222-3333-4444-555555555555')]) })])
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ index: 1, op: undefined, error: 'referential integrity violation' });
  });

  it('cancels a transaction held by a wait, which then never commits', async () => {
    await client.transact(VS, [update('Open_vSwitch', rootWhere(), { external_ids: map({}) })]);
    const ac = new AbortController();
    const pending = client.transact(
      VS,
      [
        wait('Open_vSwitch', rootWhere(), ['external_ids'], '==', [{ external_ids: map({ release: 'yes' }) }]),
        mutate('Open_vSwitch', rootWhere(), setKeys('external_ids', { after: 'cancel' })),
      ],
      { signal: ac.signal },
    );
    setTimeout(() => ac.abort(), 50);
    const err = (await pending.catch((e: unknown) => e)) as OvsdbRpcError;
    // Newer servers answer "canceled"; 3.1 drops the request silently and the client settles it.
    expect(err.code === 'CANCELED' || (err.code === 'RPC_ERROR' && err.error === 'canceled')).toBe(true);
    server.vsctl('set', 'Open_vSwitch', '.', 'external_ids:release=yes');
    await client.echo();
    expect(server.externalIds()).toEqual({ release: 'yes' });
  });

  it('answers 100 concurrent transactions on one connection in the order of their ids', async () => {
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        client
          .transact(VS, [mutate('Open_vSwitch', rootWhere(), setKeys('external_ids', { [`k${i}`]: String(i) }))])
          .then(() => order.push(i)),
      ),
    );
    expect(order).toEqual(Array.from({ length: 100 }, (_, i) => i));
    const ids = server.externalIds();
    for (let i = 0; i < 100; i++) expect(ids[`k${i}`]).toBe(String(i));
  });
});

describe('monitor', () => {
  it('sees inserts, modifies and deletes made by ovs-vsctl', async () => {
    const m = await client.monitor(VS, { Bridge: { columns: ['name', 'external_ids'] } });
    const seen: RowChange[] = [];
    m.on('change', (c: RowChange[]) => seen.push(...c));
    expect(m.rows('Bridge').map((r) => r.name)).toContain('br-test');

    server.vsctl('add-br', 'br-mon');
    const ins = await waitFor('insert', () => seen.find((c) => c.kind === 'insert' && c.new?.name === 'br-mon'));
    server.vsctl('set', 'Bridge', 'br-mon', 'external_ids:owner=test');
    const mod = await waitFor('modify', () => seen.find((c) => c.kind === 'modify' && c.uuid === ins.uuid));
    expect(mod.new?.external_ids).toEqual(new Map([['owner', 'test']]));
    expect(m.cache.rows('Bridge').get(ins.uuid)?.external_ids).toEqual(new Map([['owner', 'test']]));
    server.vsctl('del-br', 'br-mon');
    await waitFor('delete', () => seen.find((c) => c.kind === 'delete' && c.uuid === ins.uuid));
    expect(m.cache.rows('Bridge').has(ins.uuid)).toBe(false);
    await m.cancel();
  });

  it('follows Southbound Chassis and Encap rows, filtered with monitor_cond', async () => {
    const m = await client.monitor(SB, {
      Chassis: { columns: ['name', 'hostname', 'encaps', 'other_config'], where: [cond('name', '==', 'ch-a')] },
      Encap: { columns: ['type', 'ip', 'chassis_name'] },
    });
    sbctl('chassis-add', 'ch-b', 'vxlan', '192.0.2.2');
    sbctl('chassis-add', 'ch-a', 'geneve', '192.0.2.1');
    const chassis = await waitFor('ch-a', () => m.rows('Chassis').find((r) => r.name === 'ch-a'));
    expect(m.rows('Chassis').map((r) => r.name)).toEqual(['ch-a']);
    const encapUuids = chassis.encaps as string[];
    expect(encapUuids).toHaveLength(1);
    const encap = await waitFor('encap', () => m.cache.rows('Encap').get(encapUuids[0] as string));
    expect(encap).toMatchObject({ type: 'geneve', ip: '192.0.2.1', chassis_name: 'ch-a' });
    sbctl('chassis-del', 'ch-a');
    await waitFor('ch-a gone', () => m.rows('Chassis').length === 0);
    await m.cancel();
  });
});

describe('values the server cannot take intact', () => {
  it('refuses a NUL or a lone surrogate before sending, naming the column, and the session stays up', async () => {
    for (const [bad, why] of [['a\u0000b', /holds a NUL character/], ['a\ud800b', /lone UTF-16 surrogate/]] as const) {
      const err = await client.transact(VS, [mutate('Open_vSwitch', rootWhere(), setKeys('external_ids', { note: bad }))]).catch((e: unknown) => e);
      expect((err as OvsdbError).code).toBe('INVALID_ARGUMENT');
      expect((err as OvsdbError).message).toMatch(/^operation 0 \(mutate\) Open_vSwitch\.external_ids: the string .* nothing was sent$/);
      expect((err as OvsdbError).message).toMatch(why);
    }
    expect(client.connected).toBe(true);
    expect(await client.listDbs()).toContain(VS);
  });

  it('refuses to send an integer beyond 2^53, and to read one back rounded', async () => {
    const err = await client.transact(VS, [update('Open_vSwitch', rootWhere(), { next_cfg: 2 ** 53 + 2 })]).catch((e: unknown) => e);
    expect((err as OvsdbError).message).toMatch(/Open_vSwitch\.next_cfg: 9007199254740994 is beyond ±2\^53/);
    // Written exactly by another client: reading it must not hand back a rounded number.
    run('ovsdb-client', ['transact', server.unix, JSON.stringify([VS, { op: 'update', table: 'Open_vSwitch', where: [], row: { next_cfg: 1 } }]).replace('"next_cfg":1', '"next_cfg":9007199254740993')]);
    const read = await client.select(VS, 'Open_vSwitch', [], ['next_cfg']).catch((e: unknown) => e);
    expect((read as OvsdbError).code).toBe('SCHEMA_ERROR');
    expect((read as OvsdbError).message).toMatch(/Open_vSwitch\.next_cfg: integer 9007199254740992 is beyond ±2\^53/);
    run('ovsdb-client', ['transact', server.unix, JSON.stringify([VS, { op: 'update', table: 'Open_vSwitch', where: [], row: { next_cfg: 0 } }])]);
  });
});
