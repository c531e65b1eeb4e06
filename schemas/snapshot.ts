import { z } from 'zod';

/**
 * What the agent saves before any write: the previous value of every
 * external_ids key it is about to touch (null: the key did not exist), so a
 * rollback restores them exactly.
 */
export const snapshotSchema = z.strictObject({
  version: z.literal(1),
  takenAt: z.string(),
  backend: z.string(),
  /** `repair`: the serving agent undoing drift. A rollback passes over those: undoing a repair brings the drift back. */
  cause: z.enum(['apply', 'repair']).default('apply'),
  systemId: z.string().optional(),
  keys: z.record(z.string(), z.string().nullable()),
});

export type Snapshot = z.output<typeof snapshotSchema>;
