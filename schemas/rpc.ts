import { z } from 'zod';
import { ipAddress } from './values.js';
import { chassisConfigSchema } from './chassis.js';
import { hookSchema } from './hooks.js';

/**
 * The agent's RPC: JSON lines, one request or response per line, over the
 * agent's stdio (`ovn-chassis-agent rpc`, what the controller runs over SSH)
 * or its `serve` socket. The first request must be a hello with the protocol
 * version, so a controller and an agent of incompatible versions stop at once.
 */
export const PROTOCOL_VERSION = 1;

const id = z.number().int().nonnegative();

/** What an agent says of itself in answer to hello: the controller refuses a protocol it does not speak. */
export const helloResultSchema = z.strictObject({ protocol: z.number().int(), agent: z.string().max(64), backend: z.string().max(4096) });
export type HelloResult = z.output<typeof helloResultSchema>;
const changeParams = z.strictObject({ config: chassisConfigSchema, allowSystemIdChange: z.boolean().optional() });
const none = z.strictObject({}).optional();

export const rpcRequestSchema = z.discriminatedUnion('method', [
  z.strictObject({ id, method: z.literal('hello'), params: z.strictObject({ protocol: z.number().int(), client: z.string() }) }),
  z.strictObject({ id, method: z.literal('facts'), params: none }),
  z.strictObject({ id, method: z.literal('show'), params: none }),
  z.strictObject({ id, method: z.literal('diff'), params: changeParams }),
  z.strictObject({ id, method: z.literal('apply'), params: changeParams }),
  z.strictObject({ id, method: z.literal('rollback'), params: none }),
  z.strictObject({ id, method: z.literal('hook'), params: z.strictObject({ hook: hookSchema }) }),
  /** Puts keys back to given values (null: remove), compare-and-set; what a rollback from the journal uses. */
  z.strictObject({ id, method: z.literal('restore'), params: z.strictObject({ keys: z.record(z.string(), z.string().nullable()) }) }),
]);

export type RpcRequest = z.output<typeof rpcRequestSchema>;
export type RpcMethod = RpcRequest['method'];

export const rpcErrorSchema = z.strictObject({ code: z.string(), message: z.string() });

export const rpcResponseSchema = z.union([
  z.strictObject({ id: id.nullable(), result: z.unknown() }),
  z.strictObject({ id: id.nullable(), error: rpcErrorSchema }),
]);

export type RpcResponse = z.output<typeof rpcResponseSchema>;

export const factsSchema = z.strictObject({
  hostname: z.string(),
  fqdn: z.string(),
  addresses: z.array(z.string()),
  ovsVersion: z.string().optional(),
  ovnVersion: z.string().optional(),
  midonetHostId: z.string().optional(),
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
  bridges: z.array(z.strictObject({ name: z.string(), uplink: z.string().optional() })),
  ports: z.array(z.strictObject({ bridge: z.string(), port: z.string() })),
  warnings: z.array(z.string()),
  /** Already holding the desired value; only their ownership is recorded. */
  adopted: z.array(z.string()).default([]),
  refusals: z.array(z.string()),
  /** The encap IPs the node found for a config that names an interface or a network instead. */
  resolvedEncapIp: z.array(ipAddress).optional(),
});

export type PlanView = z.output<typeof planViewSchema>;

export const showResultSchema = z.strictObject({
  backend: z.string(),
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
  snapshot: z.string().optional(),
  /** The previous value of every key the apply replaced (null: it did not exist). */
  previous: z.record(z.string(), z.string().nullable()).optional(),
  /** What went wrong around a write that happened: the node was changed all the same. */
  warnings: z.array(z.string()).default([]),
});

export type ApplyResultView = z.output<typeof applyResultSchema>;

export const restoreResultSchema = z.strictObject({
  restored: z.record(z.string(), z.string().nullable()),
});

export const rollbackResultSchema = z.strictObject({
  restored: z.record(z.string(), z.string().nullable()),
  snapshot: z.string(),
  passedOver: z.array(z.string()).optional(),
  warnings: z.array(z.string()).default([]),
});
