/**
 * Showing outside input to a person, safely: whatever a file, a node or a
 * peer sent, what reaches the terminal is bounded in length, cannot carry a
 * control sequence, and is produced without recursion that a deeply nested
 * value could exhaust.
 */

// C0 and C1 controls (ESC, CSI…), DEL, line/paragraph separators and bidi overrides.
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** `s` with every control or direction-changing character shown as an escape. */
export function printable(s: string): string {
  return s.replace(UNPRINTABLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

const MAX_DEPTH = 6;

/** A short JSON-like rendering of any value, at most `max` characters, never throwing. */
export function preview(v: unknown, max = 80): string {
  const parts: string[] = [];
  let size = 0;
  const put = (s: string) => {
    parts.push(s);
    size += s.length;
  };
  const walk = (x: unknown, depth: number): void => {
    if (size > max) return;
    if (typeof x === 'string') put(printable(JSON.stringify(x.length > max ? x.slice(0, max) : x)));
    else if (typeof x === 'number' || typeof x === 'boolean' || x === null) put(String(x));
    else if (x === undefined) put('undefined');
    else if (typeof x !== 'object') put(typeof x);
    else if (depth >= MAX_DEPTH) put(Array.isArray(x) ? '[…]' : '{…}');
    else if (Array.isArray(x)) {
      put('[');
      x.some((e, i) => {
        if (i > 0) put(',');
        walk(e, depth + 1);
        return size > max;
      });
      put(']');
    } else {
      put('{');
      Object.entries(x as Record<string, unknown>).some(([k, e], i) => {
        put(`${i > 0 ? ',' : ''}${printable(JSON.stringify(k))}:`);
        walk(e, depth + 1);
        return size > max;
      });
      put('}');
    }
  };
  walk(v, 0);
  const s = parts.join('');
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

/**
 * How deeply `text` (JSON) nests arrays and objects, counted without parsing
 * it, stopping as soon as `limit` is passed: a guard to run before anything
 * recursive (validation, error messages) touches a value from outside.
 */
export function nestsDeeperThan(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

/**
 * Orders strings by UTF-16 code unit, the same on every machine. (localeCompare
 * would load ICU's collation data, some megabytes resident, to sort key names.)
 */
export function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Edits (insert, delete, substitute, swap two neighbours) between two short words. */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) (d[0] as number[])[j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const row = d[i] as number[];
      const up = d[i - 1] as number[];
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min((up[j] as number) + 1, (row[j - 1] as number) + 1, (up[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) row[j] = Math.min(row[j] as number, ((d[i - 2] as number[])[j - 2] as number) + 1);
    }
  }
  return (d[a.length] as number[])[b.length] as number;
}

/** The candidate a typo most likely meant ("did you mean"), if one is close enough to be worth saying. */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  if (word.length > 64) return undefined;
  const limit = Math.max(1, Math.min(3, Math.floor(word.length / 3)));
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    if (c.length > 64) continue;
    const d = distance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) [best, bestD] = [c, d];
  }
  return bestD <= limit ? best : undefined;
}
