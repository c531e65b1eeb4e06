import { withoutHost } from './report.js';
import { type ChangeCount, addCounts, countOf, formatCount } from '../schemas/output.js';
import { errorCodeOf } from '../schemas/errors.js';
import type { Logger } from '../common/log.js';
import { HOOK_PHASES, type Hook, type Hooks, describeHook } from '../schemas/hooks.js';
import type { JournalRecord, Step } from '../schemas/journal.js';
import { namedIps } from '../schemas/keys.js';
import { ControllerError } from './errors.js';
import { type RunOptions, connectAgent } from './fleet.js';
import type { Fleet, Host } from './inventory.js';
import { type Journal, type NodeHistory, fleetDigest, hostIdentity, replay } from './journal.js';
import { limitHosts } from './limit.js';
import { type PlanOptions, planRollout } from './plan.js';
import { type OnFailure, afterBatch, afterPause, lastBatchWithWork, onNodeFailure, todoOf } from './rollout-policy.js';
import { putBack } from './rollback.js';
import { awaitMovedAway, drainMoves, movesFromRecord, movesRecord, readGateways, setPriorities } from './gateways.js';
import type { OvsdbClient } from '../ovsdb/index.js';
import { checkNode, fleetProblems } from './preflight.js';
import { awaitWorkloads, describeWorkloadProblems, integrationBridge } from './workloads.js';
import type { NodeVif } from '../schemas/vifs.js';
import type { Planned } from '../schemas/saved-plan.js';
import type { AgentClient } from './transport/client.js';
import { type SouthboundView, awaitVerdicts, expectationOf, whyNotVerified } from './verify.js';

export interface RolloutOptions extends PlanOptions {
  limit?: string;
  maxFailures: number;
  pauseS: number;
  verifyTimeoutS: number;
  /** Each host's VIFs to move onto its integration bridge (from the binding list; default none). */
  vifs?: Map<string, NodeVif[]>;
  /** Default: the inventory's rollout.onFailure. */
  onFailure?: OnFailure;
  /** The Northbound, where gateway nodes' router ports are drained (none: gateways are not drained). */
  nb?: OvsdbClient;
  /** false: gateways are taken without moving their router ports first (--no-drain). */
  drain?: boolean;
  run: RunOptions;
  log: Logger;
  /** Told the plan before anything changes: the batches, and each host's hooks as they will run. */
  onPlan: (batches: string[][], resumed: boolean, hooks: Map<string, Hooks>) => void;
  /** Progress as it happens: one line per node step. */
  onEvent: (text: string) => void;
  /** A node finished this run: done, or failed. */
  onNode?: (host: string, ok: boolean) => void;
  /** Asked between batches: has the operator asked us to stop? */
  stopRequested: () => boolean;
  /** A saved rollout plan (rollout --plan): its batches, and each node's recorded values and changes guarding its apply. */
  saved?: { batches: string[][]; planned: Map<string, Planned> };
  /** Asked once the plan is shown and before anything changes: go on? (none: go on) */
  confirm?: () => Promise<boolean>;
}

export type RolloutOutcome = 'done' | 'failed' | 'stopped';

/** The end of each hook's output kept in the journal. */
const HOOK_OUTPUT_KEPT = 4096;

/** The options with the inventory's defaults filled in. */
type Resolved = RolloutOptions & { vifs: Map<string, NodeVif[]>; onFailure: OnFailure; fleetProblems: Map<string, string[]> };

/**
 * Migrates the fleet in batches (docs/migration.md). Each node:
 * pre-checks and pre-flight, backup, gateway drain, `before` hooks, apply,
 * `after` hooks, VIF plug, verification of its chassis and VIFs, undrain —
 * each step journaled before and after. A node is done only when verified.
 * What happens after each batch is rollout-policy.ts's decision.
 */
