import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { map, namedUuid, set, uuid, atom } from '../../ovsdb/wire.js';
import { columnType, decodeDatum, defaultDatum, encodeDatum, parseSchema, tableSchema, type ColumnType } from '../../ovsdb/schema.js';
import { checkOperations, cond, deleteKeys, insert, setKeys, wait } from '../../ovsdb/operations.js';
import { checkResults } from '../../ovsdb/results.js';
import { OvsdbOperationError } from '../../ovsdb/errors.js';

const U = '6a3b3f0e-8f43-4f0c-9a63-0d6f5a1c2b11';
const scalarUuid: ColumnType = { key: { type: 'uuid' }, min: 1, max: 1 };
const setOfUuid: ColumnType = { key: { type: 'uuid' }, min: 0, max: Infinity };
const optionalString: ColumnType = { key: { type: 'string' }, min: 0, max: 1 };
const stringMap: ColumnType = { key: { type: 'string' }, value: { type: 'string' }, min: 0, max: Infinity };

describe('wire values', () => {
  it('builds uuids, named-uuids, sets and maps as RFC 7047 writes them', () => {
    expect(uuid(U.toUpperCase())).toEqual(['uuid', U]);
    expect(namedUuid('row_1')).toEqual(['named-uuid', 'row_1']);
    expect(set(['a', 1, true])).toEqual(['set', ['a', 1, true]]);
    expect(map({ 'system-id': 'x' })).toEqual(['map', [['system-id', 'x']]]);
    expect(map(new Map([[1, 2]]))).toEqual(['map', [[1, 2]]]);
  });

  it('refuses what ovsdb-server would reject', () => {
    expect(() => uuid('not-a-uuid')).toThrow(/not a UUID/);
    expect(() => namedUuid(U)).toThrow(/not a valid uuid-name/);
    expect(() => atom(NaN)).toThrow(/finite/);
    expect(() => map([['k', 'a'], ['k', 'b']])).toThrow(/duplicate map key/);
    expect(() => insert('Bad-Table', {})).toThrow(/not a valid table name/);
    expect(() => cond('bad column', '==', 1)).toThrow(/not a valid column name/);
    expect(() => wait('T', [], ['c'], '==', [], -1)).toThrow(/whole number/);
  });
});

