import { describe, expect, it } from 'vitest';
import { checkInventory } from '../../controller/inventory.js';
import { batchSize, planRollout } from '../../controller/plan.js';

function fleet(zones: Record<string, number>, gateways = 0) {
  const hosts: Record<string, unknown> = {};
  let i = 10;
  for (let g = 1; g <= gateways; g++) hosts[`gw-${g}`] = { address: `10.0.0.${i++}`, groups: ['gateway'], vars: { zone: 'gw' } };
  for (const [zone, n] of Object.entries(zones)) {
    for (let k = 1; k <= n; k++) hosts[`${zone}-cmp-${k}`] = { address: `10.0.0.${i++}`, groups: ['compute'], vars: { zone } };
  }
  return checkInventory({
    ovn: { southbound: 'tcp:10.0.0.1:6642' },
    groups: { gateway: { gateway: true, bridgeMappings: { physnet1: 'br-ex' } }, compute: {} },
    hosts,
  }, 'inv').hosts;
}

const names = (b: { name: string }[][]) => b.map((x) => x.map((h) => h.name));

describe('rollout plan', () => {
  it('a canary batch, then batches of N', () => {
    expect(names(planRollout(fleet({ a: 8 }), { batch: '3', canary: 1 }))).toEqual([
      ['a-cmp-1'], ['a-cmp-2', 'a-cmp-3', 'a-cmp-4'], ['a-cmp-5', 'a-cmp-6', 'a-cmp-7'], ['a-cmp-8'],
    ]);
  });

  it('batches of P% of the hosts, rounded up, at least one', () => {
    expect(batchSize('25%', 8)).toBe(2);
    expect(batchSize('10%', 8)).toBe(1);
    expect(batchSize('100%', 8)).toBe(8);
  });

  it('--batch-by: no batch mixes zones unless a zone is larger than the batch', () => {
    const batches = planRollout(fleet({ az1: 2, az2: 5, az3: 1 }), { batch: '3', canary: 0, batchBy: 'zone' });
    expect(names(batches)).toEqual([
      ['az1-cmp-1', 'az1-cmp-2'],
      ['az2-cmp-1', 'az2-cmp-2', 'az2-cmp-3'], ['az2-cmp-4', 'az2-cmp-5'],
      ['az3-cmp-1'],
    ]);
    for (const b of batches) expect(new Set(b.map((h) => h.vars.zone)).size).toBe(1);
  });

  it('rollout.order: gateways move on their own, in the order the inventory says', () => {
    const b = names(planRollout(fleet({ a: 4 }, 2), { batch: '2', canary: 1, order: ['compute', 'gateway'] }));
    expect(b).toEqual([['a-cmp-1'], ['a-cmp-2', 'a-cmp-3'], ['a-cmp-4'], ['gw-1', 'gw-2']]);
  });

  it.each([
    ['0', /a batch needs at least one node/],
    ['0%', /a percentage must be 1% to 100%/],
    ['150%', /a percentage must be 1% to 100%/],
    ['three', /expected a number of nodes/],
  ])('refuses --batch %s', (spec, message) => {
    expect(() => planRollout(fleet({ a: 2 }), { batch: spec, canary: 0 })).toThrow(message);
  });

  it('refuses a --batch-by field some hosts have no value for', () => {
    expect(() => planRollout(fleet({ a: 2 }), { batch: '1', canary: 0, batchBy: 'rack' })).toThrow(/--batch-by rack: no value for a-cmp-1, a-cmp-2/);
  });
});
