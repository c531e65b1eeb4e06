import type { OvsdbClient } from '../ovsdb/index.js';
import { NO_CHANGES } from '../schemas/output.js';
import { ControllerError, asChanged } from './errors.js';
import type { Fleet, Host } from './inventory.js';
import { limitHosts } from './limit.js';
import { type PlanOptions, planRollout } from './plan.js';
import { type OnFailure, afterBatch, afterPause } from './rollout-policy.js';
import { type PullState, type PullView, configText, publish, pullStateOf } from './config-db.js';
import { type Expectation, type SouthboundView, awaitVerdicts, expectationOf, whyNotVerified } from './verify.js';

/**
 * A rollout in pull mode (docs/pull.md): batch after batch, the batch's
 * desired rows are published in one transaction, then each host's agent must
 * report the generation applied in its status row, then its chassis must be
 * proved in the Southbound. Its progress is in the config database: run it
 * again, from any machine, and the hosts already there pass at once.
 */
export interface PullRolloutOptions extends PlanOptions {
  limit?: string;
  maxFailures: number;
  pauseS: number;
  /** Seconds an agent has to report the generation applied. */
  applyTimeoutS: number;
  verifyTimeoutS: number;
  onFailure: OnFailure;
  onPlan: (batches: string[][]) => void;
  onEvent: (text: string) => void;
  onNode: (host: string, ok: boolean) => void;
  stopRequested: () => boolean;
}

type Step = { step: string; ok?: boolean; ms?: number; detail?: string; error?: string };
export interface PullNodeReport {
  host: string;
  state: 'done' | 'failed' | 'pending' | 'rolled-back';
  changes: typeof NO_CHANGES;
  steps: Step[];
}

export interface PullRolloutResult {
  outcome: 'done' | 'failed' | 'stopped';
  reason?: string;
  batches: string[][];
  nodes: PullNodeReport[];
}

/**
 * Waits, event-driven, until each host reports its generation applied, or
 * refuses it, or the timeout passes. A failed apply may be retried by the
 * agent, so it is final only at the deadline; a refusal is final at once.
 */
export function awaitApplied(view: PullView, want: Map<string, number>, timeoutMs: number, onSettled: (host: string, s: PullState) => void): Promise<Map<string, PullState>> {
  return new Promise((resolve) => {
    const settled = new Map<string, PullState>();
    const statuses = view.statuses();
    const look = (hosts: Iterable<string>) => {
      for (const host of hosts) {
        const generation = want.get(host);
        if (generation === undefined || settled.has(host)) continue;
        const s = pullStateOf(statuses.get(host), generation);
        if (s.state === 'applied' || s.state === 'refused') {
          settled.set(host, s);
          onSettled(host, s);
        }
      }
      if (settled.size === want.size) finish();
    };
    const finish = () => {
      clearTimeout(timer);
      stop();
      for (const [host, generation] of want) {
        if (!settled.has(host)) settled.set(host, pullStateOf(statuses.get(host), generation));
      }
      resolve(settled);
    };
    const stop = view.onStatusChange((changed) => {
      for (const [host, reading] of changed) {
        if (reading) statuses.set(host, reading);
        else statuses.delete(host);
      }
      look(changed.keys());
    });
    const timer = setTimeout(finish, timeoutMs);
    look(want.keys());
  });
}

/** Why a host did not reach its generation, as a sentence. */
function whyNotApplied(s: PullState, generation: number, timeoutS: number): string {
  if (s.state === 'pending') return `generation ${generation} not reported applied after ${timeoutS} s: ${s.why}`;
  return `its agent ${s.state === 'refused' ? 'refused' : 'failed to apply'} generation ${generation}: ${s.state === 'applied' ? '' : s.row.error}`;
}

