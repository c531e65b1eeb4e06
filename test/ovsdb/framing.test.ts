import { describe, expect, it } from 'vitest';
import { JsonFramer } from '../../ovsdb/framing.js';
import { OvsdbError } from '../../ovsdb/errors.js';

const messages = [
  { id: 1, result: ['Open_vSwitch', '_Server'], error: null },
  { method: 'update2', params: ['m1', { T: { u: { insert: { s: 'brace } ] { [ "quoted" \\ back' } } } }], id: null },
  { id: 2, result: { text: 'ünïcødé → 日本語 🚀 \u0000 \n end' }, error: null },
  { id: 3, result: [[], {}, [[]], { a: { b: {} } }], error: null },
];
const stream = Buffer.from(messages.map((m) => JSON.stringify(m)).join(''));

function feed(framer: JsonFramer, chunks: Buffer[]): unknown[] {
  return chunks.flatMap((c) => framer.push(c));
}

describe('JsonFramer', () => {
  it('splits back-to-back values with no delimiter', () => {
    expect(new JsonFramer(1 << 20).push(stream)).toEqual(messages);
  });

  it('gives the same values however the stream is cut in two, including inside UTF-8 characters and escapes', () => {
    for (let cut = 1; cut < stream.length; cut++) {
      const out = feed(new JsonFramer(1 << 20), [stream.subarray(0, cut), stream.subarray(cut)]);
      expect(out, `cut at ${cut}`).toEqual(messages);
    }
  });

  it('gives the same values fed one byte at a time', () => {
    const framer = new JsonFramer(1 << 20);
    const out: unknown[] = [];
    for (let i = 0; i < stream.length; i++) out.push(...framer.push(stream.subarray(i, i + 1)));
    expect(out).toEqual(messages);
    expect(framer.pendingBytes).toBe(0);
  });

  it('accepts whitespace and newlines between values (Go peers append \\n)', () => {
    const text = `  ${JSON.stringify(messages[0])}\n\r\t${JSON.stringify(messages[1])}\n`;
    expect(new JsonFramer(1 << 20).push(Buffer.from(text))).toEqual(messages.slice(0, 2));
  });

  it('rejects a stream that does not start a JSON object', () => {
    const err = catchErr(() => new JsonFramer(1024).push(Buffer.from('HTTP/1.1 200 OK\r\n')));
    expect(err.code).toBe('PROTOCOL_ERROR');
    expect(err.message).toMatch(/0x48/);
  });

  it('rejects malformed JSON inside a balanced value', () => {
    const err = catchErr(() => new JsonFramer(1024).push(Buffer.from('{"id": 1, result}')));
    expect(err.code).toBe('PROTOCOL_ERROR');
  });

  it('stops an unterminated value at the size limit, holding no more than the limit', () => {
    const framer = new JsonFramer(10_000);
    framer.push(Buffer.from('{"id":1,"result":"'));
    const chunk = Buffer.alloc(1000, 'a');
    let err: OvsdbError | undefined;
    for (let i = 0; i < 100 && !err; i++) {
      try {
        framer.push(chunk);
        expect(framer.pendingBytes).toBeLessThanOrEqual(10_000);
      } catch (e) {
        err = e as OvsdbError;
      }
    }
    expect(err?.code).toBe('MESSAGE_TOO_LARGE');
    expect(framer.pendingBytes).toBe(0);
  });

  it('counts a value complete within one chunk against the limit too', () => {
    const big = Buffer.from(JSON.stringify({ id: 1, result: 'x'.repeat(5000), error: null }));
    expect(catchErr(() => new JsonFramer(1000).push(big)).code).toBe('MESSAGE_TOO_LARGE');
  });
});

function catchErr(fn: () => unknown): OvsdbError {
  try {
    fn();
  } catch (e) {
    return e as OvsdbError;
  }
  throw new Error('expected an error');
}
