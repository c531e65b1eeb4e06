import { z } from 'zod';

/**
 * A saved plan (`diff -o PLAN`): what each node would change, with the
 * values it held, so that `apply --plan PLAN` applies exactly that and
 * refuses, untouched, a node that changed since.
 */
export const SAVED_PLAN_KIND = 'ovn-chassis-plan';
export const SAVED_PLAN_VERSION = 1;

export const plannedChangeSchema = z.strictObject({
  key: z.string(),
  action: z.enum(['add', 'change', 'remove']),
  from: z.string().optional(),
  to: z.string().optional(),
});
export type PlannedChange = z.output<typeof plannedChangeSchema>;

/** What one node must still hold for its plan to apply: each key's value then (null: absent), and the changes planned. */
export const plannedSchema = z.strictObject({
  expect: z.record(z.string(), z.string().nullable()),
  changes: z.array(plannedChangeSchema),
});
export type Planned = z.output<typeof plannedSchema>;

export const savedPlanSchema = z.strictObject({
  kind: z.literal(SAVED_PLAN_KIND),
  version: z.literal(SAVED_PLAN_VERSION),
  createdAt: z.iso.datetime(),
  /** The inventory the plan was made from, as given, and what identifies its hosts, configs and where they are. */
  inventory: z.string(),
  digest: z.string(),
  nodes: z.array(z.strictObject({ host: z.string(), ...plannedSchema.shape })).min(1),
  /** A rollout's plan (rollout --plan-only): its batches, in order, over the same hosts. */
  batches: z.array(z.array(z.string()).min(1)).optional(),
});
export type SavedPlan = z.output<typeof savedPlanSchema>;

/** Pure: a node's plan as saved, from what its diff showed. */
export function plannedOf(changes: PlannedChange[]): Planned {
  return { expect: Object.fromEntries(changes.map((c) => [c.key, c.from ?? null])), changes };
}