export async function pullRollout(fleet: Fleet, client: OvsdbClient, view: PullView, sb: SouthboundView, opts: PullRolloutOptions): Promise<PullRolloutResult> {
  const hosts = limitHosts(fleet.hosts, opts.limit);
  if (hosts.length === 0) throw new ControllerError('INVALID_CONFIG', `--limit ${opts.limit} matches no host`);
  const batches = planRollout(hosts, opts).map((b) => b.map((h) => h.name));
  const byName = new Map(hosts.map((h) => [h.name, h]));
  const reports = new Map<string, PullNodeReport>(hosts.map((h) => [h.name, { host: h.name, state: 'pending', changes: NO_CHANGES, steps: [] }]));
  opts.onPlan(batches);
  const step = (host: string, s: Step) => {
    (reports.get(host) as PullNodeReport).steps.push(s);
    opts.onEvent(`${host}: ${s.step}${s.ok === false ? ' FAILED' : ''}${s.detail ? ` (${s.detail})` : ''}${s.error ? `: ${s.error}` : ''}`);
  };
  const fail = (host: string, s: Step) => {
    step(host, { ...s, ok: false });
    (reports.get(host) as PullNodeReport).state = 'failed';
    opts.onNode(host, false);
  };
  const result = (outcome: PullRolloutResult['outcome'], reason?: string): PullRolloutResult => ({ outcome, ...(reason ? { reason } : {}), batches, nodes: [...reports.values()] });

  // From the first row this run publishes, agents change their nodes: a failure after it is a failure on changed nodes.
  let published = false;
  /** One batch: published, each host's status awaited, each chassis proved; returns the batch's failed hosts. */
  const runBatch = async (names: string[]): Promise<string[]> => {
    const batch = names.map((n) => byName.get(n) as Host);
    const before = view.desired();
    const started = Date.now();
    const since = () => Date.now() - started;
    const steps = await publish(client, batch.map((h) => ({ host: h.name, config: configText(h.chassis) })));
    published ||= steps.some((s) => s.changed);
    for (const s of steps) step(s.host, { step: 'publish', ok: true, ms: since(), detail: s.changed ? `generation ${s.generation}` : `generation ${s.generation}, already published` });
    const want = new Map(steps.map((s) => [s.host, s.generation]));
    const applied = await awaitApplied(view, want, opts.applyTimeoutS * 1000, () => {});
    const exps: Expectation[] = [];
    for (const h of batch) {
      const s = applied.get(h.name) as PullState;
      const generation = want.get(h.name) as number;
      if (s.state !== 'applied') {
        fail(h.name, { step: 'applied', ms: since(), error: whyNotApplied(s, generation, opts.applyTimeoutS) });
        continue;
      }
      step(h.name, { step: 'applied', ok: true, ms: since(), detail: `generation ${generation}, agent ${s.row.agent}` });
      try {
        exps.push(expectationOf(h.name, h.chassis, s.row.encap_ips.length > 0 ? s.row.encap_ips : undefined));
      } catch (err) {
        fail(h.name, { step: 'verify', ms: since(), error: (err as Error).message });
      }
    }
    for (const v of await awaitVerdicts(sb, exps, opts.verifyTimeoutS * 1000)) {
      const why = whyNotVerified(v, opts.verifyTimeoutS);
      if (why) {
        fail(v.host, { step: 'verify', ms: since(), error: why });
        continue;
      }
      step(v.host, { step: 'verify', ok: true, ms: since(), detail: `chassis ${v.systemId}` });
      (reports.get(v.host) as PullNodeReport).state = 'done';
      opts.onNode(v.host, true);
    }
    const failed = names.filter((n) => reports.get(n)?.state === 'failed');
    if (failed.length > 0 && opts.onFailure === 'rollback') await putBackPulled(client, failed, before, step, reports);
    return failed;
  };

  try {
    for (const [index, names] of batches.entries()) {
      const failed = await runBatch(names);
      let decision = afterBatch({
        index, total: batches.length, canary: opts.canary > 0, failed, maxFailures: opts.maxFailures, onFailure: opts.onFailure,
        lastWithWork: index === batches.length - 1, stopRequested: opts.stopRequested(), pauseS: opts.pauseS,
      });
      if (decision.kind === 'pause') {
        const ms = decision.seconds * 1000;
        await new Promise((r) => setTimeout(r, ms));
        decision = afterPause(opts.stopRequested());
      }
      if (decision.kind === 'stop') return result(decision.outcome, decision.reason);
      if (decision.kind === 'finish') break;
    }
  } catch (err) {
    throw published ? asChanged(err) : err;
  }
  return result([...reports.values()].some((r) => r.state === 'failed') ? 'failed' : 'done');
}

/** rollout.onFailure rollback, pulled: each failed host's previous desired config is published again (a host that had none is left). */
async function putBackPulled(client: OvsdbClient, failed: string[], before: Map<string, { config: string }>, step: (host: string, s: Step) => void, reports: Map<string, PullNodeReport>): Promise<void> {
  const back = failed.flatMap((host) => {
    const prev = before.get(host);
    if (prev) return [{ host, config: prev.config }];
    step(host, { step: 'rollback', ok: false, error: 'it had no desired row before this rollout: nothing to publish back' });
    return [];
  });
  if (back.length === 0) return;
  for (const s of await publish(client, back)) {
    step(s.host, { step: 'rollback', ok: true, detail: `previous config published again as generation ${s.generation}` });
    (reports.get(s.host) as PullNodeReport).state = 'rolled-back';
  }
}
