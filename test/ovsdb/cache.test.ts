import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { TableCache, applyDiff } from '../../ovsdb/cache.js';
import { parseSchema, type ColumnType } from '../../ovsdb/schema.js';

const schema = parseSchema(JSON.parse(readFileSync('/usr/share/openvswitch/vswitch.ovsschema', 'utf8')));
const U1 = '11111111-1111-1111-1111-111111111111';
const U2 = '22222222-2222-2222-2222-222222222222';

describe('update2 diffs (ovsdb-server(7))', () => {
  const stringMap: ColumnType = { key: { type: 'string' }, value: { type: 'string' }, min: 0, max: Infinity };
  const stringSet: ColumnType = { key: { type: 'string' }, min: 0, max: Infinity };

  it('map: adds absent keys, removes a key sent with its value, replaces a key sent with another', () => {
    const cur = new Map([['keep', '1'], ['drop', '2'], ['change', '3']]);
    const diff = new Map([['drop', '2'], ['change', '9'], ['new', '4']]);
    expect(applyDiff(cur, diff, stringMap)).toEqual(new Map([['keep', '1'], ['change', '9'], ['new', '4']]));
  });

  it('set: toggles each element (symmetric difference)', () => {
    expect(applyDiff(['a', 'b'], ['b', 'c'], stringSet)).toEqual(['a', 'c']);
  });

  it('scalar and optional: the diff is the new value', () => {
    expect(applyDiff(5, 7, { key: { type: 'integer' }, min: 1, max: 1 })).toBe(7);
    expect(applyDiff(['x'], [], { key: { type: 'string' }, min: 0, max: 1 })).toEqual([]);
  });
});

describe('TableCache', () => {
  it('fills columns that update2 leaves out with their defaults, applies modify and delete', () => {
    const cache = new TableCache(schema, { Bridge: ['_uuid', 'name', 'ports', 'external_ids', 'stp_enable'] });
    const ins = cache.applyUpdate2({ Bridge: { [U1]: { initial: { name: 'br-int' } } } });
    expect(ins).toHaveLength(1);
    expect(cache.rows('Bridge').get(U1)).toEqual({
      _uuid: U1, name: 'br-int', ports: [], external_ids: new Map(), stp_enable: false,
    });
    const mod = cache.applyUpdate2({ Bridge: { [U1]: { modify: { external_ids: ['map', [['a', 'b']]], stp_enable: true } } } });
    expect(mod[0]).toMatchObject({ kind: 'modify', old: { stp_enable: false }, new: { stp_enable: true } });
    expect(cache.rows('Bridge').get(U1)?.external_ids).toEqual(new Map([['a', 'b']]));
    cache.applyUpdate2({ Bridge: { [U1]: { delete: null } } });
    expect(cache.rows('Bridge').size).toBe(0);
  });

  it('applies monitor v1 updates (old/new)', () => {
    const cache = new TableCache(schema, { Bridge: ['_uuid', 'name'] });
    expect(cache.applyUpdate({ Bridge: { [U1]: { new: { name: 'a' } } } })[0]?.kind).toBe('insert');
    expect(cache.applyUpdate({ Bridge: { [U1]: { old: { name: 'a' }, new: { name: 'b' } } } })[0]?.kind).toBe('modify');
    expect(cache.applyUpdate({ Bridge: { [U1]: { old: { name: 'b' } } } })[0]?.kind).toBe('delete');
  });

  it('resync reports the difference between the old cache and a fresh snapshot', () => {
    const cache = new TableCache(schema, { Bridge: ['_uuid', 'name'] });
    cache.applyUpdate2({ Bridge: { [U1]: { initial: { name: 'a' } } } });
    const changes = cache.resync((fresh) => fresh.applyUpdate2({ Bridge: { [U2]: { initial: { name: 'b' } } } }));
    expect(changes.map((c) => [c.kind, c.uuid])).toEqual([['insert', U2], ['delete', U1]]);
    expect([...cache.rows('Bridge').keys()]).toEqual([U2]);
  });

  it('takes a modify of a map column of at most one entry as the new value, as the server sends it', () => {
    const t: ColumnType = { key: { type: 'string' }, value: { type: 'string' }, min: 0, max: 1 };
    expect(applyDiff(new Map([['a', '1']]), new Map([['b', '2']]), t)).toEqual(new Map([['b', '2']]));
    expect(applyDiff(new Map([['a', '1']]), new Map([['a', '3']]), t)).toEqual(new Map([['a', '3']]));
  });

  it('rejects a modify of a row it never saw', () => {
    const cache = new TableCache(schema, { Bridge: undefined });
    expect(() => cache.applyUpdate2({ Bridge: { [U1]: { modify: { name: 'x' } } } })).toThrow(/unknown row/);
  });
});
