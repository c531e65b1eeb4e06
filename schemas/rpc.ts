import { z } from 'zod';
import { nestsDeeperThan, printable } from '../common/text.js';
import { formatIssue } from './load.js';
import { ipAddress } from './values.js';
import { bridgeSpec, chassisConfigSchema } from './chassis.js';
import { hookResultSchema, hookSchema } from './hooks.js';
import { nodeVifSchema } from './vifs.js';
import { plannedSchema } from './saved-plan.js';
import { bridgeName } from './values.js';

/**
 * The agent's RPC: JSON lines, one request or response per line, over the
 * agent's stdio (`ovn-chassis-agent rpc`, what the controller runs over SSH)
 * or its `serve` socket. The first request must be a hello with the protocol
 * version, so a controller and an agent of incompatible versions stop at once.
 */
export const PROTOCOL_VERSION = 1;

const id = z.number().int().nonnegative();

/**
 * Text a node says for a person to read (its hostname, a warning, its
 * version): shown, never obeyed — control and direction characters escaped —
 * and cut to `max` characters, whatever the node sent.
 */
export const nodeText = (max: number) => z.string().transform((s) => printable(s.length > max ? `${s.slice(0, max)}…` : s));
/** A list of such texts, at most `count` of them. */
const nodeTexts = (count: number, max: number) => z.array(nodeText(max)).transform((a) => a.slice(0, count));

/** Lines longer than these end the conversation: requests carry one config, answers one node's view. */
export const MAX_REQUEST_LINE_BYTES = 4 * 1024 * 1024;
export const MAX_ANSWER_LINE_BYTES = 16 * 1024 * 1024;
/** Messages nest a few levels (params.config.bridges[0]); deeper is refused before anything recursive reads them. */
export const MAX_MESSAGE_DEPTH = 32;

/**
 * What an agent says of itself in answer to hello. Read leniently (fields
 * this controller does not know are dropped): a newer agent must still be
 * told apart by its protocol number, and refused by it, not by its shape.
 */
export const helloResultSchema = z.object({
  protocol: z.number().int(),
  agent: nodeText(64),
  backend: nodeText(512),
  /** A serving agent (`serve`: keeps its config applied) or one run for this conversation (`rpc`, in-process). */
  serving: z.boolean().optional(),
  /** How long the agent's process has run, in seconds. */
  uptimeS: z.number().nonnegative().optional(),
});
export type HelloResult = z.output<typeof helloResultSchema>;
const changeParams = z.strictObject({
  config: chassisConfigSchema,
  allowSystemIdChange: z.boolean().optional(),
  /** apply only: a saved plan's values and changes for this node; the write happens only while they still hold. */
  planned: plannedSchema.optional(),
});
const none = z.strictObject({}).optional();

/**
 * An error's code, for a caller to switch on. `PROTOCOL_UNSUPPORTED` comes
 * with `data.protocol`, the version the agent speaks.
 */
export const rpcErrorSchema = z.strictObject({
  code: z.string(),
  message: z.string(),
  data: z.strictObject({ protocol: z.number().int() }).optional(),
});
export type RpcError = z.output<typeof rpcErrorSchema>;

export const rpcResponseSchema = z.union([
  z.strictObject({ id: id.nullable(), result: z.unknown() }),
  z.strictObject({ id: id.nullable(), error: rpcErrorSchema }),
]);

export type RpcResponse = z.output<typeof rpcResponseSchema>;

export const factsSchema = z.strictObject({
  /** A DNS name is at most 253 characters. */
  hostname: nodeText(253),
  fqdn: nodeText(253),
  addresses: nodeTexts(1024, 64),
  ovsVersion: nodeText(64).optional(),
  ovnVersion: nodeText(64).optional(),
  midonetHostId: nodeText(64).optional(),
});

export type Facts = z.output<typeof factsSchema>;

const keyChange = z.strictObject({
  key: z.string(),
  action: z.enum(['add', 'change', 'remove']),
  from: z.string().optional(),
  to: z.string().optional(),
});

export const planViewSchema = z.strictObject({
  inSync: z.boolean(),
  changes: z.array(keyChange),
  bridges: z.array(bridgeSpec),
  ports: z.array(z.strictObject({ bridge: z.string(), port: z.string() })),
  warnings: nodeTexts(100, 1000),
  /** Already holding the desired value; only their ownership is recorded. */
  adopted: z.array(z.string()).default([]),
  refusals: nodeTexts(100, 1000),
  /** The encap IPs the node found for a config that names an interface or a network instead. */
  resolvedEncapIp: z.array(ipAddress).optional(),
});

