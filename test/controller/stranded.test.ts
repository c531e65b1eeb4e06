import { describe, expect, it } from 'vitest';
import { checkInventory } from '../../controller/inventory.js';
import { strandedChassis } from '../../controller/stranded.js';

const fleet = checkInventory(
  {
    ovn: { southbound: 'tcp:192.0.2.1:6642' },
    hosts: { 'cmp-1': { address: '192.0.2.11', systemId: 'new-1' }, 'cmp-2': { address: '192.0.2.12', systemId: 'id-2' } },
  },
  'inv',
);
const host = fleet.hosts[0]!;
const claimedBy = new Map(fleet.hosts.map((h) => [h.chassis.systemId, h.name]));
const allowed = { allowSystemIdChange: true, claimedBy, sbRow: { name: 'old-1', hostname: 'cmp-1' } };

describe('which chassis a node\'s report may get removed from the Southbound', () => {
  it('its own former chassis, when the operator allowed the change', () => {
    expect(strandedChassis(host, 'old-1', allowed)).toEqual({ remove: 'old-1' });
    expect(strandedChassis(host, 'old-1', { ...allowed, sbRow: undefined })).toEqual({ remove: 'old-1' });
  });

  it('nothing when no id was replaced, or the "old" id is the new one', () => {
    expect(strandedChassis(host, undefined, allowed)).toBeUndefined();
    expect(strandedChassis(host, 'new-1', allowed)).toBeUndefined();
  });

  it('never without --allow-system-id-change', () => {
    expect(strandedChassis(host, 'old-1', { ...allowed, allowSystemIdChange: false })).toMatchObject({ keep: 'old-1', why: expect.stringMatching(/no --allow-system-id-change/) });
  });

  it('never another inventory host\'s chassis, whatever the node says', () => {
    expect(strandedChassis(host, 'id-2', { ...allowed, sbRow: { name: 'id-2', hostname: 'cmp-1' } })).toMatchObject({ keep: 'id-2', why: expect.stringMatching(/system-id of inventory host cmp-2/) });
  });

  it('never a Southbound chassis registered by another host', () => {
    expect(strandedChassis(host, 'stray', { ...allowed, sbRow: { name: 'stray', hostname: 'gw-9' } })).toMatchObject({ keep: 'stray', why: expect.stringMatching(/belongs to host gw-9, not cmp-1/) });
  });
});
