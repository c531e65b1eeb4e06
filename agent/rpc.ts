import type { Readable, Writable } from 'node:stream';
import { nestsDeeperThan } from '../common/text.js';
import { ConfigError } from '../schemas/errors.js';
import { formatIssue } from '../schemas/load.js';
import type { ChassisConfig } from '../schemas/chassis.js';
import {
  MAX_MESSAGE_DEPTH, MAX_REQUEST_LINE_BYTES, METHODS, PROTOCOL_VERSION, type Params, type ResultIn, type RpcMethod, type RpcResponse, parseRequest,
} from '../schemas/rpc.js';
import { VERSION } from '../schemas/version.js';
import { apply, planFor, restoreKeys, rollback } from './apply.js';
import { runHook } from './hooks.js';
import { LineSplitter } from '../common/lines.js';
import { AgentError } from './errors.js';
import { gatherFacts, ovnVersionOf } from './facts.js';
import type { Logger } from '../common/log.js';
import { type NodeAccess, localNode } from './node.js';
import type { Backend } from './state.js';
import { planView, showView } from './view.js';
import { backupDatabase } from './backup.js';
import { preflight } from './preflight.js';
import { plugVifs, unplugVifs, vifStates } from './vifs.js';

export interface AgentContext {
  backend: Backend;
  /** On the node `node` reaches. */
  stateDir: string;
  /** The node the agent's logic acts on (default: this machine; over SSH in direct mode). */
  node?: NodeAccess;
  systemIdConfPath?: string;
  midonetFiles?: string[];
  log?: Logger;
  /** Called after a successful apply over RPC (the daemon keeps that config applied from then on); returns warnings. */
  onApplied?: (config: ChassisConfig) => Promise<string[]>;
  /** Called after a rollback or restore over RPC (the daemon stops keeping its config applied). */
  onRestored?: () => Promise<void>;
  /** The agent serves (the daemon), rather than answering one conversation. */
  serving?: boolean;
  /** Pull mode: where the kept config comes from; apply, rollback and restore over RPC are refused (they would fight it). */
  configFrom?: string;
  /** Runs a write so that nothing else writes the node meanwhile (the daemon's reconcile loop). */
  exclusive?: <T>(write: () => Promise<T>) => Promise<T>;
}

/** The methods that change the config a pulling agent keeps: its config database decides it, not RPC. */
const CONFIG_WRITES = new Set<RpcMethod>(['apply', 'rollback', 'restore']);

/** One client's conversation: hello first, then any request, answered in order. */
export class RpcSession {
  private readonly ctx: AgentContext;
  private greeted = false;

  constructor(ctx: AgentContext) {
    this.ctx = ctx;
  }

