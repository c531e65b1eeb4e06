import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { type Document, LineCounter, isMap, isNode, isScalar, parseDocument, visit } from 'yaml';
import type { z } from 'zod';
import { closest, nestsDeeperThan, preview, printable } from '../common/text.js';
import { ConfigError } from './errors.js';

/** No config or inventory nests anywhere near this deep. */
const MAX_NESTING = 64;

/** Config files are small; a bigger one is a mistake or an attack, refused before parsing. */
export const MAX_CONFIG_BYTES = 1024 * 1024;

/**
 * Reads a file (or `-` for stdin), refusing oversized input. The limit holds
 * for streams and devices too (a pipe, /dev/zero): reading stops one chunk
 * past it, whatever the file claims its size is.
 */
export function readConfigText(path: string): string {
  const source = path === '-' ? 'standard input' : path;
  let fd: number;
  try {
    fd = path === '-' ? 0 : openSync(path, 'r');
  } catch (err) {
    throw new ConfigError(source, [`cannot read it: ${(err as Error).message}`]);
  }
  try {
    const size = path === '-' ? 0 : fstatSync(fd).size;
    if (size > MAX_CONFIG_BYTES) throw new ConfigError(source, [`the file is ${size} bytes; the limit is ${MAX_CONFIG_BYTES}`]);
    const chunks: Buffer[] = [];
    let total = 0;
    const chunk = Buffer.alloc(64 * 1024);
    for (;;) {
      let n: number;
      try {
        n = readSync(fd, chunk, 0, chunk.length, null);
      } catch (err) {
        // A non-blocking stdin (a terminal, some pipes) has nothing yet: wait a little, synchronously.
        if ((err as NodeJS.ErrnoException).code === 'EAGAIN') {
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
          continue;
        }
        throw new ConfigError(source, [`cannot read it: ${(err as Error).message}`]);
      }
      if (n === 0) break;
      total += n;
      if (total > MAX_CONFIG_BYTES) throw new ConfigError(source, [`the input is over ${MAX_CONFIG_BYTES} bytes`]);
      chunks.push(Buffer.from(chunk.subarray(0, n)));
    }
    return Buffer.concat(chunks).toString('utf8');
  } finally {
    if (fd !== 0) closeSync(fd);
  }
}

/**
 * Parses YAML (JSON is YAML) with the guards an untrusted file needs: no
 * duplicate keys, a small alias budget against "billion laughs" bombs, and no
 * custom tags.
 */
export function parseYaml(text: string, source: string): unknown {
  return documentData(parseYamlDocument(text, source), source);
}

function parseYamlDocument(text: string, source: string): Document {
  // The YAML parser recurses per level of [ and {: refuse absurd nesting before it runs out of stack.
  if (nestsDeeperThan(text, MAX_NESTING)) throw new ConfigError(source, [`the document nests [ or { deeper than ${MAX_NESTING} levels`]);
  let doc: Document;
  try {
    doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true, customTags: [] });
  } catch (err) {
    // The YAML parser recurses per level of block nesting too (a line of "a: a: a: …"): its stack can run out.
    const why = err instanceof RangeError ? 'the document nests too deeply to be read' : `the YAML parser failed: ${(err as Error).message}`;
    throw new ConfigError(source, [why]);
  }
  const problems = [...doc.errors, ...doc.warnings].map((e) => `${e.message.split('\n')[0]}${e.linePos ? ` (line ${e.linePos[0].line})` : ''}`);
  if (doc.errors.length > 0) throw new ConfigError(source, problems);
  // A JavaScript object cannot hold a __proto__ key as data, nor a list or map as a key: refused, not silently changed.
  const bad: string[] = [];
  visit(doc, {
    Pair(_, pair) {
      const at = isNode(pair.key) && pair.key.range ? ` (offset ${pair.key.range[0]})` : '';
      if (isScalar(pair.key) && pair.key.value === '__proto__') bad.push(`the key __proto__ is not allowed${at}`);
      else if (pair.key !== null && !isScalar(pair.key)) bad.push(`a key must be a plain value, not a list or a map${at}`);
    },
  });
  if (bad.length > 0) throw new ConfigError(source, bad);
  return doc;
}

function documentData(doc: Document, source: string): unknown {
  try {
    return doc.toJS({ maxAliasCount: 50 });
  } catch (err) {
    throw new ConfigError(source, [(err as Error).message]);
  }
}

/**
 * Checks data against a zod schema; every problem becomes one line naming
 * the field and value (and, from a file, where it is: `where` maps a path
 * to "line L, column C").
 */
export function check<S extends z.ZodType>(schema: S, data: unknown, source: string, where?: Where): z.output<S> {
  const res = schema.safeParse(data, { reportInput: true });
  if (res.success) return res.data;
  throw new ConfigError(source, res.error.issues.flatMap((i) => {
    // An unknown field gets a line of its own, with where it is and what it was likely meant to be.
    const parts = i.code === 'unrecognized_keys' ? i.keys.map((k) => ({ ...i, keys: [k] })) : [i];
    return parts.map((p) => {
      const at = where?.(p.path, p.code === 'unrecognized_keys' ? p.keys[0] : undefined);
      return `${at ? `${at}: ` : ''}${formatIssue(p, schema)}`;
    });
  }));
}

/** The inner schema of a wrapper, a list's element, a map's value, an object's fields: how a path walks a schema. */
interface SchemaDef {
  type: string;
  shape?: Record<string, z.ZodType>;
  innerType?: z.ZodType;
  in?: z.ZodType;
  valueType?: z.ZodType;
  element?: z.ZodType;
  options?: z.ZodType[];
}
const defOf = (s: z.ZodType) => (s as unknown as { _zod: { def: SchemaDef } })._zod.def;

