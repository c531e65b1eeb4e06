import { OvsdbError } from './errors.js';
import { type WireAtom, type WireValue, map, set, uuid } from './wire.js';

/** A database schema as get_schema returns it, normalised (RFC 7047 §3.2). */
export type AtomicType = 'integer' | 'real' | 'boolean' | 'string' | 'uuid';

export interface BaseType {
  type: AtomicType;
  enum?: Atom[];
  refTable?: string;
}

export interface ColumnType {
  key: BaseType;
  value?: BaseType;
  min: number;
  max: number; // Infinity for "unlimited"
}

export interface TableSchema {
  name: string;
  columns: Record<string, ColumnType>;
  maxRows?: number;
  isRoot: boolean;
  indexes: string[][];
}

export interface DatabaseSchema {
  name: string;
  version: string;
  tables: Record<string, TableSchema>;
}

/**
 * Decoded values, what callers read: an atom is a plain JS value (a uuid is its
 * string), a set is an array, a map is a Map. The schema says which a column is,
 * because on the wire a one-element set arrives as a bare atom.
 */
export type Atom = string | number | boolean;
export type Datum = Atom | Atom[] | Map<Atom, Atom>;
export type Row = Record<string, Datum>;

export type ColumnKind = 'scalar' | 'set' | 'map';

export function columnKind(t: ColumnType): ColumnKind {
  if (t.value) return 'map';
  return t.min === 1 && t.max === 1 ? 'scalar' : 'set';
}

const ATOMIC = new Set(['integer', 'real', 'boolean', 'string', 'uuid']);
const IMPLICIT: Record<string, ColumnType> = {
  _uuid: { key: { type: 'uuid' }, min: 1, max: 1 },
  _version: { key: { type: 'uuid' }, min: 1, max: 1 },
};

export function parseSchema(json: unknown): DatabaseSchema {
  const s = obj(json, 'schema');
  const tablesJson = obj(s.tables, 'schema.tables');
  const tables: Record<string, TableSchema> = {};
  const names = Object.keys(tablesJson);
  // RFC 7047: when no table says isRoot, every table is a root.
  const anyRoot = names.some((n) => obj(tablesJson[n], `table ${n}`).isRoot === true);
  for (const name of names) {
    const t = obj(tablesJson[name], `table ${name}`);
    const columns: Record<string, ColumnType> = { ...IMPLICIT };
    for (const [col, cj] of Object.entries(obj(t.columns, `table ${name}.columns`))) {
      columns[col] = parseColumnType(obj(cj, `${name}.${col}`).type, `${name}.${col}`);
    }
    tables[name] = {
      name,
      columns,
      isRoot: anyRoot ? t.isRoot === true : true,
      indexes: Array.isArray(t.indexes) ? (t.indexes as string[][]) : [],
      ...(typeof t.maxRows === 'number' ? { maxRows: t.maxRows } : {}),
    };
  }
  return { name: String(s.name), version: String(s.version ?? ''), tables };
}

function parseColumnType(json: unknown, where: string): ColumnType {
  if (typeof json === 'string') return { key: parseBaseType(json, where), min: 1, max: 1 };
  const t = obj(json, where);
  const max = t.max === 'unlimited' ? Infinity : typeof t.max === 'number' ? t.max : 1;
  const min = typeof t.min === 'number' ? t.min : 1;
  return {
    key: parseBaseType(t.key, `${where}.key`),
    ...(t.value !== undefined ? { value: parseBaseType(t.value, `${where}.value`) } : {}),
    min,
    max,
  };
}

function parseBaseType(json: unknown, where: string): BaseType {
  if (typeof json === 'string') {
    if (!ATOMIC.has(json)) throw schemaError(`${where}: unknown type "${json}"`);
    return { type: json as AtomicType };
  }
  const b = obj(json, where);
  if (typeof b.type !== 'string' || !ATOMIC.has(b.type)) throw schemaError(`${where}: unknown type ${JSON.stringify(b.type)}`);
  const base: BaseType = { type: b.type as AtomicType };
  if (Array.isArray(b.enum)) {
    const e = b.enum as unknown[];
    base.enum = (e[0] === 'set' ? (e[1] as Atom[]) : [e as unknown as Atom]);
  }
  if (typeof b.refTable === 'string') base.refTable = b.refTable;
  return base;
}

export function tableSchema(schema: DatabaseSchema, table: string): TableSchema {
  const t = schema.tables[table];
  if (!t) throw schemaError(`database ${schema.name} has no table ${table}`);
  return t;
}

export function columnType(table: TableSchema, column: string): ColumnType {
  const c = table.columns[column];
  if (!c) throw schemaError(`table ${table.name} has no column ${column}`);
  return c;
}

