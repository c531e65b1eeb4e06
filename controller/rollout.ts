import type { Logger } from '../common/log.js';
import { HOOK_PHASES, type Hook, type Hooks, describeHook } from '../schemas/hooks.js';
import type { JournalRecord, Step } from '../schemas/journal.js';
import { namedIps } from '../schemas/keys.js';
import { ControllerError } from './errors.js';
import { type RunOptions, connectAgent, precheck } from './fleet.js';
import type { Fleet, Host } from './inventory.js';
import { type Journal, type NodeHistory, fleetDigest, hostIdentity, replay } from './journal.js';
import { limitHosts } from './limit.js';
import { type PlanOptions, planRollout } from './plan.js';
import type { AgentClient } from './transport/client.js';
import { type SouthboundView, awaitVerdicts, expectationOf, whyNotVerified } from './verify.js';

export interface RolloutOptions extends PlanOptions {
  limit?: string;
  maxFailures: number;
  pauseS: number;
  verifyTimeoutS: number;
  run: RunOptions;
  log: Logger;
  /** Told the plan before anything changes: the batches, and each host's hooks as they will run. */
  onPlan: (batches: string[][], resumed: boolean, hooks: Map<string, Hooks>) => void;
  /** Progress as it happens: one line per node step. */
  onEvent: (text: string) => void;
  /** Asked between batches: has the operator asked us to stop? */
  stopRequested: () => boolean;
}

export type RolloutOutcome = 'done' | 'failed' | 'stopped';

/**
 * Migrates the fleet in batches (DESIGN.md rollout). Each node: pre-checks,
 * `before` hooks, apply, `after` hooks, Southbound verification — each step
 * journaled before and after. A node is done only when verified. A canary
 * batch must succeed fully; any batch with more than --max-failures failed
 * nodes stops the rollout.
 */
export async function rollout(fleet: Fleet, journal: Journal, sb: SouthboundView, opts: RolloutOptions): Promise<RolloutOutcome> {
  const hosts = limitHosts(fleet.hosts, opts.limit);
  if (hosts.length === 0) throw new ControllerError('INVALID_INVENTORY', `--limit ${opts.limit} matches no host`);
  const byName = new Map(hosts.map((h) => [h.name, h]));
  const digest = fleetDigest(hosts);
  let batches: Host[][];
  const start = journal.records.find((r): r is Extract<JournalRecord, { type: 'start' }> => r.type === 'start');
  if (start) {
    if (start.digest !== digest) {
      const moved = hosts.filter((h) => start.identities && start.identities[h.name] !== undefined && start.identities[h.name] !== hostIdentity(h)).map((h) => h.name);
      const detail = moved.length > 0 ? `: ${moved.join(', ')} now ${moved.length > 1 ? 'point' : 'points'} at another node (address, transport or system-id)` : '';
      throw new ControllerError('REFUSED', `journal ${journal.path} is from a different inventory (or --limit): its hosts, configs or where they are do not match ${fleet.source}${detail}; refusing to resume`);
    }
    batches = start.batches.map((b) => b.map((n) => byName.get(n) as Host));
    opts.onPlan(start.batches, true, hooksOf(hosts));
    await journal.append({ type: 'resume' });
  } else {
    batches = planRollout(hosts, { ...opts, order: opts.order ?? fleet.inventory.rollout?.order });
    const names = batches.map((b) => b.map((h) => h.name));
    opts.onPlan(names, false, hooksOf(hosts));
    await journal.append({
      type: 'start', inventory: fleet.source, digest, batches: names, identities: Object.fromEntries(hosts.map((h) => [h.name, hostIdentity(h)])),
      options: { batch: opts.batch, canary: opts.canary, batchBy: opts.batchBy ?? null, maxFailures: opts.maxFailures, limit: opts.limit ?? null },
    });
  }

  // Nodes a step of this run may have changed: a failure of the rollout itself after one never says "nothing was changed".
  const touched = new Set<string>();
  try {
    return await runBatches(hosts, batches, journal, sb, opts, Boolean(start ? start.options.canary : opts.canary), touched);
  } catch (err) {
    if (touched.size === 0) throw err;
    const e = err as Error & { code?: unknown };
    throw new ControllerError(typeof e.code === 'string' ? e.code : 'ERROR', `${e.message}; this run had begun changing ${[...touched].join(', ')} (see ${journal.path}; --resume continues)`, { cause: err, changed: 'maybe-changed' });
  }
}

