import { renameSync, writeFileSync } from 'node:fs';
import { loadConfigFile } from '../schemas/load.js';
import { type Planned, SAVED_PLAN_KIND, SAVED_PLAN_VERSION, type SavedPlan, plannedOf, savedPlanSchema } from '../schemas/saved-plan.js';
import type { PlanView } from '../schemas/rpc.js';
import { ControllerError } from './errors.js';
import type { NodeResult } from './fleet.js';
import type { Fleet, Host } from './inventory.js';
import { fleetDigest } from './journal.js';

/** diff -o PLAN: every selected node's changes with the values it held; only when every node answered. */
export function savePlan(path: string, fleet: Fleet, hosts: Host[], results: NodeResult<{ plan: PlanView }>[], batches?: string[][], now = new Date()): SavedPlan {
  const failed = results.filter((r) => !r.ok).map((r) => r.host);
  if (failed.length > 0) throw new ControllerError('REFUSED', `no plan saved to ${path}: ${failed.join(', ')} did not answer (a plan covers every node it names; narrow it with --limit)`);
  const plan: SavedPlan = {
    kind: SAVED_PLAN_KIND, version: SAVED_PLAN_VERSION, createdAt: now.toISOString(), inventory: fleet.source, digest: fleetDigest(hosts),
    nodes: results.flatMap((r) => (r.ok ? [{ host: r.host, ...plannedOf(r.value.plan.changes) }] : [])),
    ...(batches ? { batches } : {}),
  };
  // Whole or not at all: a plan cut short by a crash must not be applied as if it were complete.
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(plan, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  renameSync(tmp, path);
  return plan;
}

/**
 * apply --plan PLAN: the plan's hosts and each one's recorded values and
 * changes. Refused when the inventory is not the one it was made from (a
 * host, config or where a node is differs) or it is older than `maxAgeH`.
 */
export function loadPlan(path: string, fleet: Fleet, maxAgeH: number, now = Date.now()): { plan: SavedPlan; hosts: Host[]; planned: Map<string, Planned> } {
  const plan = loadConfigFile(savedPlanSchema, path);
  const inBatches = (plan.batches ?? []).flat();
  if (plan.batches && (inBatches.length !== plan.nodes.length || !plan.nodes.every((n) => inBatches.includes(n.host)))) {
    throw new ControllerError('REFUSED', `plan ${path}: its batches and its nodes name different hosts; nothing was changed`);
  }
  const byName = new Map(fleet.hosts.map((h) => [h.name, h]));
  const missing = plan.nodes.filter((n) => !byName.has(n.host)).map((n) => n.host);
  if (missing.length > 0) throw new ControllerError('REFUSED', `plan ${path} names hosts ${fleet.source} does not have: ${missing.join(', ')}; nothing was changed`);
  const hosts = plan.nodes.map((n) => byName.get(n.host) as Host);
  if (fleetDigest(hosts) !== plan.digest) {
    throw new ControllerError('REFUSED', `plan ${path} was made from another inventory (${plan.inventory}), or ${fleet.source} changed since (a host's config, hooks or where it is): nothing was changed; make a new plan`);
  }
  const ageH = (now - Date.parse(plan.createdAt)) / 3_600_000;
  if (ageH > maxAgeH) throw new ControllerError('REFUSED', `plan ${path} was made ${ageH.toFixed(1)} hours ago, more than --plan-max-age ${maxAgeH}: nothing was changed; make a new plan`);
  if (ageH < -0.1) throw new ControllerError('REFUSED', `plan ${path} says it was made in the future (${plan.createdAt}): check this machine's clock; nothing was changed`);
  return { plan, hosts, planned: new Map(plan.nodes.map((n) => [n.host, { expect: n.expect, changes: n.changes }])) };
}
