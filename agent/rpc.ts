import type { Readable, Writable } from 'node:stream';
import { nestsDeeperThan } from '../common/text.js';
import { ConfigError } from '../schemas/errors.js';
import { formatIssue } from '../schemas/load.js';
import type { ChassisConfig } from '../schemas/chassis.js';
import { PROTOCOL_VERSION, type RpcRequest, type RpcResponse, rpcRequestSchema } from '../schemas/rpc.js';
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

/** A request line longer than this is refused; configs are small. */
const MAX_LINE_BYTES = 4 * 1024 * 1024;
/** Requests nest a few levels (params.config.bridges[0]); deeper is refused before anything recursive reads it. */
const MAX_RPC_DEPTH = 32;

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
  /** Runs a write so that nothing else writes the node meanwhile (the daemon's reconcile loop). */
  exclusive?: <T>(write: () => Promise<T>) => Promise<T>;
}

/** One client's conversation: hello first, then any request, answered in order. */
export class RpcSession {
  private readonly ctx: AgentContext;
  private greeted = false;

  constructor(ctx: AgentContext) {
    this.ctx = ctx;
  }

  async handle(line: string): Promise<RpcResponse> {
    if (nestsDeeperThan(line, MAX_RPC_DEPTH)) {
      return { id: null, error: { code: 'PROTOCOL', message: `request nests deeper than ${MAX_RPC_DEPTH} levels` } };
    }
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      return { id: null, error: { code: 'PROTOCOL', message: 'request is not JSON' } };
    }
    const rawId = (json as { id?: unknown })?.id;
    const id = typeof rawId === 'number' ? rawId : null;
    const parsed = rpcRequestSchema.safeParse(json, { reportInput: true });
    if (!parsed.success) {
      const configIssue = parsed.error.issues.some((i) => i.path[0] === 'params' && i.path[1] === 'config');
      const issues = parsed.error.issues.map((i) => formatIssue({ ...i, path: i.path.slice(i.path[1] === 'config' ? 2 : 0) }));
      return { id, error: { code: configIssue ? 'INVALID_CONFIG' : 'PROTOCOL', message: `invalid request:\n  ${issues.join('\n  ')}` } };
    }
    try {
      return { id: parsed.data.id, result: await this.dispatch(parsed.data) };
    } catch (err) {
      const code = err instanceof AgentError || err instanceof ConfigError ? err.code : 'INTERNAL';
      this.ctx.log?.warn({ method: parsed.data.method, code, err: (err as Error).message }, 'rpc request failed');
      return { id: parsed.data.id, error: { code, message: (err as Error).message } };
    }
  }

  private async dispatch(req: RpcRequest): Promise<unknown> {
    if (req.method === 'hello') {
      if (req.params.protocol !== PROTOCOL_VERSION) {
        throw new AgentError('PROTOCOL', `protocol ${req.params.protocol} is not supported; this agent speaks ${PROTOCOL_VERSION}`);
      }
      this.greeted = true;
      return { protocol: PROTOCOL_VERSION, agent: VERSION, backend: this.ctx.backend.description };
    }
    if (!this.greeted) throw new AgentError('PROTOCOL', 'send hello with the protocol version first');
    const { backend, stateDir } = this.ctx;
    const node = this.ctx.node ?? localNode;
    const exclusive = this.ctx.exclusive ?? ((write) => write());
    switch (req.method) {
      case 'facts':
        return gatherFacts(backend, node, this.ctx.midonetFiles);
      case 'show':
        return showView(await backend.read(), backend.description);
      case 'diff':
        return planView((await planFor(backend, req.params.config, { ...req.params, node, ovnVersion: await ovnVersionOf(node) })).plan);
      case 'apply': {
        const { config, allowSystemIdChange } = req.params;
        const res = await exclusive(async () => {
          const r = await apply(backend, config, {
            stateDir,
            node,
            ovnVersion: await ovnVersionOf(node),
            allowSystemIdChange: allowSystemIdChange ?? false,
            ...(this.ctx.systemIdConfPath ? { systemIdConfPath: this.ctx.systemIdConfPath } : {}),
          });
          return { ...r, warnings: [...r.warnings, ...((await this.ctx.onApplied?.(config)) ?? [])] };
        });
        return {
          applied: res.applied, attempts: res.attempts, plan: planView(res.plan), warnings: res.warnings,
          ...(res.snapshot ? { snapshot: res.snapshot } : {}), ...(res.previous ? { previous: res.previous } : {}),
        };
      }
      case 'rollback':
        return exclusive(async () => {
          const r = await rollback(backend, { stateDir, node });
          await this.ctx.onRestored?.();
          return r;
        });
      case 'hook':
        return runHook(req.params.hook, node);
      case 'restore':
        return {
          restored: await exclusive(async () => {
            const restored = await restoreKeys(backend, req.params.keys);
            await this.ctx.onRestored?.();
            return restored;
          }),
        };
    }
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
    const splitter = new LineSplitter(MAX_LINE_BYTES);
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
          output.write(`${JSON.stringify({ id: null, error: { code: 'PROTOCOL', message: `request line over ${MAX_LINE_BYTES} bytes` } })}\n`);
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