async function runBatches(hosts: Host[], batches: Host[][], journal: Journal, sb: SouthboundView, opts: RolloutOptions, canary: boolean, touched: Set<string>): Promise<RolloutOutcome> {
  // A batch's nodes become done only when it runs: the last batch with work is known before the first runs.
  const lastWithWork = batches.map((b) => b.some((h) => journal.history.get(h.name)?.state !== 'done')).lastIndexOf(true);
  for (const [i, batch] of batches.entries()) {
    const history = journal.history;
    const todo = batch.filter((h) => history.get(h.name)?.state !== 'done');
    if (todo.length === 0) continue;
    journal.note({ type: 'batch', index: i, phase: 'begin' });
    opts.onEvent(`batch ${i + 1}/${batches.length}${i === 0 && canary ? ' (canary)' : ''}: ${todo.map((h) => h.name).join(', ')}`);
    // Each node's history as it stood before the batch: what it did on an earlier run, not what it does now.
    const prior = new Map(todo.map((h) => [h.name, snapshotOf(history.get(h.name))]));
    const results = await Promise.all(todo.map((h) => migrateNode(h, prior.get(h.name), journal, sb, opts, touched)));
    const failed = todo.filter((_, k) => !results[k]).map((h) => h.name);
    // On disk before a pause or the next batch: the journal shows where the rollout stands while it waits.
    await journal.append({ type: 'batch', index: i, phase: 'end', failed });
    const limit = i === 0 && canary ? 0 : opts.maxFailures;
    if (failed.length > limit) {
      const why = i === 0 && canary ? `the canary batch failed (${failed.join(', ')})` : `batch ${i + 1} had ${failed.length} failed nodes (${failed.join(', ')}), more than --max-failures ${opts.maxFailures}`;
      await journal.append({ type: 'stop', reason: why });
      opts.onEvent(`STOPPED: ${why}; fix the nodes, then run again with --resume`);
      return 'failed';
    }
    if (i >= lastWithWork) continue;
    const operatorStop = async () => {
      if (!opts.stopRequested()) return false;
      await journal.append({ type: 'stop', reason: 'stopped by the operator between batches' });
      opts.onEvent(`stopped by the operator after batch ${i + 1}; continue with --resume`);
      return true;
    };
    if (await operatorStop()) return 'stopped';
    if (opts.pauseS > 0) {
      opts.onEvent(`pausing ${opts.pauseS} s before the next batch`);
      await new Promise((r) => setTimeout(r, opts.pauseS * 1000));
      if (await operatorStop()) return 'stopped';
    }
  }
  const final = journal.history;
  const outcome = hosts.every((h) => final.get(h.name)?.state === 'done') ? 'done' : 'failed';
  await journal.append({ type: 'finish', outcome });
  return outcome;
}

const hooksOf = (hosts: Host[]) => new Map(hosts.map((h) => [h.name, h.hooks]));

/** Each host's hooks, phase by phase, as the plan shows them (hosts without any are left out). */
export function formatHooks(hooks: Map<string, Hooks>): string[] {
  const lines: string[] = [];
  for (const [host, h] of hooks) {
    const phases = HOOK_PHASES.filter((p) => (h[p]?.length ?? 0) > 0);
    if (phases.length === 0) continue;
    lines.push(`  ${host}:`, ...phases.map((p) => `    ${p}: ${(h[p] ?? []).map(describeHook).join(', ')}`));
  }
  return lines;
}

function snapshotOf(h: NodeHistory | undefined): NodeHistory | undefined {
  return h && { ...h, steps: new Map(h.steps) };
}