export async function rollout(fleet: Fleet, journal: Journal, sb: SouthboundView, options: RolloutOptions): Promise<RolloutOutcome> {
  const opts: Resolved = {
    ...options, vifs: options.vifs ?? new Map(), onFailure: options.onFailure ?? fleet.inventory.rollout?.onFailure ?? 'continue',
    // Judged over the whole inventory, not only --limit: a clash with a host outside it is still a clash.
    fleetProblems: fleetProblems(fleet.hosts),
  };
  const all = new Map(fleet.hosts.map((h) => [h.name, h]));
  // A saved plan names its hosts (checked against the inventory when it was loaded).
  const hosts = opts.saved ? opts.saved.batches.flat().map((n) => all.get(n) as Host) : limitHosts(fleet.hosts, opts.limit);
  if (hosts.length === 0) throw new ControllerError('INVALID_CONFIG', `--limit ${opts.limit} matches no host`);
  const byName = new Map(hosts.map((h) => [h.name, h]));
  const digest = fleetDigest(hosts, opts.vifs);
  let batches: Host[][];
  const start = journal.records.find((r): r is Extract<JournalRecord, { type: 'start' }> => r.type === 'start');
  if (start) {
    if (start.digest !== digest) {
      const moved = hosts.filter((h) => start.identities && start.identities[h.name] !== undefined && start.identities[h.name] !== hostIdentity(h)).map((h) => h.name);
      const detail = moved.length > 0 ? `: ${moved.join(', ')} now ${moved.length > 1 ? 'point' : 'points'} at another node (address, transport or system-id)` : '';
      throw new ControllerError('REFUSED', `journal ${journal.path} is from a different inventory (or --limit, or binding list): its hosts, configs, VIFs or where they are do not match ${fleet.source}${detail}; refusing to resume`);
    }
    batches = start.batches.map((b) => b.map((n) => byName.get(n) as Host));
    opts.onPlan(start.batches, true, hooksOf(hosts));
    await goOn(opts);
    await journal.append({ type: 'resume' });
  } else {
    batches = opts.saved ? opts.saved.batches.map((b) => b.map((n) => byName.get(n) as Host)) : planRollout(hosts, { ...opts, order: opts.order ?? fleet.inventory.rollout?.order });
    const names = batches.map((b) => b.map((h) => h.name));
    opts.onPlan(names, false, hooksOf(hosts));
    await goOn(opts);
    await journal.append({
      type: 'start', inventory: fleet.source, digest, batches: names, identities: Object.fromEntries(hosts.map((h) => [h.name, hostIdentity(h)])),
      options: { batch: opts.batch, canary: opts.canary, batchBy: opts.batchBy ?? null, maxFailures: opts.maxFailures, limit: opts.limit ?? null, onFailure: opts.onFailure },
    });
  }

  // Nodes a step of this run may have changed: a failure of the rollout itself after one never says "nothing was changed".
  const touched = new Set<string>();
  try {
    return await runBatches(hosts, batches, journal, sb, opts, Boolean(start ? start.options.canary : opts.canary), touched);
  } catch (err) {
    if (touched.size === 0) throw err;
    const e = err as Error & { code?: unknown };
    throw new ControllerError(errorCodeOf(err), `${e.message}; this run had begun changing ${[...touched].join(', ')} (see ${journal.path}; --resume continues)`, { cause: err, changed: 'maybe-changed' });
  }
}

