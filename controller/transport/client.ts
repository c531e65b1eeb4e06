import type { z } from 'zod';
import type { ChassisConfig } from '../../schemas/chassis.js';
import { type Hook, hookResultSchema } from '../../schemas/hooks.js';
import {
  PROTOCOL_VERSION, applyResultSchema, helloResultSchema, restoreResultSchema, type HelloResult, factsSchema, planViewSchema, rollbackResultSchema, rpcResponseSchema, showResultSchema,
  type ApplyResultView, type Facts, type PlanView, type ShowResult,
} from '../../schemas/rpc.js';
import { nestsDeeperThan, printable } from '../../common/text.js';
import { VERSION } from '../../schemas/version.js';
import { ControllerError } from '../errors.js';

/** Requests that change a node. */
const WRITES = new Set(['apply', 'rollback', 'restore', 'hook']);

/** Answers nest a few levels (a plan's changes); deeper is refused before anything recursive reads it. */
const MAX_ANSWER_DEPTH = 32;

/** Sends one request line and resolves with the response line for it. */
export type LineCall = (request: { id: number; method: string; params?: unknown }) => Promise<string>;

/**
 * A node's agent as the controller sees it, whatever carries the RPC. Every
 * answer is checked against the protocol schemas: an agent is a peer, and a
 * garbled reply must not pass for a result.
 */
export class AgentClient {
  readonly host: string;
  private readonly send: LineCall;
  private readonly closer: () => Promise<void>;
  private nextId = 1;

  /** What the agent said of itself (its version, protocol and backend), or why it would not do. */
  private readonly greeting: Promise<HelloResult>;

  /**
   * A client whose hello is on its way. A request that only reads is sent
   * behind it at once (one round trip less per node), but its answer is given
   * only once the agent has proved it speaks our protocol; one that changes
   * the node is not sent before that. Whoever opens it closes it.
   */
  constructor(host: string, send: LineCall, close: () => Promise<void>) {
    this.host = host;
    this.send = send;
    this.closer = close;
    this.greeting = this.greet();
    // Said to whoever asks next (every request waits for it), never unheard.
    this.greeting.catch(() => undefined);
  }

  /** The agent's logic in this process (local and direct transports): the same protocol, the same checks on every answer. */
  static inProcess(host: string, session: { handle(line: string): Promise<unknown> }, close: () => Promise<void>): AgentClient {
    return new AgentClient(host, async (req) => JSON.stringify(await session.handle(JSON.stringify(req))), close);
  }

  /** What the agent said of itself: its version, protocol and backend. */
  hello(): Promise<HelloResult> {
    return this.greeting;
  }

  private async greet(): Promise<HelloResult> {
    const mismatch = (theirs: string) =>
      new ControllerError('PROTOCOL_MISMATCH', `${this.host}: the agent speaks ${theirs}; this controller (ovn-chassis ${VERSION}) speaks protocol ${PROTOCOL_VERSION}: upgrade the agent or the controller so they match`);
    let info: HelloResult;
    try {
      info = await this.exchange('hello', { protocol: PROTOCOL_VERSION, client: 'ovn-chassis' }, helloResultSchema);
    } catch (err) {
      // An agent that refuses our protocol says which one it speaks.
      const theirs = err instanceof ControllerError && err.code === 'PROTOCOL' ? /this agent speaks (\d+)/.exec(err.message)?.[1] : undefined;
      if (theirs) throw mismatch(`protocol ${theirs}`);
      throw err;
    }
    if (info.protocol !== PROTOCOL_VERSION) throw mismatch(`protocol ${info.protocol} (agent ${printable(info.agent)})`);
    return info;
  }

  facts(): Promise<Facts> {
    return this.call('facts', undefined, factsSchema);
  }

  show(): Promise<ShowResult> {
    return this.call('show', undefined, showResultSchema);
  }

  diff(config: ChassisConfig, allowSystemIdChange = false): Promise<PlanView> {
    return this.call('diff', { config, allowSystemIdChange }, planViewSchema);
  }

  apply(config: ChassisConfig, allowSystemIdChange = false): Promise<ApplyResultView> {
    return this.call('apply', { config, allowSystemIdChange }, applyResultSchema);
  }

  rollback(): Promise<z.output<typeof rollbackResultSchema>> {
    return this.call('rollback', undefined, rollbackResultSchema);
  }

  hook(hook: Hook): Promise<z.output<typeof hookResultSchema>> {
    return this.call('hook', { hook }, hookResultSchema);
  }

  /** Puts keys back; resolves with what the agent wrote (ovn-cms-options merged token by token). */
  async restore(keys: Record<string, string | null>): Promise<Record<string, string | null>> {
    return (await this.call('restore', { keys }, restoreResultSchema)).restored;
  }

  close(): Promise<void> {
    return this.closer();
  }

  private async call<S extends z.ZodType | undefined>(method: string, params: unknown, schema: S): Promise<S extends z.ZodType ? z.output<S> : unknown> {
    if (WRITES.has(method)) {
      await this.greeting;
      return this.exchange(method, params, schema);
    }
    const answer = this.exchange(method, params, schema);
    answer.catch(() => undefined);
    await this.greeting;
    return answer;
  }

  private async exchange<S extends z.ZodType | undefined>(method: string, params: unknown, schema: S): Promise<S extends z.ZodType ? z.output<S> : unknown> {
    const id = this.nextId++;
    let line: string;
    try {
      line = await this.send({ id, method, ...(params === undefined ? {} : { params }) });
    } catch (err) {
      // A write whose answer never came may have happened: say so, never "failed" as if nothing changed.
      if (WRITES.has(method) && err instanceof ControllerError && err.code === 'CONNECTION_LOST') {
        throw new ControllerError('OUTCOME_UNKNOWN', `${err.message}; the connection was lost while the node ran ${method}: it may or may not have been changed (run diff to see)`, { cause: err });
      }
      throw err;
    }
    if (nestsDeeperThan(line, MAX_ANSWER_DEPTH)) throw new ControllerError('PROTOCOL', `${this.host}: the agent's answer to ${method} nests deeper than ${MAX_ANSWER_DEPTH} levels`);
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      throw new ControllerError('PROTOCOL', `${this.host}: the agent answered ${method} with something that is not JSON`);
    }
    const res = rpcResponseSchema.safeParse(json);
    if (!res.success || res.data.id !== id) throw new ControllerError('PROTOCOL', `${this.host}: the agent's answer to ${method} is not a valid response`);
    // The node's words reach the operator's terminal: shown, never obeyed (no control sequences), and bounded.
    if ('error' in res.data) throw new ControllerError(printable(res.data.error.code).slice(0, 40), `${this.host}: ${printable(res.data.error.message).slice(0, 4000)}`);
    if (!schema) return res.data.result as never;
    const parsed = schema.safeParse(res.data.result);
    if (!parsed.success) throw new ControllerError('PROTOCOL', `${this.host}: the agent's ${method} result does not match the protocol`);
    return parsed.data as never;
  }
}
