import { render } from '../../agent/render.js';
import type { ChassisConfig } from '../../schemas/chassis.js';

/**
 * What a peer tool (an Ansible role, a script) writes for a chassis config
 * when the bench compares it with ours: the same external_ids keys and cms
 * tokens ovn-chassis renders, so both sides do the same writes.
 */
export function peerKeys(c: ChassisConfig): Record<string, string> {
  const d = render(c);
  return { ...d.keys, ...(d.cmsTokens.length > 0 ? { 'ovn-cms-options': d.cmsTokens.join(',') } : {}) };
}

/** The one `ovs-vsctl set` line such a tool runs for it, as an argument vector (values quoted for ovs-vsctl). */
export function vsctlSetArgs(c: ChassisConfig): string[] {
  return ['--no-wait', 'set', 'Open_vSwitch', '.', ...Object.entries(peerKeys(c)).map(([k, v]) => `external_ids:${k}="${v}"`)];
}
