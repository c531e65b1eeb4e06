import { OvsdbError } from './errors.js';
import type { DatabaseSchema } from './schema.js';
import { type WireAtom, type WireValue, atom, map, set, unsendable } from './wire.js';

/**
 * Typed builders for the operations of RFC 7047 §5.2. Building is separate
 * from sending, so the logic that composes a transaction is pure and testable.
 */
export type ConditionFn = '==' | '!=' | '<' | '<=' | '>' | '>=' | 'includes' | 'excludes';
export type Condition = [column: string, fn: ConditionFn, value: WireValue];
export type Mutator = '+=' | '-=' | '*=' | '/=' | '%=' | 'insert' | 'delete';
export type Mutation = [column: string, mutator: Mutator, value: WireValue];
export type WireRow = Record<string, WireValue>;

export interface InsertOp { op: 'insert'; table: string; row: WireRow; 'uuid-name'?: string; uuid?: string }
export interface SelectOp { op: 'select'; table: string; where: Condition[]; columns?: string[] }
export interface UpdateOp { op: 'update'; table: string; where: Condition[]; row: WireRow }
export interface MutateOp { op: 'mutate'; table: string; where: Condition[]; mutations: Mutation[] }
export interface DeleteOp { op: 'delete'; table: string; where: Condition[] }
export interface WaitOp {
  op: 'wait';
  table: string;
  where: Condition[];
  columns: string[];
  until: '==' | '!=';
  rows: WireRow[];
  timeout?: number;
}
export interface CommitOp { op: 'commit'; durable: boolean }
export interface AbortOp { op: 'abort' }
export interface CommentOp { op: 'comment'; comment: string }
export interface AssertOp { op: 'assert'; lock: string }

export type Operation =
  | InsertOp | SelectOp | UpdateOp | MutateOp | DeleteOp | WaitOp | CommitOp | AbortOp | CommentOp | AssertOp;

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

function checkName(what: string, name: string): string {
  if (!NAME_RE.test(name)) throw new OvsdbError('INVALID_ARGUMENT', `"${name}" is not a valid ${what} name`);
  return name;
}

function checkRow(row: WireRow): WireRow {
  for (const col of Object.keys(row)) checkName('column', col);
  return row;
}

export function cond(column: string, fn: ConditionFn, value: WireValue): Condition {
  return [checkName('column', column), fn, value];
}

export function mutation(column: string, mutator: Mutator, value: WireValue): Mutation {
  return [checkName('column', column), mutator, value];
}

export function insert(table: string, row: WireRow, opts: { uuidName?: string; uuid?: string } = {}): InsertOp {
  const op: InsertOp = { op: 'insert', table: checkName('table', table), row: checkRow(row) };
  if (opts.uuidName !== undefined) op['uuid-name'] = checkName('uuid', opts.uuidName);
  if (opts.uuid !== undefined) op.uuid = opts.uuid;
  return op;
}

/** Always include `_uuid` when you pass columns: the server de-duplicates identical rows otherwise. */
export function select(table: string, where: Condition[], columns?: string[]): SelectOp {
  const op: SelectOp = { op: 'select', table: checkName('table', table), where };
  if (columns) op.columns = columns.map((c) => checkName('column', c));
  return op;
}

/** Replaces whole columns: a map or set given here overwrites the stored one. */
export function update(table: string, where: Condition[], row: WireRow): UpdateOp {
  return { op: 'update', table: checkName('table', table), where, row: checkRow(row) };
}

export function mutate(table: string, where: Condition[], mutations: Mutation[]): MutateOp {
  return { op: 'mutate', table: checkName('table', table), where, mutations };
}

export function remove(table: string, where: Condition[]): DeleteOp {
  return { op: 'delete', table: checkName('table', table), where };
}

/**
 * Holds (or, with timeoutMs 0, fails) the transaction until the selected rows'
 * columns equal (`==`) or differ from (`!=`) `rows`. Omitting timeoutMs waits
 * forever — the server's rule — so give one unless that is what you want.
 */
export function wait(
  table: string,
  where: Condition[],
  columns: string[],
  until: '==' | '!=',
  rows: WireRow[],
  timeoutMs?: number,
): WaitOp {
  const op: WaitOp = {
    op: 'wait',
    table: checkName('table', table),
    where,
    columns: columns.map((c) => checkName('column', c)),
    until,
    rows: rows.map(checkRow),
  };
  if (timeoutMs !== undefined) {
    if (!Number.isInteger(timeoutMs) || timeoutMs < 0) throw new OvsdbError('INVALID_ARGUMENT', `wait timeout ${timeoutMs} is not a whole number of ms`);
    op.timeout = timeoutMs;
  }
  return op;
}

export function commit(durable: boolean): CommitOp {
  return { op: 'commit', durable };
}

export function abort(): AbortOp {
  return { op: 'abort' };
}

export function comment(text: string): CommentOp {
  return { op: 'comment', comment: text };
}

export function assertLock(lock: string): AssertOp {
  return { op: 'assert', lock: checkName('lock', lock) };
}

/**
 * Sets keys of a map column without touching its other keys. A map `insert`
 * never overwrites an existing key (RFC 7047 §5.1), so each key is deleted
 * first, in the same mutate — what the OVS IDL itself sends.
 */
export function setKeys(column: string, entries: Record<string, WireAtom>): Mutation[] {
  const keys = Object.keys(entries);
  if (keys.length === 0) return [];
  return [mutation(column, 'delete', set(keys)), mutation(column, 'insert', map(entries))];
}

/** Removes keys of a map column whatever their values. */
export function deleteKeys(column: string, keys: string[]): Mutation[] {
  return keys.length === 0 ? [] : [mutation(column, 'delete', set(keys.map(atom)))];
}

/**
 * Refuses, before anything is sent, a value the server would drop the whole
 * session for (or one already rounded), naming the operation and the column.
 * With the schema, the 2^53 rule holds for integer columns only; without it,
 * for every number.
 */
export function checkOperations(ops: Operation[], schema?: DatabaseSchema): void {
  ops.forEach((op, i) => {
    const table = 'table' in op ? op.table : '';
    const check = (col: string, v: unknown, what = `${table}.${col}`) => {
      const why = unsendable(v, holdsIntegers(schema, table, col));
      if (why) throw new OvsdbError('INVALID_ARGUMENT', `operation ${i} (${op.op}) ${what}: ${why}; nothing was sent`);
    };
    const rows: WireRow[] = op.op === 'insert' || op.op === 'update' ? [op.row] : op.op === 'wait' ? op.rows : [];
    for (const row of rows) for (const [col, v] of Object.entries(row)) check(col, v);
    if ('where' in op) for (const [col, , v] of op.where) check(col, v, `${table}.${col} (condition)`);
    if (op.op === 'mutate') for (const [col, , v] of op.mutations) check(col, v);
    if (op.op === 'comment') check('', op.comment, 'comment');
  });
}

/** Whether a column may hold integers: true unless the schema says it holds none (and so when it is not known). */
function holdsIntegers(schema: DatabaseSchema | undefined, table: string, column: string): boolean {
  const t = schema?.tables[table]?.columns[column];
  if (!t) return true;
  return t.key.type === 'integer' || t.value?.type === 'integer';
}