/**
 * The value a column holds when nothing was written to it (what update2
 * leaves out): `min` default atoms, as ovsdb-server fills it, so a set or map
 * that must hold one member holds one.
 */
export function defaultDatum(t: ColumnType): Datum {
  const kind = columnKind(t);
  const filled = t.min >= 1;
  if (kind === 'map') return filled ? new Map([[defaultAtom(t.key.type), defaultAtom((t.value as BaseType).type)]]) : new Map();
  if (kind === 'set') return filled ? [defaultAtom(t.key.type)] : [];
  return defaultAtom(t.key.type);
}

function defaultAtom(type: AtomicType): Atom {
  switch (type) {
    case 'integer':
    case 'real':
      return 0;
    case 'boolean':
      return false;
    case 'string':
      return '';
    case 'uuid':
      return '00000000-0000-0000-0000-000000000000';
  }
}

export function decodeAtom(json: unknown, base: BaseType): Atom {
  if (base.type === 'uuid') {
    if (Array.isArray(json) && json.length === 2 && json[0] === 'uuid' && typeof json[1] === 'string') return json[1];
    throw schemaError(`expected ["uuid", <string>], got ${JSON.stringify(json)}`);
  }
  const expected = base.type === 'integer' || base.type === 'real' ? 'number' : base.type;
  if (typeof json !== expected) throw schemaError(`expected ${base.type}, got ${JSON.stringify(json)}`);
  // JSON.parse has already rounded an integer beyond 2^53: refuse it rather than pass on a wrong value.
  if (base.type === 'integer' && !Number.isSafeInteger(json)) {
    throw schemaError(`integer ${JSON.stringify(json)} is beyond ±2^53 (or not whole), where it cannot be carried exactly`);
  }
  return json as Atom;
}

/** Wire → decoded, driven by the column type: `["uuid",..]` is one atom, not a set. */
export function decodeDatum(json: unknown, t: ColumnType): Datum {
  const kind = columnKind(t);
  if (kind === 'map') {
    if (!Array.isArray(json) || json[0] !== 'map' || !Array.isArray(json[1])) {
      throw schemaError(`expected ["map", [...]], got ${JSON.stringify(json)}`);
    }
    const out = new Map<Atom, Atom>();
    for (const pair of json[1] as unknown[]) {
      if (!Array.isArray(pair) || pair.length !== 2) throw schemaError(`bad map pair ${JSON.stringify(pair)}`);
      const key = decodeAtom(pair[0], t.key);
      // Open vSwitch refuses a map that names a key twice; keeping one of the values would be a guess.
      if (out.has(key)) throw schemaError(`map with duplicate key ${JSON.stringify(pair[0])}`);
      out.set(key, decodeAtom(pair[1], t.value as BaseType));
    }
    return out;
  }
  if (kind === 'set') {
    if (Array.isArray(json) && json[0] === 'set' && Array.isArray(json[1])) {
      const members = (json[1] as unknown[]).map((a) => decodeAtom(a, t.key));
      if (new Set(members).size !== members.length) throw schemaError(`set with duplicate members ${JSON.stringify(json).slice(0, 200)}`);
      return members;
    }
    return [decodeAtom(json, t.key)];
  }
  return decodeAtom(json, t.key);
}

export function encodeAtom(value: Atom, base: BaseType): WireAtom {
  if (base.type === 'uuid') return uuid(String(value));
  return value;
}

/** Decoded → wire for a column; sets and maps are always sent in full form. */
export function encodeDatum(value: Datum, t: ColumnType): WireValue {
  const kind = columnKind(t);
  if (kind === 'map') {
    const m = value instanceof Map ? value : new Map<Atom, Atom>();
    return map([...m].map(([k, v]) => [encodeAtom(k, t.key), encodeAtom(v, t.value as BaseType)]));
  }
  if (kind === 'set') {
    const arr = Array.isArray(value) ? value : [value as Atom];
    return set(arr.map((a) => encodeAtom(a, t.key)));
  }
  return encodeAtom(value as Atom, t.key);
}

export function decodeRow(json: unknown, table: TableSchema): Row {
  const row: Row = {};
  for (const [col, v] of Object.entries(obj(json, `row of ${table.name}`))) {
    const t = table.columns[col];
    if (t) row[col] = decodeColumn(table.name, col, v, t);
  }
  return row;
}

/** decodeDatum, with the column named in the error. */
export function decodeColumn(table: string, column: string, json: unknown, t: ColumnType): Datum {
  try {
    return decodeDatum(json, t);
  } catch (err) {
    throw schemaError(`${table}.${column}: ${(err as Error).message}`);
  }
}

function obj(json: unknown, where: string): Record<string, unknown> {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw schemaError(`${where}: expected an object`);
  return json as Record<string, unknown>;
}

function schemaError(message: string): OvsdbError {
  return new OvsdbError('SCHEMA_ERROR', message);
}