async function runBatches(hosts: Host[], batches: Host[][], journal: Journal, sb: SouthboundView, opts: Resolved, canary: boolean, touched: Set<string>): Promise<RolloutOutcome> {
  const names = batches.map((b) => b.map((h) => h.name));
  const byName = new Map(hosts.map((h) => [h.name, h]));
  // A batch's nodes become done only when it runs: the last batch with work is known before the first runs.
  const lastWithWork = lastBatchWithWork(names, (h) => journal.history.get(h)?.state === 'done');
  for (const [i, batch] of names.entries()) {
    const history = journal.history;
    const todo = todoOf(batch, (h) => history.get(h)?.state === 'done').map((h) => byName.get(h) as Host);
    if (todo.length === 0) continue;
    journal.note({ type: 'batch', index: i, phase: 'begin' });
    opts.onEvent(`batch ${i + 1}/${batches.length}${i === 0 && canary ? ' (canary)' : ''}: ${todo.map((h) => h.name).join(', ')}`);
    // Each node's history as it stood before the batch: what it did on an earlier run, not what it does now.
    const prior = new Map(todo.map((h) => [h.name, snapshotOf(history.get(h.name))]));
    const results = await Promise.all(todo.map((h) => migrateNode(h, prior.get(h.name), journal, sb, opts, touched)));
    const failed = todo.filter((_, k) => !results[k]).map((h) => h.name);
    // On disk before a pause or the next batch: the journal shows where the rollout stands while it waits.
    await journal.append({ type: 'batch', index: i, phase: 'end', failed });
    let decision = afterBatch({
      index: i, total: batches.length, canary, failed, maxFailures: opts.maxFailures, onFailure: opts.onFailure,
      lastWithWork: i >= lastWithWork, stopRequested: opts.stopRequested(), pauseS: opts.pauseS,
    });
    if (decision.kind === 'pause') {
      opts.onEvent(`pausing ${decision.seconds} s before the next batch`);
      await new Promise((r) => setTimeout(r, decision.kind === 'pause' ? decision.seconds * 1000 : 0));
      decision = afterPause(opts.stopRequested());
    }
    if (decision.kind === 'stop') {
      await journal.append({ type: 'stop', reason: decision.reason });
      opts.onEvent(decision.outcome === 'failed' ? `STOPPED: ${decision.reason}; fix the nodes, then run again with --resume` : `${decision.reason} (after batch ${i + 1}); continue with --resume`);
      return decision.outcome;
    }
    if (decision.kind === 'finish') break;
  }
  const final = journal.history;
  const outcome = hosts.every((h) => final.get(h.name)?.state === 'done') ? 'done' : 'failed';
  await journal.append({ type: 'finish', outcome });
  return outcome;
}

