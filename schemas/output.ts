import { z } from 'zod';
import { chassisConfigSchema } from './chassis.js';
import { ERROR_CODES } from './errors.js';
import { helloResultSchema, planViewSchema, showResultSchema } from './rpc.js';

/**
 * What each command prints with `--json`: one object, versioned, the same
 * envelope for every command of both programs (`apiVersion`, `command`,
 * then the command's own fields; `error` when it failed), each described by
 * a JSON Schema generated from these (schemas/output/*.schema.json).
 */
export const OUTPUT_API_VERSION = 'ovn-chassis/v1';

/** One count of what a change does to a node, used by every summary, in text and JSON. */
export const changeCountSchema = z.strictObject({
  keys: z.number().int().nonnegative(),
  bridges: z.number().int().nonnegative(),
  ports: z.number().int().nonnegative(),
  vifs: z.number().int().nonnegative(),
});
export type ChangeCount = z.output<typeof changeCountSchema>;

export const NO_CHANGES: ChangeCount = { keys: 0, bridges: 0, ports: 0, vifs: 0 };

/** A plan's changes (and the VIFs moved), counted. */
export function countOf(plan: { changes: unknown[]; bridges: unknown[]; ports: unknown[] } | undefined, vifs = 0): ChangeCount {
  return { keys: plan?.changes.length ?? 0, bridges: plan?.bridges.length ?? 0, ports: plan?.ports.length ?? 0, vifs };
}

export function addCounts(counts: ChangeCount[]): ChangeCount {
  return counts.reduce((a, c) => ({ keys: a.keys + c.keys, bridges: a.bridges + c.bridges, ports: a.ports + c.ports, vifs: a.vifs + c.vifs }), NO_CHANGES);
}

export const isNoChange = (c: ChangeCount) => c.keys + c.bridges + c.ports + c.vifs === 0;

/** "3 keys, 1 bridge, 2 VIFs", or "no changes". */
export function formatCount(c: ChangeCount): string {
  const part = (n: number, one: string, many: string) => (n === 0 ? [] : [`${n} ${n === 1 ? one : many}`]);
  const parts = [...part(c.keys, 'key', 'keys'), ...part(c.bridges, 'bridge', 'bridges'), ...part(c.ports, 'port', 'ports'), ...part(c.vifs, 'VIF', 'VIFs')];
  return parts.length > 0 ? parts.join(', ') : 'no changes';
}

const codes = Object.keys(ERROR_CODES) as [keyof typeof ERROR_CODES, ...(keyof typeof ERROR_CODES)[]];

export const errorSchema = z.strictObject({
  code: z.enum(codes),
  message: z.string(),
  hint: z.string().optional(),
  /** The node was (or may have been) changed before the failure. */
  changed: z.enum(['changed', 'maybe-changed']).optional(),
});

const failedNode = z.strictObject({ host: z.string(), ok: z.literal(false), ms: z.number(), error: errorSchema });

const nodeHead = { host: z.string(), ok: z.literal(true), ms: z.number() };

/** Per node, in inventory order: its result, or why it failed. */
function nodes<T extends z.core.$ZodLooseShape>(value: T) {
  return z.array(z.union([z.strictObject({ ...nodeHead, ...value }), failedNode]));
}

const verdict = z.strictObject({
  host: z.string(),
  systemId: z.string(),
  state: z.enum(['verified', 'missing', 'mismatch', 'unproven']),
  problems: z.array(z.string()).optional(),
  why: z.string().optional(),
});

const pulledStatus = z.strictObject({
  state: z.enum(['unpublished', 'outdated', 'pending', 'refused', 'failed', 'applied']),
  published: z.number().int().optional(),
  applied: z.number().int().optional(),
  error: z.string().optional(),
  agent: z.string().optional(),
  seenS: z.number().optional(),
});

const counted = { changes: changeCountSchema, warnings: z.array(z.string()) };

const finding = z.strictObject({ level: z.enum(['error', 'warning']), check: z.string(), message: z.string(), hosts: z.array(z.string()) });

const version = z.strictObject({ program: z.string(), version: z.string(), protocol: z.number(), node: z.string(), testedWith: z.strictObject({ openvswitch: z.string(), ovn: z.string() }) });

const nodeReport = z.strictObject({
  host: z.string(),
  state: z.enum(['done', 'failed', 'pending', 'rolled-back']),
  changes: changeCountSchema,
  steps: z.array(z.strictObject({ step: z.string(), ok: z.boolean().optional(), ms: z.number().optional(), detail: z.string().optional(), error: z.string().optional() })),
});

const probe = z.strictObject({
  name: z.string(), upAfterMs: z.number().nullable(), sent: z.number(), received: z.number(), lost: z.number(), longestGapMs: z.number(), back: z.boolean(), problem: z.string().optional(),
});

const agentNode = { agent: z.string().optional(), protocol: z.number().optional(), backend: z.string().optional(), serving: z.boolean().optional(), uptimeS: z.number().optional(), install: z.string(), error: z.strictObject({ code: z.string(), message: z.string() }).optional() };

