import { describe, expect, it } from 'vitest';
import { configText, planPublish, pullStateOf, pulledStatus, readStatusRow } from '../../controller/config-db.js';

/** The controller's decisions in pull mode: what a publish writes, and what a status row is taken to say. */
const status = (over: Record<string, unknown> = {}) => ({ host: 'cmp-1', generation: 3, applied: 3, verdict: 'applied', error: '', agent: '0.1.0', encap_ips: [], seen: 1000, ...over });

describe('planPublish', () => {
  it('keeps an unchanged config at its generation, bumps a changed one, starts a new host at 1', () => {
    const desired = new Map([['a', { generation: 4, config: 'A' }], ['b', { generation: 2, config: 'B' }]]);
    const steps = planPublish([{ host: 'a', config: 'A' }, { host: 'b', config: 'B2' }, { host: 'c', config: 'C' }], desired, new Map());
    expect(steps.map((s) => [s.host, s.changed, s.generation, s.previous])).toEqual([['a', false, 4, 4], ['b', true, 3, 2], ['c', true, 1, undefined]]);
  });

  it('goes past a generation an agent reports (a database rebuilt empty), so the agent does not refuse it as stale', () => {
    const [s] = planPublish([{ host: 'a', config: 'A' }], new Map(), new Map([['a', { generation: 7, applied: 6 }]]));
    expect(s).toMatchObject({ changed: true, generation: 8 });
  });
});

describe('configText', () => {
  it('is the same text for the same config whatever the order of its keys', () => {
    const a = configText({ systemId: 'x', encap: { type: 'geneve', ip: '10.0.0.1' }, ovnRemote: 'tcp:1.2.3.4:6642' } as never);
    const b = configText({ ovnRemote: 'tcp:1.2.3.4:6642', encap: { ip: '10.0.0.1', type: 'geneve' }, systemId: 'x' } as never);
    expect(a).toBe(b);
  });
});

describe('a status row, as the controller takes it', () => {
  it('is taken only when it says no more than a status may', () => {
    expect(readStatusRow(status()).ok).toBe(true);
    expect(readStatusRow(status({ verdict: 'verified' }))).toMatchObject({ ok: false, why: expect.stringMatching(/verdict/) });
    expect(readStatusRow(status({ encap_ips: ['not-an-ip'] }))).toMatchObject({ ok: false, why: expect.stringMatching(/encap_ips/) });
  });

  it('pullStateOf: applied once the generation is in force; a refusal of it is final; anything else is pending', () => {
    expect(pullStateOf(readStatusRow(status()), 3).state).toBe('applied');
    expect(pullStateOf(readStatusRow(status({ generation: 4, applied: 3, verdict: 'refused', error: 'x' })), 4).state).toBe('refused');
    expect(pullStateOf(readStatusRow(status({ generation: 4, applied: 3, verdict: 'failed' })), 4).state).toBe('failed');
    expect(pullStateOf(readStatusRow(status()), 4)).toMatchObject({ state: 'pending', why: expect.stringMatching(/generation 3 applied/) });
    expect(pullStateOf(undefined, 1)).toMatchObject({ state: 'pending', why: expect.stringMatching(/no status row/) });
  });

  it('pulledStatus: unpublished, outdated (the inventory moved on), pending, applied', () => {
    const row = { generation: 3, config: 'A' };
    expect(pulledStatus('A', undefined, undefined, 0).state).toBe('unpublished');
    expect(pulledStatus('B', row, readStatusRow(status()), 0)).toMatchObject({ state: 'outdated', published: 3 });
    expect(pulledStatus('A', { ...row, generation: 4 }, readStatusRow(status()), 0)).toMatchObject({ state: 'pending', published: 4, applied: 3 });
    expect(pulledStatus('A', row, readStatusRow(status()), 6000)).toMatchObject({ state: 'applied', applied: 3, agent: '0.1.0', seenS: 5 });
  });
});