async function goOn(opts: RolloutOptions): Promise<void> {
  if (opts.confirm && !(await opts.confirm())) throw new ControllerError('CANCELLED', 'cancelled at the prompt: nothing was changed');
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
async function migrateNode(host: Host, prior: NodeHistory | undefined, journal: Journal, sb: SouthboundView, opts: Resolved, touched: Set<string>): Promise<boolean> {
  const done = (s: Step) => prior?.steps.get(s) === 'ok';
  const interrupted = (s: Step) => prior?.steps.get(s) === 'begun';
  let agent: AgentClient | undefined;
  /**
   * A step that changes the node has its begin on disk before it starts and
   * its end before the node goes on: a resume must know it may have run.
   * One that only reads is noted: a crash that loses it makes a resume run it again.
   */
  type StepResult = { detail: string; previous?: Record<string, string | null>; gateways?: Record<string, string>; hooks?: { hook: string; ms: number; output: string }[]; changes?: ChangeCount };
  const step = async (s: Step, changes: boolean, fn: () => Promise<StepResult>): Promise<void> => {
    if (done(s)) return;
    // The backup is on disk in the journal too: a resume after the change must not take another (of the changed node).
    const durable = changes || s === 'backup';
    const record = (draft: Parameters<Journal['note']>[0]) => (durable ? journal.append(draft) : journal.note(draft));
    await record({ type: 'step', host: host.name, step: s, phase: 'begin' });
    if (changes) touched.add(host.name);
    const t0 = Date.now();
    try {
      const r = await fn();
      await record({ type: 'step', host: host.name, step: s, phase: 'end', ok: true, ms: Date.now() - t0, detail: r.detail, ...(r.previous ? { previous: r.previous } : {}), ...(r.gateways ? { gateways: r.gateways } : {}), ...(r.hooks ? { hooks: r.hooks } : {}), ...(r.changes ? { changes: r.changes } : {}) });
      opts.onEvent(`  ${host.name}: ${s}: ${r.detail}`);
    } catch (err) {
      const message = (err as Error).message;
      await record({ type: 'step', host: host.name, step: s, phase: 'end', ok: false, ms: Date.now() - t0, error: message });
      throw err;
    }
  };
  const hooks = async (list: Hook[] | undefined): Promise<StepResult> => {
    const ran: { hook: string; ms: number; output: string }[] = [];
    for (const h of list ?? []) {
      const r = await (agent as AgentClient).hook(h);
      // What each hook printed stays in the journal: the record of what was done to the node.
      ran.push({ hook: describeHook(h), ms: r.ms, output: r.output.slice(-HOOK_OUTPUT_KEPT) });
    }
    return { detail: ran.length > 0 ? `ran ${ran.map((x) => x.hook).join(', ')}` : 'no hooks', ...(ran.length > 0 ? { hooks: ran } : {}) };
  };
  const vifs = opts.vifs.get(host.name) ?? [];
  const bridge = integrationBridge(host.chassis);
  try {
    agent = await connectAgent(host, opts.run);
    await step('precheck', false, async () => ({ detail: await checkNode(host, agent!, sb, opts.log, opts.fleetProblems.get(host.name)) }));
    await step('backup', false, async () => {
      const b = await agent!.backup();
      return { detail: `the node's Open vSwitch database saved to ${b.path} (${b.bytes} bytes; ovsdb-client restore puts it back)` };
    });
    let drained = prior?.drained;
    const nb = opts.drain === false ? undefined : opts.nb;
    await step('drain', Boolean(host.chassis.gateway && nb), async () => {
      if (!host.chassis.gateway) return { detail: 'not a gateway' };
      if (!nb) return { detail: opts.drain === false ? 'not drained (--no-drain)' : 'not drained: the inventory names no ovn.northbound' };
      const { moves, alone } = drainMoves(await readGateways(nb), host.chassis.systemId);
      await setPriorities(nb, moves, 'drain');
      drained = movesRecord(moves);
      const still = await awaitMovedAway(sb, host.chassis.systemId, moves, opts.verifyTimeoutS * 1000);
      if (still.length > 0) throw new ControllerError('DRAIN_FAILED', `${host.name}: ${still.join(', ')} still active here ${opts.verifyTimeoutS} s after its priority went below the other gateways' (are they up?)`);
      const lone = alone.length > 0 ? `; ${alone.join(', ')} ha${alone.length === 1 ? 's' : 've'} no other gateway and stay${alone.length === 1 ? 's' : ''}` : '';
      return { detail: moves.length > 0 ? `moved ${moves.map((m) => `${m.group} (${m.from}→${m.to})`).join(', ')} to the other gateways${lone}` : `no router port to move${lone}`, gateways: drained };
    });
    await step('before', Boolean(host.hooks.before?.length), () => hooks(host.hooks.before));
    await step('apply', true, async () => {
      if (interrupted('apply')) {
        // Killed mid-apply: the node's real state decides, never a blind redo.
        const plan = await agent!.diff(host.chassis);
        if (plan.inSync) return { detail: 'found already applied on resume' };
      }
      const res = await agent!.apply(host.chassis, false, opts.saved?.planned.get(host.name));
      const changes = countOf(res.applied ? res.plan : undefined);
      return { detail: res.applied ? `applied ${formatCount(changes)}` : 'already in sync', changes, ...(res.previous ? { previous: res.previous } : {}) };
    });
    await step('after', Boolean(host.hooks.after?.length), () => hooks(host.hooks.after));
    await step('plug', vifs.length > 0, async () => {
      if (vifs.length === 0) return { detail: 'no VIFs listed for this node' };
      const r = await untilBridge(() => agent!.plug(bridge, vifs), opts.verifyTimeoutS);
      const from = [...new Set(r.plugged.map((p) => p.from || 'no bridge'))];
      return { detail: `plugged ${r.plugged.length} VIFs into ${bridge}${from.length ? ` (from ${from.join(', ')})` : ''}${r.already.length ? `, ${r.already.length} already there` : ''}`, changes: countOf(undefined, r.plugged.length) };
    });
    await step('verify', false, async () => {
      // An encap IP left to the node: the node says which it found (the apply step may have run before a resume).
      const resolved = namedIps(host.chassis.encap.ip) ? undefined : (await agent!.diff(host.chassis)).resolvedEncapIp;
      const [v] = await awaitVerdicts(sb, [expectationOf(host.name, host.chassis, resolved)], opts.verifyTimeoutS * 1000);
      const why = v ? whyNotVerified(v, opts.verifyTimeoutS) : 'no verdict';
      if (why) throw new ControllerError('NOT_VERIFIED', `${host.name}: ${why}`);
      if (vifs.length === 0) return { detail: `chassis ${host.chassis.systemId} registered as desired` };
      const verdicts = await awaitWorkloads(sb, () => agent!.vifs(bridge, vifs), vifs, host.chassis.systemId, opts.verifyTimeoutS * 1000);
      const bad = verdicts.filter((v) => v.problem);
      if (bad.length > 0) throw new ControllerError('NOT_VERIFIED', `${host.name}: ${bad.length} of ${vifs.length} VIFs did not come up: ${describeWorkloadProblems(bad)}`);
      return { detail: `chassis ${host.chassis.systemId} registered as desired; ${vifs.length} VIFs bound to it and installed` };
    });
    await step('undrain', Boolean(drained && nb), async () => {
      const moves = movesFromRecord(drained ?? {});
      if (!nb || moves.length === 0) return { detail: 'nothing drained' };
      await setPriorities(nb, moves, 'restore');
      return { detail: `gateway priorities back: ${moves.map((m) => `${m.group} (${m.to}→${m.from})`).join(', ')}` };
    });
    journal.note({ type: 'node', host: host.name, state: 'done' });
    opts.onEvent(`  ${host.name}: done`);
    opts.onNode?.(host.name, true);
    return true;
  } catch (err) {
    const message = (err as Error).message;
    journal.note({ type: 'node', host: host.name, state: 'failed', error: message });
    opts.onEvent(`  ${host.name}: FAILED: ${withoutHost(host.name, message)}`);
    opts.onNode?.(host.name, false);
    if (agent && onNodeFailure(opts.onFailure) === 'rollback') await rollBackFailed(host, agent, journal, opts);
    return false;
  } finally {
    await agent?.close().catch(() => undefined);
  }
}

/** rollout.onFailure: rollback — the failed node is put back (VIFs, then keys) and says so; a rollback that fails is said too. */
async function rollBackFailed(host: Host, agent: AgentClient, journal: Journal, opts: RolloutOptions): Promise<void> {
  try {
    const h = journal.history.get(host.name);
    const r = await putBack(host, agent, h?.previous, opts.nb && h?.drained ? { nb: opts.nb, drained: h.drained } : undefined);
    await journal.append({ type: 'node', host: host.name, state: 'rolled-back' });
    opts.onEvent(`  ${host.name}: rolled back (rollout.onFailure): ${r.unplugged} VIFs back on their old bridges, ${Object.keys(r.restored).length} keys restored${r.gateways ? `, ${r.gateways} gateway priorities restored` : ''}`);
  } catch (err) {
    opts.onEvent(`  ${host.name}: rollback FAILED: ${(err as Error).message}`);
  }
}

/** ovn-controller makes the integration bridge once the chassis is configured: plugging waits for it, up to the verify timeout. */
async function untilBridge<T>(fn: () => Promise<T>, timeoutS: number): Promise<T> {
  const deadline = Date.now() + timeoutS * 1000;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'NO_BRIDGE' || Date.now() >= deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

export interface NodeReport {
  host: string;
  state: 'done' | 'failed' | 'pending' | 'rolled-back';
  /** What its apply and plug steps changed. */
  changes: ChangeCount;
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
      changes: addCounts([...last.values()].flatMap((e) => (e.changes ? [e.changes] : []))),
      steps: [...last.values()].map((e) => ({ step: e.step, ok: e.ok, ...(e.ms !== undefined ? { ms: e.ms } : {}), ...(e.detail ? { detail: e.detail } : {}), ...(e.error ? { error: e.error } : {}) })),
    };
  });
}

/** A node's line in the report: a pushed rollout's (from the journal) or a pulled one's. */
type Reported = Pick<NodeReport, 'host' | 'changes'> & { state: string; steps: { step: string; ok?: boolean | undefined; ms?: number; detail?: string; error?: string }[] };

/** `counted`: the changes are known (a pulled rollout's agents do not say what they changed). */
export function formatReport(nodes: Reported[], counted = true): string {
  const lines: string[] = [];
  for (const n of nodes) {
    lines.push(`${n.host}: ${n.state}`);
    for (const s of n.steps) lines.push(`  ${s.step.padEnd(8)} ${s.ok ? 'ok    ' : 'FAILED'} ${String(s.ms ?? '').padStart(6)} ms  ${s.detail ?? s.error ?? ''}`);
  }
  const count = (st: string) => nodes.filter((n) => n.state === st).length;
  lines.push('', `${count('done')} done, ${count('failed')} failed, ${count('pending')} not yet started (of ${nodes.length})`);
  if (counted) lines.push(`changed: ${formatCount(addCounts(nodes.map((n) => n.changes)))}`);
  return lines.join('\n');
}