/** Each command's own fields, by program and command. */
const RESULTS = {
  'ovn-chassis version': version.shape,
  'ovn-chassis validate': { hosts: z.number(), findings: z.array(finding) },
  'ovn-chassis render': { nodes: z.array(z.strictObject({ host: z.string(), address: z.string(), groups: z.array(z.string()), transport: z.string(), agent: z.unknown(), config: chassisConfigSchema })) },
  'ovn-chassis diff': { nodes: nodes({ plan: planViewSchema, changes: changeCountSchema }), ...counted, plan: z.string().optional() },
  'ovn-chassis apply': { nodes: nodes({ applied: z.boolean(), plan: planViewSchema, changes: changeCountSchema, warnings: z.array(z.string()), previousSystemId: z.string().optional(), verdict: verdict.optional() }), ...counted },
  'ovn-chassis status': {
    // Pull mode reads each host's rows in the config database instead of its node.
    nodes: z.union([nodes({ plan: planViewSchema, changes: changeCountSchema, verdict }), nodes({ pull: pulledStatus, verdict })]),
    ...counted,
    staleChassis: z.array(z.string()),
  },
  'ovn-chassis rollout': {
    outcome: z.enum(['done', 'failed', 'stopped', 'planned', 'checked']),
    journal: z.string().optional(),
    batches: z.array(z.array(z.string())).optional(),
    nodes: z.array(z.union([nodeReport, z.strictObject({ host: z.string(), ok: z.boolean(), ms: z.number(), plan: planViewSchema.optional(), changes: changeCountSchema.optional(), preflight: z.string().optional(), error: errorSchema.optional() })])),
    probes: z.array(probe).optional(),
    ...counted,
    plan: z.string().optional(),
  },
  'ovn-chassis publish': { nodes: z.array(z.strictObject({ host: z.string(), generation: z.number().int(), changed: z.boolean(), previous: z.number().int().optional() })), published: z.number().int() },
  'ovn-chassis rollback': { nodes: nodes({ restored: z.record(z.string(), z.string().nullable()), unplugged: z.number(), hooks: z.number(), source: z.enum(['journal', 'agent snapshot']) }) },
  'ovn-chassis import': { nodes: nodes({ fields: z.record(z.string(), z.unknown()), warnings: z.array(z.string()) }), warnings: z.array(z.string()), output: z.string(), imported: z.number() },
  'ovn-chassis agent': {
    action: z.enum(['install', 'upgrade', 'status', 'remove']),
    controller: z.string(),
    protocol: z.number(),
    // status: each agent's state; install and upgrade: what was installed; remove: whether there was one.
    nodes: z.array(z.union([
      z.strictObject({ ...nodeHead, ...agentNode }),
      z.strictObject({ ...nodeHead, kind: z.literal('container'), image: z.string(), loaded: z.boolean(), replaced: z.string().optional() }),
      z.strictObject({ ...nodeHead, kind: z.literal('systemd'), executable: z.string(), unit: z.string(), version: z.string(), replaced: z.string().optional() }),
      z.strictObject({ ...nodeHead, removed: z.boolean(), kind: z.enum(['container', 'systemd']), kept: z.string().optional() }),
      failedNode,
    ])),
    skew: z.array(z.string()),
  },
  'ovn-chassis hostkeys': { knownHosts: z.array(z.string()), nodes: nodes({ address: z.string(), state: z.enum(['pinned', 'added']), fingerprint: z.string(), file: z.string().optional() }), added: z.number(), changed: z.number() },
  'ovn-chassis-agent version': version.shape,
  'ovn-chassis-agent show': showResultSchema.extend({ facts: z.record(z.string(), z.unknown()).optional() }).shape,
  'ovn-chassis-agent diff': { plan: planViewSchema, changes: changeCountSchema },
  'ovn-chassis-agent apply': { applied: z.boolean(), attempts: z.number(), plan: planViewSchema, changes: changeCountSchema, snapshot: z.string().optional(), warnings: z.array(z.string()) },
  'ovn-chassis-agent rollback': { restored: z.record(z.string(), z.string().nullable()), snapshot: z.string(), passedOver: z.array(z.string()).optional(), warnings: z.array(z.string()) },
  'ovn-chassis-agent health': helloResultSchema.shape,
} as const satisfies Record<string, z.core.$ZodLooseShape>;

export type OutputCommand = keyof typeof RESULTS;

/** The `--json` output of `command`: its result, or the error it ended with. */
export function outputSchema(command: OutputCommand): z.ZodType {
  const head = { apiVersion: z.literal(OUTPUT_API_VERSION), command: z.literal(command.split(' ').slice(1).join(' ')) };
  const result = z.strictObject({ ...head, ...RESULTS[command], error: errorSchema.optional() });
  // A command that failed as a whole says only why (status also shows its nodes: its result carries the error).
  return z.union([result, z.strictObject({ ...head, error: errorSchema })]);
}

export const OUTPUT_COMMANDS = Object.keys(RESULTS) as OutputCommand[];

/** The envelope around a command's result. */
export function envelope(command: string, body: object): object {
  return { apiVersion: OUTPUT_API_VERSION, command, ...body };
}
