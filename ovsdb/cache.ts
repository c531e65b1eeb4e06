import { OvsdbError } from './errors.js';
import {
  type Atom,
  type ColumnType,
  type Datum,
  type DatabaseSchema,
  type Row,
  type TableSchema,
  columnKind,
  decodeColumn,
  defaultDatum,
  tableSchema,
} from './schema.js';

export type ChangeKind = 'insert' | 'modify' | 'delete';

export interface RowChange {
  table: string;
  uuid: string;
  kind: ChangeKind;
  old?: Row;
  new?: Row;
}

/**
 * The local replica a monitor keeps: table → row uuid → decoded row.
 * Pure: it applies the server's <table-updates> and <table-updates2> (RFC 7047
 * §4.1.6; ovsdb-server(7) update2) and reports what changed.
 */
export class TableCache {
  readonly tables = new Map<string, Map<string, Row>>();
  private readonly schema: DatabaseSchema;
  private readonly columns: Map<string, string[]>;

  /** `columns`: the monitored columns of each table (missing entry: all). */
  constructor(schema: DatabaseSchema, columns: Record<string, string[] | undefined>) {
    this.schema = schema;
    this.columns = new Map();
    for (const [table, cols] of Object.entries(columns)) {
      const ts = tableSchema(schema, table);
      this.columns.set(table, cols ?? Object.keys(ts.columns).filter((c) => c !== '_version'));
      this.tables.set(table, new Map());
    }
  }

  rows(table: string): Map<string, Row> {
    return this.tables.get(table) ?? new Map();
  }

  /** update2: initial/insert omit default-valued columns; modify carries a diff. */
  applyUpdate2(updates: unknown): RowChange[] {
    const changes: RowChange[] = [];
    for (const [table, rowsJson] of entries(updates, 'table-updates2')) {
      const ts = tableSchema(this.schema, table);
      const rows = this.tableRows(table);
      for (const [uuid, u] of entries(rowsJson, `${table} updates`)) {
        const [kind, body] = single(u, `${table} ${uuid}`);
        const old = rows.get(uuid);
        if (kind === 'initial' || kind === 'insert') {
          const row = this.fullRow(ts, table, body);
          row._uuid = uuid;
          rows.set(uuid, row);
          changes.push({ table, uuid, kind: 'insert', new: row });
        } else if (kind === 'modify') {
          if (!old) throw cacheError(`modify of unknown row ${table} ${uuid}`);
          const row = { ...old };
          for (const [col, diff] of entries(body, `${table} ${uuid} modify`)) {
            const t = ts.columns[col];
            if (t) row[col] = applyDiff(row[col] ?? defaultDatum(t), decodeColumn(table, col, diff, t), t);
          }
          rows.set(uuid, row);
          changes.push({ table, uuid, kind: 'modify', old, new: row });
        } else if (kind === 'delete') {
          rows.delete(uuid);
          changes.push({ table, uuid, kind: 'delete', ...(old ? { old } : {}) });
        } else {
          throw cacheError(`unknown update2 kind "${kind}"`);
        }
      }
    }
    return changes;
  }

  /** update (monitor v1): "new" holds every monitored column; no "new" means deleted. */
  applyUpdate(updates: unknown): RowChange[] {
    const changes: RowChange[] = [];
    for (const [table, rowsJson] of entries(updates, 'table-updates')) {
      const ts = tableSchema(this.schema, table);
      const rows = this.tableRows(table);
      for (const [uuid, u] of entries(rowsJson, `${table} updates`)) {
        const ru = u as { old?: unknown; new?: unknown };
        const old = rows.get(uuid);
        if (ru.new === undefined) {
          rows.delete(uuid);
          changes.push({ table, uuid, kind: 'delete', ...(old ? { old } : {}) });
          continue;
        }
        const row = this.fullRow(ts, table, ru.new);
        row._uuid = uuid;
        rows.set(uuid, row);
        changes.push(old ? { table, uuid, kind: 'modify', old, new: row } : { table, uuid, kind: 'insert', new: row });
      }
    }
    return changes;
  }