/** The field names a schema allows at `path` (none where it takes any key, or no object). */
export function fieldsAt(schema: z.ZodType, path: PropertyKey[]): string[] {
  const def = defOf(schema);
  const [head, ...rest] = path;
  switch (def.type) {
    case 'object': {
      if (head === undefined) return Object.keys(def.shape ?? {});
      const next = def.shape?.[String(head)];
      return next ? fieldsAt(next, rest) : [];
    }
    case 'optional': case 'default': case 'nullable': case 'readonly': case 'prefault': case 'catch':
      return def.innerType ? fieldsAt(def.innerType, path) : [];
    case 'pipe':
      return def.in ? fieldsAt(def.in, path) : [];
    case 'record':
      return head !== undefined && def.valueType ? fieldsAt(def.valueType, rest) : [];
    case 'array':
      return head !== undefined && def.element ? fieldsAt(def.element, rest) : [];
    case 'union':
      return [...new Set((def.options ?? []).flatMap((o) => fieldsAt(o, path)))];
    default:
      return [];
  }
}

/** Fields whose values are secrets: an error names the field, never the value. */
const SECRET_FIELDS = new Set(['passphrase']);

/** One issue as a line; with the schema, an unknown field says which known one it most likely meant. */
export function formatIssue(issue: z.core.$ZodIssue, schema?: z.ZodType, prefix: PropertyKey[] = []): string {
  // `prefix` is where the schema sits in the file: shown in the line, not used to look up the schema.
  const path = printable([...prefix, ...issue.path].map(String).join('.'));
  const at = (p: string) => (p ? `${p}: ` : '');
  if (issue.code === 'unrecognized_keys') {
    const known = schema ? fieldsAt(schema, issue.path) : [];
    return issue.keys.map((k) => {
      const meant = closest(k, known);
      return `${at(path ? `${path}.${printable(k)}` : printable(k))}unknown field${meant ? ` (did you mean ${meant}?)` : ''}`;
    }).join('\n  ');
  }
  const input = (issue as { input?: unknown }).input;
  if (input === undefined) return `${at(path)}required`;
  if (SECRET_FIELDS.has(String(issue.path.at(-1)))) {
    return `${at(path)}the value (a secret, not shown) ${issue.code === 'invalid_type' ? `is not ${article(issue.expected)}` : 'is not valid'}`;
  }
  if (issue.code === 'invalid_type') return `${at(path)}${preview(input)} is not ${article(issue.expected)}`;
  if (issue.code === 'invalid_value') return `${at(path)}${preview(input)} is not one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
  if (issue.code === 'invalid_key' || issue.code === 'invalid_element') {
    return issue.issues.map((i) => formatIssue({ ...i, path: [...issue.path, ...i.path] } as z.core.$ZodIssue, schema, prefix)).join('\n  ');
  }
  if (issue.code === 'invalid_union' && 'discriminator' in issue && typeof issue.discriminator === 'string') {
    const value = (input as Record<string, unknown> | null)?.[issue.discriminator];
    const options = (issue as { options?: unknown[] }).options ?? [];
    return `${at(path)}${preview(value)} is not one of ${options.map((o) => JSON.stringify(o)).join(', ')}`;
  }
  if (issue.code === 'invalid_union') {
    // Report the branch whose shape the input has (e.g. the list form), not "no branch matched".
    const branch = issue.errors.find((b) => b.length > 0 && !b.some((i) => i.code === 'invalid_type' && i.path.length === 0));
    if (branch) return branch.map((i) => formatIssue({ ...i, path: [...issue.path, ...i.path] } as z.core.$ZodIssue, schema, prefix)).join('\n  ');
    return `${at(path)}${preview(input)} has the wrong form`;
  }
  return `${at(path)}${preview(input)} ${issue.message}`;
}

function article(t: string): string {
  return /^[aeiou]/.test(t) ? `an ${t}` : `a ${t}`;
}


export function loadConfigFile<S extends z.ZodType>(schema: S, path: string): z.output<S> {
  return loadConfigAt(schema, path).data;
}

/** A config file's data, checked, and where each path is in it: for problems found later, once the data is put together. */
export function loadConfigAt<S extends z.ZodType>(schema: S, path: string): { data: z.output<S>; where: Where } {
  const source = path === '-' ? 'standard input' : path;
  const text = readConfigText(path);
  const doc = parseYamlDocument(text, source);
  const where = positionsIn(doc, text);
  return { data: check(schema, documentData(doc, source), source, where), where };
}

/** Where a path (or a key under it) is in a file: "line L, column C", or undefined. */
export type Where = (path: PropertyKey[], key?: string) => string | undefined;

/** Where a path (or a key under it) is in the file, as a person finds it: "line L, column C". */
function positionsIn(doc: Document, text: string): Where {
  const lines = new LineCounter();
  let offset = 0;
  for (const l of text.split('\n')) {
    lines.addNewLine(offset);
    offset += l.length + 1;
  }
  return (path, key) => {
    try {
      let node = doc.getIn(path.map((p) => (typeof p === 'symbol' ? String(p) : p)), true);
      if (key !== undefined && isMap(node)) node = node.items.find((it) => isScalar(it.key) && it.key.value === key)?.key;
      const start = isNode(node) ? node.range?.[0] : undefined;
      if (start === undefined) return undefined;
      const { line, col } = lines.linePos(start);
      return `line ${line}, column ${col}`;
    } catch {
      return undefined;
    }
  };
}
