import { describe, expect, it } from 'vitest';
import { failed, formatStatus } from '../../controller/report.js';

const inSync = { inSync: true, changes: [], bridges: [], ports: [], warnings: [], adopted: [], refusals: [] };

describe('what a person reads of a fleet', () => {
  it('a node\'s failure names its host once on its line', () => {
    const r = { host: 'cmp-3', error: { code: 'REFUSED', message: 'cmp-3: no MidoNet host id on the node' } };
    expect(`${r.host}: ${failed(r)}`).toBe('cmp-3: FAILED (REFUSED): no MidoNet host id on the node');
    // A message that names the host otherwise (with its address) keeps it.
    expect(failed({ host: 'cmp-1', error: { code: 'UNREACHABLE', message: 'cmp-1 (10.0.0.1:22): refused' } })).toBe('FAILED (UNREACHABLE): cmp-1 (10.0.0.1:22): refused');
  });

  it('status keeps its table narrow: why a node was not reached is said under it, one line per node', () => {
    const text = formatStatus([
      { host: 'cmp-1', ok: true, ms: 1, value: { plan: inSync, verdict: { host: 'cmp-1', systemId: 'a', state: 'verified' } } },
      { host: 'cmp-2', ok: false, ms: 1, error: { code: 'UNREACHABLE', message: 'cmp-2: cannot reach the node\'s OVSDB: connect ENOENT /run/gone.sock' } },
    ], []);
    expect(text.split('\n')).toEqual([
      'host   node OVSDB                 Southbound',
      '-----  -------------------------  ----------',
      'cmp-1  in sync                    registered',
      'cmp-2  unreachable (UNREACHABLE)  -',
      '',
      'Not reached:',
      '  cmp-2: cannot reach the node\'s OVSDB: connect ENOENT /run/gone.sock',
    ]);
  });
});
