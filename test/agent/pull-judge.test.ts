import { describe, expect, it } from 'vitest';
import { judgeDesired } from '../../agent/pull.js';

/** What a pulling agent takes from the rows its config database sends, and what it refuses. */
const config = { systemId: 'cmp-1-id', ovnRemote: 'tcp:10.0.0.1:6642', encap: { type: 'geneve', ip: '10.0.0.11' } };
const row = (over: Record<string, unknown> = {}) => ({ _uuid: '00000000-0000-4000-8000-000000000001', host: 'cmp-1', generation: 3, config: JSON.stringify(config), ...over });

describe('judgeDesired', () => {
  it('takes its own row, validated as a --config file would be', () => {
    const j = judgeDesired([row()], 'cmp-1', 2);
    expect(j).toMatchObject({ kind: 'take', generation: 3, config: { systemId: 'cmp-1-id', encap: { ip: '10.0.0.11' } } });
  });

  it('waits when there is no row for it yet', () => {
    expect(judgeDesired([], 'cmp-1', 0)).toEqual({ kind: 'none' });
  });

  it('refuses a row for another host, even beside its own (a server that ignored the condition)', () => {
    for (const rows of [[row({ host: 'cmp-2' })], [row(), row({ host: 'cmp-2', generation: 9 })]]) {
      const j = judgeDesired(rows, 'cmp-1', 0);
      expect(j.kind).toBe('refuse');
      expect(j.kind === 'refuse' && j.why).toMatch(/row for host "cmp-2"; this agent is cmp-1/);
    }
  });

  it('refuses a config that fails validation, naming the field and the value', () => {
    const j = judgeDesired([row({ config: JSON.stringify({ ...config, encap: { type: 'geneve', ip: '10.0.0.300' } }) })], 'cmp-1', 0);
    expect(j).toMatchObject({ kind: 'refuse', generation: 3 });
    expect(j.kind === 'refuse' && j.why).toMatch(/encap\.ip: "10\.0\.0\.300"/);
  });

  it('refuses text that is not JSON, and a malformed row', () => {
    expect(judgeDesired([row({ config: '{"systemId":' })], 'cmp-1', 0)).toMatchObject({ kind: 'refuse', why: expect.stringMatching(/not JSON/) });
    expect(judgeDesired([row({ generation: 0 })], 'cmp-1', 0)).toMatchObject({ kind: 'refuse', why: expect.stringMatching(/malformed: generation/) });
  });

  it('refuses a generation older than the one in force: stale data is never applied', () => {
    const j = judgeDesired([row({ generation: 3 })], 'cmp-1', 4);
    expect(j).toMatchObject({ kind: 'refuse', generation: 3, why: expect.stringMatching(/older than generation 4/) });
    expect(judgeDesired([row({ generation: 4 })], 'cmp-1', 4).kind).toBe('take');
  });
});