export type PlanView = z.output<typeof planViewSchema>;

export const showResultSchema = z.strictObject({
  backend: nodeText(512),
  externalIds: z.record(z.string(), z.string()),
  /** The node's SSL row (Open_vSwitch.ssl), when it has one. */
  ssl: z.strictObject({ privateKey: z.string(), certificate: z.string(), caCert: z.string(), bootstrapCaCert: z.boolean() }).optional(),
  /** Open_vSwitch.other_config, and the targets of its Manager rows. */
  otherConfig: z.record(z.string(), z.string()).default({}),
  managers: z.array(z.string()).default([]),
  managedKeys: z.array(z.string()),
  managedCmsTokens: z.array(z.string()),
  bridges: z.record(z.string(), z.array(z.string())),
});

export type ShowResult = z.output<typeof showResultSchema>;

export const applyResultSchema = z.strictObject({
  applied: z.boolean(),
  attempts: z.number(),
  plan: planViewSchema,
  snapshot: nodeText(200).optional(),
  /** The previous value of every key the apply replaced (null: it did not exist). */
  previous: z.record(z.string(), z.string().nullable()).optional(),
  /** What went wrong around a write that happened: the node was changed all the same. */
  warnings: nodeTexts(100, 1000).default([]),
});

export type ApplyResultView = z.output<typeof applyResultSchema>;

export const restoreResultSchema = z.strictObject({
  restored: z.record(z.string(), z.string().nullable()),
});

export const rollbackResultSchema = z.strictObject({
  restored: z.record(z.string(), z.string().nullable()),
  snapshot: nodeText(200),
  passedOver: nodeTexts(1000, 200).optional(),
  warnings: nodeTexts(100, 1000).default([]),
});

const vifParams = z.strictObject({ bridge: bridgeName, vifs: z.array(nodeVifSchema).max(4096) });
const portId = z.string().max(64);

export const vifStatesSchema = z.strictObject({
  vifs: z.array(z.strictObject({
    port: portId, tap: nodeText(64), plugged: z.boolean(), ours: z.boolean(), installed: z.boolean(), problem: nodeText(500).optional(),
  })).max(4096),
});

export const plugResultSchema = z.strictObject({
  plugged: z.array(z.strictObject({ port: portId, tap: nodeText(64), from: nodeText(64) })).max(4096),
  already: z.array(portId).max(4096),
});

export const unplugResultSchema = z.strictObject({
  unplugged: z.array(z.strictObject({ port: portId, tap: nodeText(64), to: nodeText(64) })).max(4096),
  warnings: nodeTexts(100, 1000).default([]),
});

/**
 * The agent protocol, in one place: every method with its parameters, its
 * result and whether it may change the node. The agent's dispatcher, the
 * controller's client and the health check all read it, so a field added to
 * a schema reaches the wire with no second edit.
 */
export const METHODS = {
  hello: { params: z.strictObject({ protocol: z.number().int(), client: z.string().max(64) }), result: helloResultSchema, writes: false },
  facts: { params: none, result: factsSchema, writes: false },
  show: { params: none, result: showResultSchema, writes: false },
  diff: { params: changeParams, result: planViewSchema, writes: false },
  apply: { params: changeParams, result: applyResultSchema, writes: true },
  rollback: { params: none, result: rollbackResultSchema, writes: true },
  hook: { params: z.strictObject({ hook: hookSchema }), result: hookResultSchema, writes: true },
  /** Saves the node's whole Open vSwitch database (ovsdb-client backup) in its state dir; changes nothing on the node. */
  backup: { params: none, result: z.strictObject({ path: nodeText(500), bytes: z.number().int().nonnegative() }), writes: false },
  /** What only the node can say before it is migrated: MTUs under its encap IPs, tunnel-sized reach to its peers, nova's host name. */
  preflight: {
    params: z.strictObject({ encapIps: z.array(ipAddress).max(16), peers: z.array(ipAddress).max(256), payload: z.number().int().min(0).max(65000), novaConf: z.string().startsWith('/').optional() }),
    result: z.strictObject({
      mtus: z.array(z.strictObject({ ip: nodeText(64), iface: nodeText(64).optional(), mtu: z.number().int().optional() })).max(16),
      peers: z.array(z.strictObject({ ip: nodeText(64), ok: z.boolean(), why: nodeText(300).optional() })).max(256),
      novaHost: nodeText(253).nullable(),
    }),
    writes: false,
  },
  /** Where each listed VIF stands on the node: plugged, ours, installed by ovn-controller. */
  vifs: { params: vifParams, result: vifStatesSchema, writes: false },
  /** Moves the listed VIFs' taps onto the bridge (all or none). */
  plug: { params: vifParams, result: plugResultSchema, writes: true },
  /** Removes what this tool plugged (or only the listed ports) and puts the taps back. */
  unplug: { params: z.strictObject({ bridge: bridgeName, ports: z.array(portId).max(4096).optional() }), result: unplugResultSchema, writes: true },
  /** Puts keys back to given values (null: remove), compare-and-set; what a rollback from the journal uses. */
  restore: { params: z.strictObject({ keys: z.record(z.string(), z.string().nullable()) }), result: restoreResultSchema, writes: true },
} as const satisfies Record<string, { params: z.ZodType; result: z.ZodType; writes: boolean }>;

