import { describe, expect, it } from 'vitest';
import { ControllerError, afterChange } from '../../controller/errors.js';
import { failureOf, fleetExit } from '../../controller/fleet.js';
import { AgentClient, type LineCall } from '../../controller/transport/client.js';
import { chassisConfigSchema } from '../../schemas/chassis.js';
import { PROTOCOL_VERSION } from '../../schemas/rpc.js';

const config = chassisConfigSchema.parse({ systemId: 'cmp-1', ovnRemote: 'tcp:10.0.0.2:6642', encap: { ip: '10.0.0.1' } });
const helloOk = (id: number) => JSON.stringify({ id, result: { protocol: PROTOCOL_VERSION, agent: 'x', backend: 'y' } });
const facts = (id: number) => JSON.stringify({ id, result: { hostname: 'cmp-1', fqdn: 'cmp-1', addresses: ['10.0.0.1'] } });
const settle = () => new Promise((r) => setTimeout(r, 10));

/** An agent whose answers the test gives by hand, in the order it likes; what was sent is kept. */
function handAgent(): { send: LineCall; sent: string[]; answer: (id: number, line: string) => void } {
  const sent: string[] = [];
  const waiting = new Map<number, (line: string) => void>();
  return {
    sent,
    send: (req) => new Promise((resolve) => (sent.push(req.method), waiting.set(req.id, resolve))),
    answer: (id, line) => waiting.get(id)?.(line),
  };
}

describe('agent client', () => {
  it('sends a read behind the hello at once, but gives its answer, and sends a write, only once the hello proved the protocol', async () => {
    const agent = handAgent();
    const client = new AgentClient('cmp-1', agent.send, async () => undefined);
    let answered = false;
    const read = client.facts().then((f) => ((answered = true), f));
    const write = client.apply(config);
    await settle();
    expect(agent.sent).toEqual(['hello', 'facts']);
    agent.answer(2, facts(2));
    await settle();
    expect(answered).toBe(false);
    agent.answer(1, helloOk(1));
    await expect(read).resolves.toMatchObject({ hostname: 'cmp-1' });
    await settle();
    expect(agent.sent).toEqual(['hello', 'facts', 'apply']);
    agent.answer(3, JSON.stringify({ id: 3, result: { applied: false, attempts: 1, plan: { inSync: true, changes: [], bridges: [], ports: [], warnings: [], refusals: [] }, warnings: [] } }));
    await expect(write).resolves.toMatchObject({ applied: false });
  });

  it('fails every request with the mismatch when the agent refuses our protocol, and never sends it a write', async () => {
    const agent = handAgent();
    const client = new AgentClient('cmp-1', agent.send, async () => undefined);
    const read = client.facts();
    const write = client.apply(config);
    // Known by its code and data, not by reading the agent's English (which says nothing here).
    agent.answer(1, JSON.stringify({ id: 1, error: { code: 'PROTOCOL_UNSUPPORTED', message: 'nein', data: { protocol: 99 } } }));
    agent.answer(2, JSON.stringify({ id: 2, error: { code: 'PROTOCOL', message: 'send hello with the protocol version first' } }));
    for (const r of [read, write, client.hello()]) await expect(r).rejects.toMatchObject({ code: 'PROTOCOL_MISMATCH', message: expect.stringContaining('the agent speaks protocol 99') });
    await settle();
    expect(agent.sent).toEqual(['hello', 'facts']);
  });

  it('an unreadable answer to a write says the node may have been changed; to a read, only that the answer was wrong', async () => {
    const agent = handAgent();
    const client = new AgentClient('cmp-1', agent.send, async () => undefined);
    const read = client.diff(config);
    agent.answer(1, helloOk(1));
    agent.answer(2, JSON.stringify({ id: 2, result: { inSync: true, changes: [], bridges: [{ name: 'br-x', fancy: 1 }], ports: [], warnings: [], refusals: [] } }));
    await expect(read).rejects.toMatchObject({ code: 'PROTOCOL', changed: undefined });
    const write = client.apply(config);
    await settle();
    agent.answer(3, JSON.stringify({ id: 3, result: { applied: true, attempts: 1, plan: { inSync: false, changes: [], bridges: [{ name: 'br-x', fancy: 1 }], ports: [], warnings: [], refusals: [] } } }));
    await expect(write).rejects.toMatchObject({ code: 'OUTCOME_UNKNOWN', changed: 'maybe-changed', message: expect.stringContaining('the node may have been changed') });
  });
});

describe('fleet exit codes', () => {
  const ok = { host: 'a', ok: true as const, value: null, ms: 1 };
  const failed = (changed?: 'changed' | 'maybe-changed') => ({ host: 'b', ok: false as const, error: { code: 'X', message: 'x', ...(changed ? { changed } : {}) }, ms: 1 });

  it('1 only when every node failed and none was or may have been changed; 3 otherwise', () => {
    expect(fleetExit([ok], 2)).toBe(2);
    expect(fleetExit([failed(), failed()], 0)).toBe(1);
    expect(fleetExit([failed(), ok], 0)).toBe(3);
    expect(fleetExit([failed('maybe-changed'), failed()], 0)).toBe(3);
    expect(fleetExit([failed('changed')], 0)).toBe(3);
  });

  it('a failure knows what it left: an OUTCOME_UNKNOWN by its code, any other by what the error says', () => {
    expect(failureOf(new ControllerError('OUTCOME_UNKNOWN', 'x')).changed).toBe('maybe-changed');
    expect(failureOf(new ControllerError('NOT_VERIFIED', 'x', { changed: 'changed' })).changed).toBe('changed');
    expect(failureOf(new ControllerError('NOT_VERIFIED', 'x')).changed).toBeUndefined();
    expect(failureOf(new ControllerError('UNREACHABLE', 'x')).changed).toBeUndefined();
    expect(failureOf(Object.assign(new Error('x'), { code: 'OUTCOME_UNKNOWN' })).changed).toBe('maybe-changed');
  });

  it('what fails after a change is a failure on a changed node', async () => {
    await expect(afterChange(async () => {
      throw new ControllerError('HOOK_FAILED', 'the hook failed');
    })).rejects.toMatchObject({ code: 'HOOK_FAILED', changed: 'changed' });
  });
});
