import { createHash } from 'node:crypto';

/**
 * Chassis MACs for DVR on VLAN networks, one per physnet, made from a seed
 * and the host's inventory name (as kolla-ansible does), so every run makes
 * the same ones. Locally administered unicast (first octet 0e), like EDPM's;
 * seeded by the inventory, not the machine id, which cloned images share.
 */
export function seededChassisMacs(seed: string, host: string, physnets: string[]): Record<string, string> {
  return Object.fromEntries(
    physnets.map((p) => {
      const h = createHash('sha256').update(`${seed}\0${host}\0${p}`).digest();
      return [p, ['0e', ...[...h.subarray(0, 5)].map((b) => b.toString(16).padStart(2, '0'))].join(':')];
    }),
  );
}
