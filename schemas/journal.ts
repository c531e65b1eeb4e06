import { z } from 'zod';
import { changeCountSchema } from './output.js';

/**
 * The rollout journal: JSON lines, appended and fsynced before and after each
 * step, so a controller killed at any moment can resume without redoing or
 * skipping a node.
 */
export const STEPS = ['precheck', 'backup', 'drain', 'before', 'apply', 'after', 'plug', 'verify', 'undrain'] as const;
export type Step = (typeof STEPS)[number];

const at = z.string();

export const journalRecordSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('start'), at, inventory: z.string(), digest: z.string(),
    batches: z.array(z.array(z.string())), options: z.record(z.string(), z.unknown()),
    /** Each host's identity (name, system-id, where it is reached): the journal's values belong to those nodes only. */
    identities: z.record(z.string(), z.string()).optional(),
  }),
  z.strictObject({ type: z.literal('resume'), at }),
  z.strictObject({ type: z.literal('batch'), at, index: z.number().int(), phase: z.enum(['begin', 'end']), failed: z.array(z.string()).optional() }),
  z.strictObject({
    type: z.literal('step'), at, host: z.string(), step: z.enum(STEPS), phase: z.enum(['begin', 'end']),
    ok: z.boolean().optional(), error: z.string().optional(), ms: z.number().optional(),
    /** apply end: every key the apply replaced, with its previous value (null: absent). */
    previous: z.record(z.string(), z.string().nullable()).optional(),
    /** what happened, for the report: changes applied, hooks run, the SB verdict. */
    detail: z.string().optional(),
    /** drain end: each gateway entry moved, "TABLE:UUID:GROUP" → "FROM>TO", for undrain and rollback to put back. */
    gateways: z.record(z.string(), z.string()).optional(),
    /** before/after end: each hook run, with what it printed (its last 4 KB). */
    hooks: z.array(z.strictObject({ hook: z.string(), ms: z.number(), output: z.string() })).optional(),
    /** apply and plug end: what the step changed, counted. */
    changes: changeCountSchema.optional(),
  }),
  z.strictObject({ type: z.literal('node'), at, host: z.string(), state: z.enum(['done', 'failed', 'rolled-back']), error: z.string().optional() }),
  z.strictObject({ type: z.literal('stop'), at, reason: z.string() }),
  z.strictObject({ type: z.literal('finish'), at, outcome: z.enum(['done', 'failed']) }),
]);

export type JournalRecord = z.output<typeof journalRecordSchema>;