describe('schema-driven decoding', () => {
  it('reads ["uuid",..] as one atom in a scalar column and as a one-element set in a set column', () => {
    expect(decodeDatum(['uuid', U], scalarUuid)).toBe(U);
    expect(decodeDatum(['uuid', U], setOfUuid)).toEqual([U]);
    expect(decodeDatum(['set', [['uuid', U], ['uuid', U.replace('6a', '7a')]]], setOfUuid)).toHaveLength(2);
  });

  it('reads an optional column sent bare or as an empty set', () => {
    expect(decodeDatum('x', optionalString)).toEqual(['x']);
    expect(decodeDatum(['set', []], optionalString)).toEqual([]);
  });

  it('reads maps only in their full form', () => {
    expect(decodeDatum(['map', [['a', 'b']]], stringMap)).toEqual(new Map([['a', 'b']]));
    expect(() => decodeDatum(['a', 'b'], stringMap)).toThrow(/expected \["map"/);
    expect(() => decodeDatum(U, scalarUuid)).toThrow(/expected \["uuid"/);
  });

  it('encodes back to the full wire form', () => {
    expect(encodeDatum([U], setOfUuid)).toEqual(['set', [['uuid', U]]]);
    expect(encodeDatum(new Map([['k', 'v']]), stringMap)).toEqual(['map', [['k', 'v']]]);
    expect(encodeDatum(U, scalarUuid)).toEqual(['uuid', U]);
  });

  it('parses the real Open_vSwitch and Southbound schemas', () => {
    const vs = parseSchema(JSON.parse(readFileSync('/usr/share/openvswitch/vswitch.ovsschema', 'utf8')));
    const ovs = tableSchema(vs, 'Open_vSwitch');
    expect(ovs.maxRows).toBe(1);
    expect(columnType(ovs, 'external_ids').value?.type).toBe('string');
    expect(defaultDatum(columnType(ovs, 'bridges'))).toEqual([]);
    const sb = parseSchema(JSON.parse(readFileSync('/usr/share/ovn/ovn-sb.ovsschema', 'utf8')));
    const encaps = columnType(tableSchema(sb, 'Chassis'), 'encaps');
    expect(encaps).toMatchObject({ min: 1, max: Infinity, key: { type: 'uuid', refTable: 'Encap' } });
    expect(tableSchema(sb, 'Encap').isRoot).toBe(false);
  });
});

describe('key-scoped map edits', () => {
  it('deletes each key before inserting it, because map insert never overwrites', () => {
    expect(setKeys('external_ids', { a: '1', b: '2' })).toEqual([
      ['external_ids', 'delete', ['set', ['a', 'b']]],
      ['external_ids', 'insert', ['map', [['a', '1'], ['b', '2']]]],
    ]);
    expect(deleteKeys('external_ids', ['a'])).toEqual([['external_ids', 'delete', ['set', ['a']]]]);
    expect(setKeys('external_ids', {})).toEqual([]);
  });
});

describe('checkResults', () => {
  const ops = [insert('Bridge', { name: 'br0' }), insert('Bridge', { name: 'br1' })];

  it('returns one result per operation', () => {
    expect(checkResults(ops, [{ uuid: ['uuid', U] }, { uuid: ['uuid', U] }])).toEqual([{ uuid: U }, { uuid: U }]);
  });

  it('names the failing operation and keeps the server words', () => {
    try {
      checkResults(ops, [{ uuid: ['uuid', U] }, { error: 'constraint violation', details: 'too many rows' }]);
      expect.unreachable();
    } catch (e) {
      const err = e as OvsdbOperationError;
      expect(err).toBeInstanceOf(OvsdbOperationError);
      expect([err.index, err.error, err.details, err.op]).toEqual([1, 'constraint violation', 'too many rows', ops[1]]);
    }
  });

  it('reports a commit failure as the extra N+1th result', () => {
    try {
      checkResults(ops, [{}, {}, { error: 'referential integrity violation', details: 'x' }]);
      expect.unreachable();
    } catch (e) {
      const err = e as OvsdbOperationError;
      expect([err.index, err.op, err.message]).toEqual([2, undefined, 'commit failed: referential integrity violation: x']);
    }
  });

  it('refuses a reply that is not an array or is too short', () => {
    expect(() => checkResults(ops, { rows: [] })).toThrow(/not an array/);
    expect(() => checkResults(ops, [{}])).toThrow(/1 results for 2 operations/);
  });
});

/** The cases of Open vSwitch's own tests/ovsdb-data.at and ovsdb-types.at where this layer once disagreed with it. */
describe('agreement with Open vSwitch (ovsdb-data.at, ovsdb-types.at)', () => {
  const realCol: ColumnType = { key: { type: 'real' }, min: 1, max: 1 };
  const intCol: ColumnType = { key: { type: 'integer' }, min: 1, max: 1 };
  const schema = parseSchema({ name: 'T', version: '1', tables: { t: { columns: { r: { type: 'real' }, i: { type: 'integer' }, m: { type: { key: 'string', value: 'real', min: 0, max: 'unlimited' } } } } } });

  it('a set with duplicate members is refused before it is built, so never sent (deleteKeys too)', () => {
    expect(() => set(['a', 'a'])).toThrow(/duplicate set member "a"/);
    expect(() => deleteKeys('external_ids', ['a', 'a'])).toThrow(/duplicate set member/);
    expect(() => setKeys('external_ids', { a: '1' })).not.toThrow();
    expect(() => encodeDatum(['x', 'x'], { key: { type: 'string' }, min: 0, max: Infinity })).toThrow(/duplicate set member/);
  });

  it('a whole real beyond 2^53 is a real: sent to a real column, refused for an integer column', () => {
    expect(() => checkOperations([insert('t', { r: 1e37 })], schema)).not.toThrow();
    expect(() => checkOperations([insert('t', { m: map({ k: 2 ** 60 }) })], schema)).not.toThrow();
    expect(() => checkOperations([insert('t', { i: 2 ** 60 })], schema)).toThrow(/beyond ±2\^53/);
    // Without the schema the layer cannot tell, and keeps to the safe side.
    expect(() => checkOperations([insert('t', { r: 2 ** 60 })])).toThrow(/beyond ±2\^53/);
    expect(decodeDatum(1e37, realCol)).toBe(1e37);
    expect(() => decodeDatum(2 ** 60, intCol)).toThrow(/beyond/);
  });

  it('the default of a set or map column with min 1 holds one default atom, as ovsdb-server fills it', () => {
    expect(defaultDatum({ key: { type: 'integer' }, min: 1, max: 2 })).toEqual([0]);
    expect(defaultDatum({ key: { type: 'uuid' }, min: 1, max: Infinity })).toEqual(['00000000-0000-0000-0000-000000000000']);
    expect(defaultDatum({ key: { type: 'string' }, value: { type: 'boolean' }, min: 1, max: 3 })).toEqual(new Map([['', false]]));
    expect(defaultDatum({ key: { type: 'string' }, min: 0, max: Infinity })).toEqual([]);
    expect(defaultDatum({ key: { type: 'real' }, min: 1, max: 1 })).toBe(0);
  });

  it('a map with a duplicate key, or a set with a duplicate member, read from a server is refused, not collapsed', () => {
    expect(() => decodeDatum(['map', [['k', 'a'], ['k', 'b']]], stringMap)).toThrow(/duplicate key "k"/);
    expect(() => decodeDatum(['set', [['uuid', U], ['uuid', U]]], setOfUuid)).toThrow(/duplicate members/);
  });
});

