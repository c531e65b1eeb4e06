import { isIP } from 'node:net';
import { z } from 'zod';

/**
 * Pull mode's database (docs/pull.md): the desired config of each host, with a
 * generation, and each host's status as its agent reports it. It is served by
 * a Raft cluster of its own, never inside OVN's databases. The .ovsschema file
 * operators give `ovsdb-tool create-cluster` is generated from this
 * (schemas/ovn-chassis-config.ovsschema, `npm run schemas`).
 */
export const CONFIG_DB = 'OVN_Chassis_Config';

export const VERDICTS = ['applied', 'refused', 'failed'] as const;
export type PullVerdict = (typeof VERDICTS)[number];

const string = 'string';
const integer = 'integer';

export const CONFIG_DB_SCHEMA = {
  name: CONFIG_DB,
  version: '1.0.0',
  tables: {
    Desired: {
      columns: {
        host: { type: string },
        generation: { type: { key: { type: 'integer', minInteger: 1 } } },
        /** The host's chassis config, as JSON (the agent validates it as it would a --config file). */
        config: { type: string },
        published_by: { type: string },
        /** Milliseconds since the epoch. */
        published_at: { type: integer },
      },
      indexes: [['host']],
      isRoot: true,
    },
    Status: {
      columns: {
        host: { type: string },
        /** The desired generation this row answers. */
        generation: { type: integer },
        /** The generation whose config is in force on the node (0: none yet). */
        applied: { type: integer },
        verdict: { type: { key: { type: 'string', enum: ['set', [...VERDICTS]] } } },
        error: { type: string },
        agent: { type: string },
        /** What the node found for an encap.ip given as an interface or a network. */
        encap_ips: { type: { key: 'string', min: 0, max: 'unlimited' } },
        /** When the agent last wrote the row, in milliseconds since the epoch. */
        seen: { type: integer },
      },
      indexes: [['host']],
      isRoot: true,
    },
  },
} as const;

/** The schema file beside this module, generated from CONFIG_DB_SCHEMA. */
export const CONFIG_DB_FILE = 'ovn-chassis-config.ovsschema';

export function renderConfigDbSchema(): string {
  return `${JSON.stringify(CONFIG_DB_SCHEMA, null, 2)}\n`;
}

/** The longest error text a status row keeps (a long one is cut, not refused). */
export const MAX_STATUS_ERROR = 2000;

export const hostNameSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'is not an inventory host name');

/** A Desired row as the agent reads it: its config is still text, judged on its own. */
export const desiredRowSchema = z.object({
  host: hostNameSchema,
  generation: z.number().int().min(1),
  config: z.string(),
});
export type DesiredRow = z.output<typeof desiredRowSchema>;

/** A Status row as the controller reads it: an agent's word, taken for no more than it may say. */
export const statusRowSchema = z.object({
  host: hostNameSchema,
  generation: z.number().int().min(0),
  applied: z.number().int().min(0),
  verdict: z.enum(VERDICTS),
  error: z.string().max(MAX_STATUS_ERROR),
  agent: z.string().max(100),
  encap_ips: z.array(z.string().refine((s) => isIP(s) !== 0, 'is not an IP address')).max(16),
  seen: z.number().int().min(0),
});
export type StatusRow = z.output<typeof statusRowSchema>;
