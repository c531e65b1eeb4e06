import { z } from 'zod';
import { DEFAULT_DOCKER_SOCKET } from './backend.js';

/**
 * Per-node steps around a change, run by the node's agent in order, each with
 * a timeout: stop/start/restart a container through the Docker API, wait for
 * one to be healthy, or run a command given as an argument vector (no shell).
 */
const timeoutS = z.number().positive().max(3600).default(60);
const container = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'is not a container name');
const dockerSocket = z.string().min(1).default(DEFAULT_DOCKER_SOCKET);

export const hookSchema = z.discriminatedUnion('action', [
  z.strictObject({ action: z.literal('stop'), container, dockerSocket, timeoutS }),
  z.strictObject({ action: z.literal('start'), container, dockerSocket, timeoutS }),
  z.strictObject({ action: z.literal('restart'), container, dockerSocket, timeoutS }),
  z.strictObject({ action: z.literal('wait-healthy'), container, dockerSocket, timeoutS }),
  z.strictObject({ action: z.literal('command'), argv: z.array(z.string()).min(1, 'needs the program and its arguments'), timeoutS }),
]);

export type Hook = z.output<typeof hookSchema>;

/** When hooks run: before a node's change, after it, and when it is rolled back. */
export const HOOK_PHASES = ['before', 'after', 'rollback'] as const;

/** A hook in a few words, for plans, reports and errors: a command as the exact vector it runs. */
export function describeHook(h: Hook): string {
  return h.action === 'command' ? `command ${JSON.stringify(h.argv)}` : `${h.action} ${h.container}`;
}

export const hooksSchema = z.strictObject({
  before: z.array(hookSchema).optional(),
  after: z.array(hookSchema).optional(),
  rollback: z.array(hookSchema).optional(),
});

export type Hooks = z.output<typeof hooksSchema>;

/** What a hook printed, as its node says: the last 64 KiB of it. */
export const hookResultSchema = z.strictObject({ ms: z.number(), output: z.string().transform((o) => o.slice(-65536)) });
