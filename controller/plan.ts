import { ControllerError } from './errors.js';
import type { Host } from './inventory.js';
import { limitHosts } from './limit.js';

/** "N" nodes or "P%" of the hosts in the rollout (at least one). */
export function batchSize(spec: string, total: number): number {
  const m = /^(\d+)(%?)$/.exec(spec.trim());
  if (!m) throw new ControllerError('INVALID_CONFIG', `--batch ${spec}: expected a number of nodes (e.g. 5) or a percentage (e.g. 10%)`);
  const n = Number(m[1]);
  if (m[2]) {
    if (n < 1 || n > 100) throw new ControllerError('INVALID_CONFIG', `--batch ${spec}: a percentage must be 1% to 100%`);
    return Math.max(1, Math.ceil((total * n) / 100));
  }
  if (n < 1) throw new ControllerError('INVALID_CONFIG', `--batch ${spec}: a batch needs at least one node`);
  return n;
}

/** A host's value for --batch-by: "group" (its first group), a vars key, or a chassis field. */
export function batchKey(h: Host, field: string): string {
  if (field === 'group') return h.groups[0] ?? '';
  if (field in h.vars) return String(h.vars[field]);
  const v = (h.chassis as Record<string, unknown>)[field];
  if (v !== undefined) return Array.isArray(v) ? v.join(':') : String(v);
  return '';
}

export interface PlanOptions {
  batch: string;
  canary: number;
  batchBy?: string;
  /** Phases in order (rollout.order): patterns as --limit takes them. */
  order?: string[];
}

/**
 * Batches, in the order they run. Phases come first (gateways on their own,
 * as rollout.order says); within a phase, hosts sharing a --batch-by value
 * stay together and batches never mix values (VMs on migrated nodes cannot
 * reach VMs on nodes not yet migrated), a value with more hosts than a batch
 * taking several batches of its own. The canary batch is the first hosts.
 */
export function planRollout(hosts: Host[], opts: PlanOptions): Host[][] {
  if (!Number.isInteger(opts.canary) || opts.canary < 0) throw new ControllerError('INVALID_CONFIG', `--canary ${opts.canary}: expected 0 or more nodes`);
  const size = batchSize(opts.batch, hosts.length);
  if (opts.batchBy) {
    const missing = hosts.filter((h) => batchKey(h, opts.batchBy as string) === '');
    if (missing.length > 0) {
      throw new ControllerError('INVALID_CONFIG', `--batch-by ${opts.batchBy}: no value for ${missing.map((h) => h.name).join(', ')} (give it in vars, or name a group or chassis field)`);
    }
  }
  const phases: Host[][] = [];
  const taken = new Set<string>();
  for (const pattern of opts.order ?? []) {
    const phase = limitHosts(hosts, pattern).filter((h) => !taken.has(h.name));
    phase.forEach((h) => taken.add(h.name));
    if (phase.length > 0) phases.push(phase);
  }
  const rest = hosts.filter((h) => !taken.has(h.name));
  if (rest.length > 0) phases.push(rest);

  const batches: Host[][] = [];
  let canaryLeft = Math.min(opts.canary, hosts.length);
  for (const phase of phases) {
    const groups = new Map<string, Host[]>();
    for (const h of phase) {
      const k = opts.batchBy ? batchKey(h, opts.batchBy) : '';
      groups.set(k, [...(groups.get(k) ?? []), h]);
    }
    for (const members of groups.values()) {
      let queue = members;
      if (canaryLeft > 0) {
        batches.push(queue.slice(0, canaryLeft));
        canaryLeft -= Math.min(canaryLeft, queue.length);
        queue = queue.slice(batches[batches.length - 1]?.length ?? 0);
      }
      for (let i = 0; i < queue.length; i += size) batches.push(queue.slice(i, i + size));
    }
  }
  return batches.filter((b) => b.length > 0);
}