/** One node through its steps; steps the journal shows ended are not run again. */
async function migrateNode(host: Host, prior: NodeHistory | undefined, journal: Journal, sb: SouthboundView, opts: RolloutOptions, touched: Set<string>): Promise<boolean> {
  const done = (s: Step) => prior?.steps.get(s) === 'ok';
  const interrupted = (s: Step) => prior?.steps.get(s) === 'begun';
  let agent: AgentClient | undefined;
  /**
   * A step that changes the node has its begin on disk before it starts and
   * its end before the node goes on: a resume must know it may have run.
   * One that only reads is noted: a crash that loses it makes a resume run it again.
   */
  const step = async (s: Step, changes: boolean, fn: () => Promise<{ detail: string; previous?: Record<string, string | null> }>): Promise<void> => {
    if (done(s)) return;
    const record = (draft: Parameters<Journal['note']>[0]) => (changes ? journal.append(draft) : journal.note(draft));
    await record({ type: 'step', host: host.name, step: s, phase: 'begin' });
    if (changes) touched.add(host.name);
    const t0 = Date.now();
    try {
      const r = await fn();
      await record({ type: 'step', host: host.name, step: s, phase: 'end', ok: true, ms: Date.now() - t0, detail: r.detail, ...(r.previous ? { previous: r.previous } : {}) });
      opts.onEvent(`  ${host.name}: ${s}: ${r.detail}`);
    } catch (err) {
      const message = (err as Error).message;
      await record({ type: 'step', host: host.name, step: s, phase: 'end', ok: false, ms: Date.now() - t0, error: message });
      throw err;
    }
  };
  const hooks = async (list: Hook[] | undefined) => {
    const ran: string[] = [];
    for (const h of list ?? []) {
      await (agent as AgentClient).hook(h);
      ran.push(describeHook(h));
    }
    return { detail: ran.length > 0 ? `ran ${ran.join(', ')}` : 'no hooks' };
  };
  try {
    agent = await connectAgent(host, opts.run);
    await step('precheck', false, async () => {
      const [facts, plan] = await Promise.all([agent!.facts(), agent!.diff(host.chassis)]);
      const warnings = precheck(host, facts);
      for (const w of warnings) opts.log.warn({ host: host.name }, w);
      if (plan.refusals.length > 0) throw new ControllerError('REFUSED', `${host.name}: ${plan.refusals.join('; ')}`);
      return { detail: `agent and OVSDB reachable, config valid${warnings.length ? `, ${warnings.length} warnings` : ''}` };
    });
    await step('before', Boolean(host.hooks.before?.length), () => hooks(host.hooks.before));
    await step('apply', true, async () => {
      if (interrupted('apply')) {
        // Killed mid-apply: the node's real state decides, never a blind redo.
        const plan = await agent!.diff(host.chassis);
        if (plan.inSync) return { detail: 'found already applied on resume' };
      }
      const res = await agent!.apply(host.chassis);
      return { detail: res.applied ? `applied ${res.plan.changes.length} changes` : 'already in sync', ...(res.previous ? { previous: res.previous } : {}) };
    });
    await step('after', Boolean(host.hooks.after?.length), () => hooks(host.hooks.after));
    await step('verify', false, async () => {
      // An encap IP left to the node: the node says which it found (the apply step may have run before a resume).
      const resolved = namedIps(host.chassis.encap.ip) ? undefined : (await agent!.diff(host.chassis)).resolvedEncapIp;
      const [v] = await awaitVerdicts(sb, [expectationOf(host.name, host.chassis, resolved)], opts.verifyTimeoutS * 1000);
      const why = v ? whyNotVerified(v, opts.verifyTimeoutS) : 'no verdict';
      if (why) throw new ControllerError('NOT_VERIFIED', `${host.name}: ${why}`);
      return { detail: `chassis ${host.chassis.systemId} registered as desired` };
    });
    journal.note({ type: 'node', host: host.name, state: 'done' });
    opts.onEvent(`  ${host.name}: done`);
    return true;
  } catch (err) {
    const message = (err as Error).message;
    journal.note({ type: 'node', host: host.name, state: 'failed', error: message });
    opts.onEvent(`  ${host.name}: FAILED: ${message}`);
    return false;
  } finally {
    await agent?.close().catch(() => undefined);
  }
}

export interface NodeReport {
  host: string;
  state: 'done' | 'failed' | 'pending' | 'rolled-back';
  steps: { step: Step; ok: boolean | undefined; ms?: number; detail?: string; error?: string }[];
}

/** The per-node report, from the journal: what was done, how long each step took, the SB registration. */
export function report(records: JournalRecord[], hosts: string[]): NodeReport[] {
  const hist = replay(records);
  // One pass over the records: each host's last end record per step.
  const lastEnds = new Map<string, Map<Step, Extract<JournalRecord, { type: 'step' }>>>();
  for (const r of records) {
    if (r.type !== 'step' || r.phase !== 'end') continue;
    const m = lastEnds.get(r.host) ?? new Map<Step, Extract<JournalRecord, { type: 'step' }>>();
    m.set(r.step, r);
    lastEnds.set(r.host, m);
  }
  return hosts.map((host) => {
    const last = lastEnds.get(host) ?? new Map<Step, Extract<JournalRecord, { type: 'step' }>>();
    return {
      host,
      state: hist.get(host)?.state ?? 'pending',
      steps: [...last.values()].map((e) => ({ step: e.step, ok: e.ok, ...(e.ms !== undefined ? { ms: e.ms } : {}), ...(e.detail ? { detail: e.detail } : {}), ...(e.error ? { error: e.error } : {}) })),
    };
  });
}

export function formatReport(nodes: NodeReport[]): string {
  const lines: string[] = [];
  for (const n of nodes) {
    lines.push(`${n.host}: ${n.state}`);
    for (const s of n.steps) lines.push(`  ${s.step.padEnd(8)} ${s.ok ? 'ok    ' : 'FAILED'} ${String(s.ms ?? '').padStart(6)} ms  ${s.detail ?? s.error ?? ''}`);
  }
  const count = (st: string) => nodes.filter((n) => n.state === st).length;
  lines.push('', `${count('done')} done, ${count('failed')} failed, ${count('pending')} not yet started (of ${nodes.length})`);
  return lines.join('\n');
}
