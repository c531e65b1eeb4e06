import { chmodSync, existsSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { dirname, join } from 'node:path';
import { type ChassisConfig, chassisConfigSchema } from '../schemas/chassis.js';
import { check } from '../schemas/load.js';
import type { AgentBackend } from '../schemas/backend.js';
import { apply, planFor } from './apply.js';
import { hasChanges } from './diff.js';
import { openBackend } from './backends/open.js';
import { checkPrivateDir, secureStateDir, writeFileAtomic } from './files.js';
import type { Logger } from '../common/log.js';
import { localNode } from './node.js';
import { AgentError } from './errors.js';
import { RpcSession, serveLines } from './rpc.js';
import { type PullOptions, PullLink, type PullStatus, judgeDesired } from './pull.js';
import type { Row } from '../ovsdb/index.js';
import { agentSocketIn, connectServing } from './serving.js';
import type { Backend } from './state.js';

export interface ServeOptions {
  /** The config to keep applied; none with `pull` (the config database's row is, once it comes). */
  config?: ChassisConfig;
  /** Pull mode: take the desired config from the config database, and report there. */
  pull?: PullOptions;
  backend: AgentBackend;
  stateDir: string;
  socketPath?: string;
  systemIdConfPath?: string;
  midonetFiles?: string[];
  log: Logger;
}

/** A failed reconcile (node OVSDB down) is tried again after this long, even with no event. */
const RETRY_MS = 2000;

/**
 * Keeps one node's desired config applied: re-applies when someone changes a
 * managed key (a monitor on the native backend, polling on the others), and
 * answers the agent RPC on a unix socket only its owner can open.
 */
export class Daemon {
  private readonly opts: ServeOptions;
  private readonly log: Logger;
  /** Undefined after a rollback through the daemon: nothing is kept applied until the next apply. */
  private desired: ChassisConfig | undefined;
  private backend!: Backend;
  private server: net.Server | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  /** Set once the desired config has been in place: from then on a write here is a drift repair. */
  private converged = false;
  private readonly stopHooks: (() => void)[] = [];
  private pullLink: PullLink | undefined;
  /** Pull mode: the generation taken and not yet applied. */
  private pending: number | undefined;
  /** Pull mode: the generation in force on the node (0: none yet), kept in pulled.json across restarts. */
  private applied = 0;

  constructor(opts: ServeOptions) {
    this.opts = opts;
    this.log = opts.log;
    this.desired = opts.config;
  }

  get socketPath(): string {
    return this.opts.socketPath ?? agentSocketIn(this.opts.stateDir);
  }

  async start(): Promise<void> {
    for (const w of await secureStateDir(localNode.files, this.opts.stateDir)) this.log.warn({ event: 'warning' }, w);
    // Checked before anything is applied: a refusal must leave the node as it was.
    checkPrivateDir(dirname(this.socketPath), 'the agent socket\'s directory');
    const other = await connectServing(this.socketPath);
    if (other) {
      other.destroy();
      throw new AgentError('REFUSED', `another agent already serves on ${this.socketPath}; two would fight over the node`);
    }
    if (this.opts.pull) this.resumePulled();
    await this.persist();
    this.backend = await openBackend(this.opts.backend, { reconnect: true });
    await this.reconcile('start');
    if (this.opts.pull) {
      this.pullLink = new PullLink(this.opts.pull, this.log, (rows) => void this.onDesiredRows(rows));
      this.pullLink.start();
    }
    this.stopHooks.push(
      await this.backend.watch((e) => {
        if (e.kind === 'lost') this.log.warn({ err: e.why }, 'lost the node\'s OVSDB; trying again');
        else this.schedule(e.kind);
      }),
    );
    await this.listen();
    this.log.info({ socket: this.socketPath, backend: this.backend.description }, 'serving');
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    for (const h of this.stopHooks) h();
    await this.pullLink?.stop();
    await new Promise((r) => (this.server ? this.server.close(r) : r(undefined)));
    rmSync(this.socketPath, { force: true });
    await this.running;
    await this.backend?.close();
  }

  private async persist(): Promise<void> {
    const path = join(this.opts.stateDir, 'desired.json');
    if (this.desired) await writeFileAtomic(path, `${JSON.stringify(this.desired, null, 2)}\n`);
    else rmSync(path, { force: true });
  }

  private get pulledPath(): string {
    return join(this.opts.stateDir, 'pulled.json');
  }

  /** After a restart in pull mode: the config last taken is kept applied (the database may be away) and no older generation is taken. */
  private resumePulled(): void {
    const host = this.opts.pull?.host;
    if (existsSync(this.pulledPath)) {
      const saved = JSON.parse(readFileSync(this.pulledPath, 'utf8')) as { host?: unknown; applied?: unknown };
      if (saved.host === host && typeof saved.applied === 'number') this.applied = saved.applied;
    }
    const desired = join(this.opts.stateDir, 'desired.json');
    if (this.applied > 0 && existsSync(desired)) this.desired = check(chassisConfigSchema, JSON.parse(readFileSync(desired, 'utf8')), desired);
  }

  /** Pull mode: the host's Desired row changed; a refused row leaves the node and the config kept as they are. */
  private async onDesiredRows(rows: Row[]): Promise<void> {
    const j = judgeDesired(rows, this.opts.pull?.host as string, this.applied);
    if (j.kind === 'none') return;
    if (j.kind === 'refuse') {
      this.log.warn({ event: 'refused', generation: j.generation }, j.why);
      await this.pullLink?.report({ generation: j.generation, applied: this.applied, verdict: 'refused', error: j.why });
      return;
    }
    // The generation already taken, or the one in force with nothing newer pending: nothing new.
    if (j.generation === this.pending || (j.generation === this.applied && this.pending === undefined && this.desired !== undefined)) return;
    this.log.info({ event: 'published', generation: j.generation }, `took desired generation ${j.generation}`);
    this.desired = j.config;
    this.pending = j.generation;
    await this.persist();
    this.schedule('published', 0);
  }

  /** Pull mode: what a reconcile came to, in the host's Status row. */
  private async reportReconcile(generation: number | undefined, outcome: { ok: true; encapIps?: string[] } | { ok: false; code?: string; error: string }): Promise<void> {
    if (!this.pullLink || generation === undefined) return;
    let status: PullStatus;
    if (outcome.ok) {
      if (this.pending === generation) this.pending = undefined;
      if (this.applied !== generation) await writeFileAtomic(this.pulledPath, `${JSON.stringify({ host: this.opts.pull?.host, applied: generation })}\n`);
      this.applied = generation;
      status = { generation, applied: generation, verdict: 'applied', ...(outcome.encapIps ? { encapIps: outcome.encapIps } : {}) };
    } else {
      status = { generation, applied: this.applied, verdict: outcome.code === 'REFUSED' ? 'refused' : 'failed', error: outcome.error };
    }
    await this.pullLink.report(status);
  }

  private schedule(reason: string, delayMs = 20): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.reconcile(reason), delayMs);
  }

  /** One reconcile at a time; events that arrive meanwhile cause one more. */
  private async reconcile(reason: string): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    return this.hold(this.reconcileOnce(reason));
  }

  /**
   * An RPC write (apply, rollback) waits for the loop and holds it off while
   * it runs, so the loop never re-applies a config that is being replaced.
   */
  private async exclusive<T>(write: () => Promise<T>): Promise<T> {
    while (this.running) await this.running;
    const result = write();
    void this.hold(result);
    return result;
  }

  private hold(work: Promise<unknown>): Promise<void> {
    this.running = work.then(
      () => undefined,
      () => undefined,
    ).finally(() => {
      this.running = undefined;
      if (this.again && !this.stopped) {
        this.again = false;
        this.schedule('coalesced');
      }
    });
    return this.running;
  }

  private async reconcileOnce(reason: string): Promise<void> {
    const desired = this.desired;
    const generation = this.pending ?? (this.applied > 0 ? this.applied : undefined);
    if (!desired) {
      if (this.opts.pull) this.log.info({ event: 'waiting', reason }, 'no desired config yet: waiting for this host\'s row in the config database');
      else this.log.info({ event: 'ignored', reason }, 'paused since a rollback: not re-applying until the next apply');
      return;
    }
    try {
      const { plan } = await planFor(this.backend, desired);
      if (!hasChanges(plan)) {
        this.converged = true;
        await this.reportReconcile(generation, { ok: true, ...(plan.resolvedEncapIp ? { encapIps: plan.resolvedEncapIp } : {}) });
        return;
      }
      if (this.converged && plan.changes.length > 0) {
        this.log.warn(
          { event: 'drift', reason, changes: plan.changes.map((c) => ({ key: c.key, expected: c.to ?? null, found: c.from ?? null })) },
          `managed keys were changed outside ovn-chassis: ${plan.changes.map((c) => c.key).join(', ')}; re-applying`,
        );
      }
      const res = await apply(this.backend, desired, {
        stateDir: this.opts.stateDir,
        cause: this.converged ? 'repair' : 'apply',
        ...(this.opts.systemIdConfPath ? { systemIdConfPath: this.opts.systemIdConfPath } : {}),
      });
      this.converged = true;
      if (res.applied) this.log.info({ event: 'applied', reason, changes: res.plan.changes.length, attempts: res.attempts }, 'desired config applied');
      for (const w of res.warnings) this.log.warn({ event: 'warning', reason }, w);
      await this.reportReconcile(generation, { ok: true, ...(res.plan.resolvedEncapIp ? { encapIps: res.plan.resolvedEncapIp } : {}) });
    } catch (err) {
      const code = (err as { code?: string }).code;
      // A safety rule says the same until the config or the node changes (each makes a reconcile of its own): no retry.
      const refused = code === 'REFUSED';
      this.log.error({ err: (err as Error).message, code }, refused ? 'reconcile refused; waiting for another config or a change on the node' : 'reconcile failed; will retry');
      await this.reportReconcile(generation, { ok: false, error: (err as Error).message, ...(code ? { code } : {}) });
      if (!refused) this.schedule('retry', RETRY_MS);
    }
  }

  private async listen(): Promise<void> {
    rmSync(this.socketPath, { force: true });
    // Half-open: a client may send its requests and close its side, and still get every answer.
    this.server = net.createServer({ allowHalfOpen: true }, (sock) => {
      const session = new RpcSession({
        backend: this.backend,
        serving: true,
        stateDir: this.opts.stateDir,
        log: this.log,
        ...(this.opts.systemIdConfPath ? { systemIdConfPath: this.opts.systemIdConfPath } : {}),
        ...(this.opts.midonetFiles ? { midonetFiles: this.opts.midonetFiles } : {}),
        onApplied: async (config) => {
          // Kept in memory first: the node now holds this config, and the loop must not undo it.
          this.desired = config;
          this.converged = true;
          try {
            await this.persist();
            return [];
          } catch (err) {
            return [`this serving agent keeps the new config applied, but could not save it to ${join(this.opts.stateDir, 'desired.json')} (${(err as Error).message}): after a restart it would apply its --config file again`];
          }
        },
        onRestored: async () => {
          this.desired = undefined;
          this.converged = false;
          await this.persist();
          this.log.warn({ event: 'paused' }, 'a rollback restored earlier values: keeping no config applied until the next apply');
        },
        ...(this.opts.pull ? { configFrom: `the config database (${this.opts.pull.endpoints})` } : {}),
        exclusive: (write) => this.exclusive(write),
      });
      sock.on('error', () => sock.destroy());
      void serveLines(sock, sock, session).then(() => sock.end());
    });
    // The socket is created 0600 (umask), not chmod-ed after: no window where others may connect.
    const old = process.umask(0o177);
    try {
      await new Promise<void>((resolve, reject) => {
        this.server?.once('error', reject);
        this.server?.listen(this.socketPath, resolve);
      });
    } finally {
      process.umask(old);
    }
    chmodSync(this.socketPath, 0o600);
  }
}