  async handle(line: string): Promise<RpcResponse> {
    if (nestsDeeperThan(line, MAX_MESSAGE_DEPTH)) {
      return { id: null, error: { code: 'PROTOCOL', message: `request nests deeper than ${MAX_MESSAGE_DEPTH} levels` } };
    }
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      return { id: null, error: { code: 'PROTOCOL', message: 'request is not JSON' } };
    }
    const parsed = parseRequest(json);
    if (!parsed.ok) return { id: parsed.id, error: parsed.error };
    const req = parsed.request;
    try {
      if (req.method !== 'hello' && !this.greeted) throw new AgentError('PROTOCOL', 'send hello with the protocol version first');
      if (this.ctx.configFrom && CONFIG_WRITES.has(req.method)) {
        throw new AgentError('REFUSED', `this agent takes its config from ${this.ctx.configFrom}, and would undo this ${req.method}: publish the config instead (ovn-chassis publish)`);
      }
      const result = await (this.handlers[req.method] as (p: unknown) => Promise<unknown>)(req.params);
      // The agent holds its own answers to the protocol: a field the table does not carry fails here, in every agent test, not in the controller.
      const checked = METHODS[req.method].result.safeParse(result);
      if (!checked.success) {
        const why = `the agent's own ${req.method} result does not match the protocol (${formatIssue(checked.error.issues[0] as never)})`;
        throw new AgentError(METHODS[req.method].writes ? 'OUTCOME_UNKNOWN' : 'INTERNAL', METHODS[req.method].writes ? `${why}; the node may have been changed` : why);
      }
      return { id: req.id, result: checked.data };
    } catch (err) {
      const code = err instanceof AgentError || err instanceof ConfigError ? err.code : 'INTERNAL';
      this.ctx.log?.warn({ method: req.method, code, err: (err as Error).message }, 'rpc request failed');
      const data = err instanceof AgentError && err.code === 'PROTOCOL_UNSUPPORTED' ? { data: { protocol: PROTOCOL_VERSION } } : {};
      return { id: req.id, error: { code, message: (err as Error).message, ...data } };
    }
  }

  /** One handler per method of the protocol table; the compiler holds each to its method's parameters and result. */
  private readonly handlers: { [M in RpcMethod]: (params: Params<M>) => Promise<ResultIn<M>> } = {
    hello: async (params) => {
      if (params.protocol !== PROTOCOL_VERSION) {
        throw new AgentError('PROTOCOL_UNSUPPORTED', `protocol ${params.protocol} is not supported; this agent speaks ${PROTOCOL_VERSION}`);
      }
      this.greeted = true;
      return { protocol: PROTOCOL_VERSION, agent: VERSION, backend: this.ctx.backend.description, serving: this.ctx.serving === true, uptimeS: Math.round(process.uptime()) };
    },
    facts: () => gatherFacts(this.ctx.backend, this.node, this.ctx.midonetFiles),
    show: async () => showView(await this.ctx.backend.read(), this.ctx.backend.description),
    diff: async (params) => planView((await planFor(this.ctx.backend, params.config, { ...params, node: this.node, ovnVersion: await ovnVersionOf(this.node) })).plan),
    apply: async ({ config, allowSystemIdChange, planned }) => {
      const { backend, stateDir } = this.ctx;
      const res = await this.exclusive(async () => {
        const r = await apply(backend, config, {
          stateDir,
          node: this.node,
          ovnVersion: await ovnVersionOf(this.node),
          allowSystemIdChange: allowSystemIdChange ?? false,
          planned,
          ...(this.ctx.systemIdConfPath ? { systemIdConfPath: this.ctx.systemIdConfPath } : {}),
        });
        return { ...r, warnings: [...r.warnings, ...((await this.ctx.onApplied?.(config)) ?? [])] };
      });
      return {
        applied: res.applied, attempts: res.attempts, plan: planView(res.plan), warnings: res.warnings,
        ...(res.snapshot ? { snapshot: res.snapshot } : {}), ...(res.previous ? { previous: res.previous } : {}),
      };
    },
    rollback: () =>
      this.exclusive(async () => {
        const r = await rollback(this.ctx.backend, { stateDir: this.ctx.stateDir, node: this.node });
        await this.ctx.onRestored?.();
        return r;
      }),
    hook: (params) => runHook(params.hook, this.node),
    preflight: (params) => preflight(this.node, params),
    backup: () => backupDatabase(this.ctx.backend, this.node, this.ctx.stateDir),
    vifs: async ({ bridge, vifs }) => ({ vifs: await vifStates(this.ctx.backend, this.node, bridge, vifs) }),
    plug: ({ bridge, vifs }) => this.exclusive(() => plugVifs(this.ctx.backend, this.node, bridge, vifs)),
    unplug: ({ bridge, ports }) => this.exclusive(() => unplugVifs(this.ctx.backend, this.node, bridge, ports)),
    restore: async (params) => ({
      restored: await this.exclusive(async () => {
        const restored = await restoreKeys(this.ctx.backend, params.keys);
        await this.ctx.onRestored?.();
        return restored;
      }),
    }),
  };

  private get node(): NodeAccess {
    return this.ctx.node ?? localNode;
  }

  private exclusive<T>(write: () => Promise<T>): Promise<T> {
    return this.ctx.exclusive ? this.ctx.exclusive(write) : write();
  }
}

function drained(output: Writable): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      output.off('drain', done);
      output.off('close', done);
      output.off('error', done);
      resolve();
    };
    output.on('drain', done);
    output.on('close', done);
    output.on('error', done);
  });
}

/** Serves a session over a byte stream of JSON lines until the input ends. */
export function serveLines(input: Readable, output: Writable, session: RpcSession): Promise<void> {
  return new Promise((resolve) => {
    const splitter = new LineSplitter(MAX_REQUEST_LINE_BYTES);
    let queue = Promise.resolve();
    const answer = (line: string) => {
      queue = queue.then(async () => {
        let res: RpcResponse;
        try {
          res = await session.handle(line);
        } catch (err) {
          // Whatever a request does, the agent answers it and goes on serving.
          res = { id: null, error: { code: 'INTERNAL', message: `the request could not be handled: ${(err as Error).message}` } };
        }
        // A client that sends and never reads must not make us hold its answers: stop reading it until it does.
        if (output.writable && !output.write(`${JSON.stringify(res)}\n`)) {
          input.pause();
          await drained(output);
          input.resume();
        }
      });
    };
    input.setEncoding('utf8');
    input.on('data', (chunk: string) => {
      const { lines, tooLong } = splitter.push(chunk);
      for (const line of lines) if (line.trim()) answer(line.trim());
      if (tooLong) {
        queue = queue.then(() => {
          output.write(`${JSON.stringify({ id: null, error: { code: 'PROTOCOL', message: `request line over ${MAX_REQUEST_LINE_BYTES} bytes` } })}\n`);
        });
        input.destroy();
      }
    });
    const done = () => void queue.then(() => resolve());
    input.on('end', done);
    input.on('close', done);
    input.on('error', done);
  });
}