export type RpcMethod = keyof typeof METHODS;
export const RPC_METHODS = Object.keys(METHODS) as RpcMethod[];
/** What a caller passes, and what a handler receives, for a method. */
export type ParamsIn<M extends RpcMethod> = z.input<(typeof METHODS)[M]['params']>;
export type Params<M extends RpcMethod> = z.output<(typeof METHODS)[M]['params']>;
/** What a handler returns (defaults may be left out), and what a caller receives. */
export type ResultIn<M extends RpcMethod> = z.input<(typeof METHODS)[M]['result']>;
export type Result<M extends RpcMethod> = z.output<(typeof METHODS)[M]['result']>;

export type RpcRequest = { [M in RpcMethod]: { id: number; method: M; params: Params<M> } }[RpcMethod];

const envelope = z.strictObject({ id, method: z.enum(RPC_METHODS as [RpcMethod, ...RpcMethod[]]), params: z.unknown().optional() });

/** Why a request line was refused: a bad envelope is a protocol error, a bad config is the config's. */
export type RequestVerdict =
  | { ok: true; request: RpcRequest }
  | { ok: false; id: number | null; error: RpcError };

/** A request as the agent receives it: the envelope, then the method's own parameters. */
export function parseRequest(json: unknown): RequestVerdict {
  const rawId = (json as { id?: unknown } | null)?.id;
  const replyId = typeof rawId === 'number' && Number.isInteger(rawId) && rawId >= 0 ? rawId : null;
  const env = envelope.safeParse(json, { reportInput: true });
  if (!env.success) return { ok: false, id: replyId, error: { code: 'PROTOCOL', message: `invalid request:\n  ${env.error.issues.map((i) => formatIssue(i)).join('\n  ')}` } };
  const params = METHODS[env.data.method].params.safeParse(env.data.params, { reportInput: true });
  if (!params.success) {
    const configIssue = params.error.issues.some((i) => i.path[0] === 'config');
    const issues = params.error.issues.map((i) => formatIssue({ ...i, path: i.path.slice(i.path[0] === 'config' ? 1 : 0) }));
    return { ok: false, id: env.data.id, error: { code: configIssue ? 'INVALID_CONFIG' : 'PROTOCOL', message: `invalid request:\n  ${issues.join('\n  ')}` } };
  }
  return { ok: true, request: { id: env.data.id, method: env.data.method, params: params.data } as RpcRequest };
}

/** One request line, as every client writes it. */
export function requestLine<M extends RpcMethod>(id: number, method: M, params?: ParamsIn<M>): string {
  return `${JSON.stringify({ id, method, ...(params === undefined ? {} : { params }) })}\n`;
}

/**
 * An answer line checked against the protocol: the response envelope, the id
 * it must carry, and the method's result schema. What is wrong is said in
 * `problem`, for the caller to raise as its own typed error.
 */
export type AnswerVerdict<M extends RpcMethod> =
  | { ok: true; result: Result<M> }
  | { ok: false; error: RpcError }
  | { ok: false; problem: string };

export function parseAnswer<M extends RpcMethod>(line: string, id: number, method: M): AnswerVerdict<M> {
  if (nestsDeeperThan(line, MAX_MESSAGE_DEPTH)) return { ok: false, problem: `it nests deeper than ${MAX_MESSAGE_DEPTH} levels` };
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch {
    return { ok: false, problem: 'it is not JSON' };
  }
  const res = rpcResponseSchema.safeParse(json);
  if (!res.success || res.data.id !== id) return { ok: false, problem: 'it is not a valid response' };
  if ('error' in res.data) return { ok: false, error: res.data.error };
  const parsed = METHODS[method].result.safeParse(res.data.result);
  if (!parsed.success) return { ok: false, problem: 'its result does not match the protocol' };
  return { ok: true, result: parsed.data as Result<M> };
}
