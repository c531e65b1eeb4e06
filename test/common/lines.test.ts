import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { LineSplitter } from '../../common/lines.js';
import { RpcSession, serveLines } from '../../agent/rpc.js';
import type { Backend } from '../../agent/state.js';

describe('RPC lines', () => {
  it('splits lines cut anywhere across chunks', () => {
    const s = new LineSplitter(100);
    const text = '{"id":1}\n{"id":2}\n\n{"id":3}\n';
    const lines: string[] = [];
    for (let i = 0; i < text.length; i += 3) lines.push(...s.push(text.slice(i, i + 3)).lines);
    expect(lines).toEqual(['{"id":1}', '{"id":2}', '', '{"id":3}']);
  });

  it('keeps the lines a chunk completes, and flags the unended one that outgrows the limit', () => {
    const s = new LineSplitter(10);
    expect(s.push('{"id":1}\n0123456789')).toEqual({ lines: ['{"id":1}'], tooLong: false });
    expect(s.push('X')).toEqual({ lines: [], tooLong: true });
    expect(s.push('{"id":2}\n')).toEqual({ lines: ['{"id":2}'], tooLong: false });
  });

  it('the agent answers an over-long request line with a protocol error and ends the conversation', async () => {
    const input = new PassThrough();
    const output = new PassThrough();
    // No request gets as far as the backend: the line is refused while it is read.
    const session = new RpcSession({ backend: {} as Backend, stateDir: '/nonexistent' });
    const served = serveLines(input, output, session);
    input.write('x'.repeat(5 * 1024 * 1024));
    await served;
    const reply = JSON.parse(output.read().toString()) as { id: null; error: { code: string; message: string } };
    expect(reply).toEqual({ id: null, error: { code: 'PROTOCOL', message: `request line over ${4 * 1024 * 1024} bytes` } });
  });
});