  /**
   * Replaces the whole content with a fresh snapshot (after a reconnect) and
   * returns the difference from what was cached, so watchers miss nothing that
   * happened while the connection was down.
   */
  resync(apply: (fresh: TableCache) => void): RowChange[] {
    const fresh = new TableCache(this.schema, Object.fromEntries(this.columns));
    apply(fresh);
    const changes: RowChange[] = [];
    for (const [table, freshRows] of fresh.tables) {
      const rows = this.tableRows(table);
      for (const [uuid, row] of freshRows) {
        const old = rows.get(uuid);
        if (!old) changes.push({ table, uuid, kind: 'insert', new: row });
        else if (!rowsEqual(old, row)) changes.push({ table, uuid, kind: 'modify', old, new: row });
      }
      for (const [uuid, old] of rows) {
        if (!freshRows.has(uuid)) changes.push({ table, uuid, kind: 'delete', old });
      }
      this.tables.set(table, freshRows);
    }
    return changes;
  }

  private tableRows(table: string): Map<string, Row> {
    let rows = this.tables.get(table);
    if (!rows) {
      rows = new Map();
      this.tables.set(table, rows);
    }
    return rows;
  }

  private fullRow(ts: TableSchema, table: string, body: unknown): Row {
    const row: Row = {};
    for (const col of this.columns.get(table) ?? Object.keys(ts.columns)) {
      const t = ts.columns[col];
      if (t && col !== '_uuid') row[col] = defaultDatum(t);
    }
    for (const [col, v] of entries(body, `${table} row`)) {
      const t = ts.columns[col];
      if (t) row[col] = decodeColumn(table, col, v, t);
    }
    return row;
  }
}

/**
 * An update2 "modify" diff (ovsdb-server(7)): a scalar's diff is its new value;
 * a set's is the symmetric difference; a map's adds absent keys, removes a key
 * sent with its current value, and replaces a key sent with another value.
 */
export function applyDiff(current: Datum, diff: Datum, t: ColumnType): Datum {
  const kind = columnKind(t);
  // A column of at most one element (optional scalar, or a map of max 1) is sent whole, not as a difference.
  if (kind === 'scalar' || t.max === 1) return diff;
  if (kind === 'set') {
    const out = [...(current as Atom[])];
    for (const a of diff as Atom[]) {
      const i = out.indexOf(a);
      if (i >= 0) out.splice(i, 1);
      else out.push(a);
    }
    return out;
  }
  const out = new Map(current as Map<Atom, Atom>);
  for (const [k, v] of diff as Map<Atom, Atom>) {
    if (out.has(k) && out.get(k) === v) out.delete(k);
    else out.set(k, v);
  }
  return out;
}

export function datumEqual(a: Datum | undefined, b: Datum | undefined): boolean {
  if (a instanceof Map && b instanceof Map) {
    if (a.size !== b.size) return false;
    for (const [k, v] of a) if (!b.has(k) || b.get(k) !== v) return false;
    return true;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return false;
    const sb = new Set(b);
    return a.every((x) => sb.has(x));
  }
  return a === b;
}

function rowsEqual(a: Row, b: Row): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) if (!datumEqual(a[k], b[k])) return false;
  return true;
}

function entries(json: unknown, where: string): [string, unknown][] {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw cacheError(`${where}: expected an object`);
  return Object.entries(json as Record<string, unknown>);
}

function single(json: unknown, where: string): [string, unknown] {
  const e = entries(json, where);
  if (e.length !== 1) throw cacheError(`${where}: expected exactly one of initial/insert/modify/delete`);
  return e[0] as [string, unknown];
}

function cacheError(message: string): OvsdbError {
  return new OvsdbError('PROTOCOL_ERROR', `bad monitor update: ${message}`);
}
