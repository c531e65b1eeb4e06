import { preview } from '../common/text.js';
import { OvsdbError } from './errors.js';

/**
 * OVSDB values as they travel in JSON (RFC 7047 §5.1). Build them with the
 * helpers below rather than by hand: each checks what ovsdb-server would
 * reject (a bare string is not a uuid; named-uuids are identifiers; maps have
 * unique keys; no NaN or Infinity).
 */
export type WireUuid = ['uuid', string];
export type WireNamedUuid = ['named-uuid', string];
export type WireAtom = string | number | boolean | WireUuid | WireNamedUuid;
export type WireSet = ['set', WireAtom[]];
export type WireMap = ['map', [WireAtom, WireAtom][]];
export type WireValue = WireAtom | WireSet | WireMap;

const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const ID_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function isUuid(text: string): boolean {
  return UUID_RE.test(text);
}

export function uuid(id: string): WireUuid {
  if (!UUID_RE.test(id)) throw bad(`"${id}" is not a UUID`);
  return ['uuid', id.toLowerCase()];
}

/** A reference to a row inserted earlier in the same transaction with this `uuid-name`. */
export function namedUuid(name: string): WireNamedUuid {
  if (!ID_RE.test(name)) throw bad(`"${name}" is not a valid uuid-name (letters, digits, _; not starting with a digit)`);
  return ['named-uuid', name];
}

export function atom(value: WireAtom): WireAtom {
  if (typeof value === 'number' && !Number.isFinite(value)) throw bad(`${value} cannot be sent: OVSDB numbers are finite`);
  if (Array.isArray(value)) {
    if (value[0] === 'uuid') return uuid(value[1]);
    if (value[0] === 'named-uuid') return namedUuid(value[1]);
    throw bad(`${JSON.stringify(value)} is not an atom`);
  }
  if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
    throw bad(`${JSON.stringify(value)} is not an atom`);
  }
  return value;
}

/** A set; a member given twice is refused, as ovsdb-server refuses the whole transaction for it. */
export function set(values: Iterable<WireAtom>): WireSet {
  const seen = new Set<string>();
  return [
    'set',
    [...values].map((v) => {
      const a = atom(v);
      const key = JSON.stringify(a);
      if (seen.has(key)) throw bad(`duplicate set member ${key}`);
      seen.add(key);
      return a;
    }),
  ];
}

export function map(entries: Record<string, WireAtom> | Map<WireAtom, WireAtom> | Iterable<[WireAtom, WireAtom]>): WireMap {
  const pairs: [WireAtom, WireAtom][] =
    entries instanceof Map || Symbol.iterator in entries
      ? [...(entries as Iterable<[WireAtom, WireAtom]>)]
      : Object.entries(entries);
  const seen = new Set<string>();
  return [
    'map',
    pairs.map(([k, v]) => {
      const key = JSON.stringify(atom(k));
      if (seen.has(key)) throw bad(`duplicate map key ${key}`);
      seen.add(key);
      return [atom(k), atom(v)];
    }),
  ];
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Why ovsdb-server could not take this JSON value intact, or undefined: it
 * drops the whole session on a NUL or invalid UTF-8 in a string; and where
 * the value is an integer (`integers`), a JavaScript number beyond 2^53 has
 * already lost digits. A real of any size is a real (1e37 is one).
 */
export function unsendable(value: unknown, integers = true): string | undefined {
  if (typeof value === 'string') {
    if (value.includes('\0')) return `the string ${preview(value, 40)} holds a NUL character, which OVSDB strings cannot`;
    if (LONE_SURROGATE.test(value)) return `the string ${preview(value, 40)} holds a lone UTF-16 surrogate, which is not valid UTF-8`;
    return undefined;
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return `${value} is not a finite number`;
    if (integers && Number.isInteger(value) && !Number.isSafeInteger(value)) {
      return `${value} is beyond ±2^53, where JavaScript numbers cannot carry an integer exactly`;
    }
    return undefined;
  }
  if (Array.isArray(value)) {
    for (const v of value) {
      const why = unsendable(v, integers);
      if (why) return why;
    }
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      const why = unsendable(k, integers) ?? unsendable(v, integers);
      if (why) return why;
    }
  }
  return undefined;
}

function bad(message: string): OvsdbError {
  return new OvsdbError('INVALID_ARGUMENT', message);
}
