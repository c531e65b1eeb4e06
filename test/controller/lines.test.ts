import { describe, expect, it } from 'vitest';
import { AgentClient } from '../../controller/transport/client.js';
import { LineDemux } from '../../controller/transport/lines.js';
import { PROTOCOL_VERSION } from '../../schemas/rpc.js';

describe('agent answer lines', () => {
  it('matches answers to requests by id, whatever their order and however the stream is cut', async () => {
    const lines = new LineDemux('cmp-1');
    const sent: string[] = [];
    const call = lines.caller((l) => sent.push(l));
    const a = call({ id: 1, method: 'show' });
    const b = call({ id: 2, method: 'facts' });
    const stream = `${JSON.stringify({ id: 2, result: 'two' })}\n${JSON.stringify({ id: 1, result: 'one' })}\n`;
    for (let i = 0; i < stream.length; i += 7) lines.feed(Buffer.from(stream.slice(i, i + 7)));
    expect(JSON.parse(await a)).toEqual({ id: 1, result: 'one' });
    expect(JSON.parse(await b)).toEqual({ id: 2, result: 'two' });
    expect(sent.map((l) => JSON.parse(l).id)).toEqual([1, 2]);
  });

  it('fails waiting and later requests with the reason, naming the node, once the stream is lost', async () => {
    const lines = new LineDemux('cmp-1 (127.0.0.1:22)');
    const call = lines.caller(() => undefined);
    const waiting = call({ id: 1, method: 'apply' });
    lines.lose('the SSH connection dropped');
    await expect(waiting).rejects.toMatchObject({ code: 'CONNECTION_LOST', message: 'cmp-1 (127.0.0.1:22): the SSH connection dropped' });
    await expect(call({ id: 2, method: 'show' })).rejects.toMatchObject({ code: 'CONNECTION_LOST' });
  });

  it('drops the connection on an answer line that never ends, instead of holding it all', async () => {
    const lines = new LineDemux('cmp-1');
    const waiting = lines.caller(() => undefined)({ id: 1, method: 'show' });
    const chunk = Buffer.alloc(1024 * 1024, 'a');
    for (let i = 0; i < 17; i++) lines.feed(chunk);
    await expect(waiting).rejects.toThrow(/cmp-1: the agent sent a line over \d+ bytes/);
  });

  it('matches an answer whose id is not first; one whose leading id lies is refused by the client, not believed', async () => {
    const lines = new LineDemux('cmp-1');
    // A node that answers hello well, then show with its id last, then facts with two ids (JSON keeps the last).
    const answers: Record<string, (id: number) => string> = {
      hello: (id) => JSON.stringify({ id, result: { protocol: PROTOCOL_VERSION, agent: 'x', backend: 'y' } }),
      show: (id) => `{"result":{"externalIds":{}},"id":${id}}`,
      facts: (id) => `{"id":${id},"id":${id + 100},"result":{}}`,
    };
    const write = (line: string) => {
      const req = JSON.parse(line) as { id: number; method: string };
      queueMicrotask(() => lines.feed(Buffer.from(`${answers[req.method]?.(req.id)}\n`)));
    };
    const client = new AgentClient('cmp-1', lines.caller(write), async () => undefined);
    await expect(client.show()).rejects.toMatchObject({ code: 'PROTOCOL', message: expect.stringMatching(/answer to show: its result does not match the protocol/) });
    await expect(client.facts()).rejects.toMatchObject({ code: 'PROTOCOL', message: expect.stringMatching(/answer to facts: it is not a valid response/) });
  });
});
