import { errorCodeOf } from '../../schemas/errors.js';
import type { NodeVif } from '../../schemas/vifs.js';
import type { Planned } from '../../schemas/saved-plan.js';
import type { ChassisConfig } from '../../schemas/chassis.js';
import type { Hook } from '../../schemas/hooks.js';
import { METHODS, PROTOCOL_VERSION, type HelloResult, type ParamsIn, type Result, type RpcMethod, parseAnswer, requestLine } from '../../schemas/rpc.js';
import { printable } from '../../common/text.js';
import { VERSION } from '../../schemas/version.js';
import { ControllerError } from '../errors.js';

/** Sends one request line and resolves with the response line for it. */
export type LineCall = (request: { id: number; method: RpcMethod; params?: unknown }) => Promise<string>;

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
    return new AgentClient(host, async (req) => JSON.stringify(await session.handle(requestLine(req.id, req.method, req.params as never))), close);
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
      info = await this.exchange('hello', { protocol: PROTOCOL_VERSION, client: 'ovn-chassis' });
    } catch (err) {
      // An agent that refuses our protocol says, by code, which one it speaks.
      if (err instanceof AgentRefusal && err.code === 'PROTOCOL_UNSUPPORTED') throw mismatch(`protocol ${err.data?.protocol ?? 'unknown'}`);
      throw err;
    }
    if (info.protocol !== PROTOCOL_VERSION) throw mismatch(`protocol ${info.protocol} (agent ${printable(info.agent)})`);
    return info;
  }

  facts() {
    return this.call('facts');
  }

  show() {
    return this.call('show');
  }

  diff(config: ChassisConfig, allowSystemIdChange = false) {
    return this.call('diff', { config, allowSystemIdChange });
  }

  apply(config: ChassisConfig, allowSystemIdChange = false, planned?: Planned) {
    return this.call('apply', { config, allowSystemIdChange, ...(planned ? { planned } : {}) });
  }

  rollback() {
    return this.call('rollback');
  }

  hook(hook: Hook) {
    return this.call('hook', { hook });
  }

  preflight(params: PreflightParams) {
    return this.call('preflight', params);
  }

  backup() {
    return this.call('backup');
  }

  vifs(bridge: string, vifs: NodeVif[]) {
    return this.call('vifs', { bridge, vifs });
  }

  plug(bridge: string, vifs: NodeVif[]) {
    return this.call('plug', { bridge, vifs });
  }

  unplug(bridge: string, ports?: string[]) {
    return this.call('unplug', { bridge, ...(ports ? { ports } : {}) });
  }

  /** Puts keys back; resolves with what the agent wrote (ovn-cms-options merged token by token). */
  async restore(keys: Record<string, string | null>): Promise<Record<string, string | null>> {
    return (await this.call('restore', { keys })).restored;
  }

  close(): Promise<void> {
    return this.closer();
  }

  private async call<M extends RpcMethod>(method: M, params?: ParamsIn<M>): Promise<Result<M>> {
    if (METHODS[method].writes) {
      await this.greeting;
      return this.exchange(method, params);
    }
    const answer = this.exchange(method, params);
    answer.catch(() => undefined);
    await this.greeting;
    return answer;
  }

  private async exchange<M extends RpcMethod>(method: M, params?: ParamsIn<M>): Promise<Result<M>> {
    const id = this.nextId++;
    const writes = METHODS[method].writes;
    let line: string;
    try {
      line = await this.send({ id, method, ...(params === undefined ? {} : { params }) });
    } catch (err) {
      // A write whose answer never came may have happened: say so, never "failed" as if nothing changed.
      if (writes && err instanceof ControllerError && err.code === 'CONNECTION_LOST') {
        throw new ControllerError('OUTCOME_UNKNOWN', `${err.message}; the connection was lost while the node ran ${method}: it may or may not have been changed (run diff to see)`, { cause: err });
      }
      throw err;
    }
    const answer = parseAnswer(line, id, method);
    if (answer.ok) return answer.result;
    // The node's words reach the operator's terminal: shown, never obeyed (no control sequences), and bounded.
    if ('error' in answer) throw new AgentRefusal(printable(answer.error.code).slice(0, 40), `${this.host}: ${printable(answer.error.message).slice(0, 4000)}`, answer.error.data);
    // An answer we cannot read to a write says nothing of whether the write happened.
    if (writes) throw new ControllerError('OUTCOME_UNKNOWN', `${this.host}: the agent's answer to ${method}: ${answer.problem}; the node may have been changed (run diff to see)`);
    throw new ControllerError('PROTOCOL', `${this.host}: the agent's answer to ${method}: ${answer.problem}`);
  }
}

/** What the controller asks of a node before it moves, and what the node says. */
export type PreflightParams = ParamsIn<'preflight'>;
export type PreflightReport = Result<'preflight'>;

/** What the agent says of a node's VIFs. */
export type VifStates = Result<'vifs'>;

/** An error the agent itself answered with: its code, and what the protocol lets it add. */
export class AgentRefusal extends ControllerError {
  readonly data: { protocol: number } | undefined;

  constructor(code: string, message: string, data: { protocol: number } | undefined) {
    // The node's word for it is taken only where it is one of ours.
    super(errorCodeOf({ code }), message);
    this.data = data;
  }
}
