import { errorCodeOf } from '../schemas/errors.js';
import { isIP } from 'node:net';
import type { Logger } from '../common/log.js';
import { namedIps } from '../schemas/keys.js';
import type { Facts, PlanView } from '../schemas/rpc.js';
import { ControllerError, type NodeChange, changeOf } from './errors.js';
import type { Host } from './inventory.js';
import { Progress } from './progress.js';
import type { Planned } from '../schemas/saved-plan.js';
import type { AgentClient } from './transport/client.js';
import { connectLocal } from './transport/local.js';
import { appliedSummary, withoutHost } from './report.js';
import { strandedChassis } from './stranded.js';
import { type Expectation, type SouthboundView, type Verdict, awaitVerdicts, expectationOf, judgeFromView, removeChassis, whyNotVerified } from './verify.js';

export interface RunOptions {
  concurrency: number;
  nodeTimeoutMs: number;
  /** Where local-transport agents keep state when their transport names no stateDir. */
  stateRoot: string;
  log: Logger;
  /** The work changes nodes: a node given up on may have been changed. */
  writes?: boolean;
}

export type NodeResult<T> =
  | { host: string; ok: true; value: T; ms: number }
  | { host: string; ok: false; error: NodeFailure; ms: number };

/** Why a node failed, and whether it was (or may have been) changed all the same. */
export interface NodeFailure {
  code: string;
  message: string;
  changed?: NodeChange;
}

export async function connectAgent(host: Host, opts: Pick<RunOptions, 'stateRoot' | 'log'>): Promise<AgentClient> {
  // ssh2 is loaded only when a host is reached over SSH: most of the controller's start-up time otherwise.
  if (host.transport.kind === 'local') return connectLocal(host, opts.stateRoot);
  if (host.transport.via === 'direct') return (await import('./transport/direct.js')).connectDirect(host);
  return (await import('./transport/ssh.js')).connectSsh(host, opts.log);
}

/**
 * Runs `fn` on every host, at most `concurrency` at a time, each under its own
 * deadline: a slow or dead node is reported for itself and never holds up the
 * others. One agent connection per node, reused for all its requests.
 */
export async function forEachNode<T>(
  hosts: Host[],
  opts: RunOptions,
  progress: Progress,
  describe: (value: T) => string,
  fn: (host: Host, agent: AgentClient) => Promise<T>,
): Promise<NodeResult<T>[]> {
  return forEachHost(hosts, opts, progress, describe, async (host) => {
    const agent = await connectAgent(host, opts);
    try {
      return await fn(host, agent);
    } finally {
      await agent.close().catch(() => undefined);
    }
  });
}

/**
 * Runs `fn` on every host, at most `concurrency` at a time, each under its own
 * deadline; a failure is that host's result, never the others'.
 */
export async function forEachHost<T>(
  hosts: Host[],
  opts: RunOptions,
  progress: Progress,
  describe: (value: T) => string,
  fn: (host: Host) => Promise<T>,
): Promise<NodeResult<T>[]> {
  const results: NodeResult<T>[] = new Array(hosts.length);
  let next = 0;
  const worker = async () => {
    while (next < hosts.length) {
      const i = next++;
      const host = hosts[i] as Host;
      const t0 = Date.now();
      let timer: NodeJS.Timeout | undefined;
      try {
        // The work is left to finish (and close what it opened) even when the deadline gives up on it.
        const work = fn(host);
        work.catch(() => undefined);
        const deadline = new Promise<never>((_, reject) => {
          // Work given up on may still change the node: a command that writes cannot say it did not.
          const changed = opts.writes ? { changed: 'maybe-changed' as const } : {};
          const why = `${host.name}: no answer within ${opts.nodeTimeoutMs / 1000} s${opts.writes ? '; the node may have been changed (run diff to see)' : ''}`;
          timer = setTimeout(() => reject(new ControllerError('TIMEOUT', why, changed)), opts.nodeTimeoutMs);
        });
        const value = await Promise.race([work, deadline]);
        results[i] = { host: host.name, ok: true, value, ms: Date.now() - t0 };
        progress.node(host.name, describe(value));
      } catch (err) {
        results[i] = { host: host.name, ok: false, error: failureOf(err), ms: Date.now() - t0 };
        progress.node(host.name, `FAILED: ${withoutHost(host.name, (err as Error).message)}`, false);
      } finally {
        clearTimeout(timer);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.concurrency, hosts.length)) }, worker));
  return results;
}

/** Warnings from a node's facts, before anything is written to it. */
export function precheck(host: Host, facts: Facts): string[] {
  const warnings: string[] = [];
  const onHost = new Set(facts.addresses);
  // An encap IP found on the node (an interface or a network) is on it by definition.
  for (const ip of namedIps(host.chassis.encap.ip) ?? []) {
    // All of 127.0.0.0/8 is the loopback interface's on Linux (sandbox nodes live there).
    const local = onHost.has(ip) || (isIP(ip) === 4 && ip.startsWith('127.') && onHost.has('127.0.0.1'));
    if (!local) warnings.push(`encap IP ${ip} is not on any interface of ${facts.fqdn} (it has ${facts.addresses.join(', ')})`);
  }
  // A local-transport agent runs on the controller's machine, so its facts name that machine, not the node.
  if (host.transport.kind === 'ssh' && host.chassis.hostname && host.chassis.hostname !== facts.hostname && host.chassis.hostname !== facts.fqdn) {
    warnings.push(`hostname ${host.chassis.hostname} is neither the node's hostname (${facts.hostname}) nor its FQDN (${facts.fqdn}); neutron must know the node by ${host.chassis.hostname}`);
  }
  return warnings;
}

/** What each node resolves of its config (an encap IP given as an interface or a network), by host; a node that cannot say is left out, and its failure logged. */
export async function resolveOnNodes(hosts: Host[], opts: RunOptions): Promise<Map<string, string[]>> {
  const progress = new Progress('resolve', hosts.length, opts.log);
  const results = await forEachNode(hosts, opts, progress, (v: string[]) => `encap IP ${v.join(', ')}`, async (host, agent) => {
    const ips = (await agent.diff(host.chassis)).resolvedEncapIp;
    if (!ips) throw new ControllerError('PROTOCOL', `${host.name}: the node did not say which encap IP it found`);
    return ips;
  });
  for (const r of results) if (!r.ok) opts.log.warn({ host: r.host, code: r.error.code }, r.error.message);
  return new Map(results.flatMap((r) => (r.ok ? [[r.host, r.value] as const] : [])));
}

export interface DiffOutcome {
  plan: PlanView;
}

export function diffFleet(hosts: Host[], opts: RunOptions, allowSystemIdChange = false): Promise<NodeResult<DiffOutcome>[]> {
  const progress = new Progress('diff', hosts.length, opts.log);
  return forEachNode(hosts, opts, progress, (v) => (v.plan.inSync ? 'in sync' : `${v.plan.changes.length + v.plan.bridges.length + v.plan.ports.length} changes`), async (host, agent) => ({
    plan: await agent.diff(host.chassis, allowSystemIdChange),
  }));
}

export interface ApplyOutcome {
  applied: boolean;
  plan: PlanView;
  warnings: string[];
  previousSystemId?: string;
  verdict?: Verdict;
}

export interface ApplyOptions extends RunOptions {
  allowSystemIdChange: boolean;
  /** The live SB view to verify against; none with --no-verify. */
  southbound?: SouthboundView;
  verifyTimeoutMs: number;
  /** Every inventory host's system-id (not only the --limit ones): a node may never name another's as its old one. */
  fleetSystemIds: Map<string, string>;
  /** A saved plan's values and changes per host (apply --plan): each node's write holds only while they do. */
  planned?: Map<string, Planned>;
}

/**
 * Apply, then prove: each node's agent applies its config; then the
 * Southbound DB (watched, not polled) must show every applied node's chassis
 * with the desired encaps and gateway flag. A node counts as done only when
 * verified.
 */
export async function applyFleet(hosts: Host[], opts: ApplyOptions): Promise<NodeResult<ApplyOutcome>[]> {
  const progress = new Progress('apply', hosts.length, opts.log);
  // What the Southbound must show for each node, with the encap IP its agent found when the config left it to the node.
  const expected = new Map<string, Expectation>();
  const results = await forEachNode<ApplyOutcome>(hosts, { ...opts, writes: true }, progress, appliedSummary, async (host, agent) => {
    const warnings = precheck(host, await agent.facts());
    for (const w of warnings) opts.log.warn({ host: host.name }, w);
    const res = await agent.apply(host.chassis, opts.allowSystemIdChange, opts.planned?.get(host.name));
    if (opts.southbound) expected.set(host.name, expectationOf(host.name, host.chassis, res.plan.resolvedEncapIp));
    // The apply reports what it replaced: an old system-id there is a chassis now stranded in the SB.
    const previousSystemId = res.previous?.['system-id'];
    return {
      applied: res.applied,
      plan: res.plan,
      warnings: [...warnings, ...res.plan.warnings, ...res.warnings],
      ...(previousSystemId ? { previousSystemId } : {}),
    };
  });
  const sb = opts.southbound;
  if (!sb) return results;
  const applied = results.flatMap((r, i) => (r.ok ? [{ r, i, host: hosts[i] as Host }] : []));
  for (const { r, host } of applied) {
    const old = r.value.previousSystemId;
    const verdict = strandedChassis(host, old, { allowSystemIdChange: opts.allowSystemIdChange, claimedBy: opts.fleetSystemIds, sbRow: old ? sb.chassisByName(old) : undefined });
    if (verdict && 'remove' in verdict) {
      const n = await removeChassis(sb, verdict.remove, opts.log);
      opts.log.info({ host: host.name, old: verdict.remove, rows: n }, `removed the stranded chassis ${verdict.remove} from the Southbound DB`);
    } else if (verdict) {
      opts.log.warn({ host: host.name, old: verdict.keep }, verdict.why);
      r.value.warnings.push(verdict.why);
    }
  }
  const exps = applied.map(({ host }) => expected.get(host.name) as Expectation);
  const verifying = new Progress('verify', exps.length, opts.log);
  const verdicts = await awaitVerdicts(sb, exps, opts.verifyTimeoutMs, (v) => verifying.node(v.host, `chassis ${v.systemId} registered as desired`));
  // Verdicts come in the order of `applied`.
  verdicts.forEach((v, k) => {
    const { r, i } = applied[k] as (typeof applied)[number];
    r.value.verdict = v;
    const why = whyNotVerified(v, opts.verifyTimeoutMs / 1000);
    if (why) {
      // Not verified, yet changed if its apply wrote: never the exit 1 that says no node was changed.
      const applied = r.value.applied;
      results[i] = { host: v.host, ok: false, error: { code: 'NOT_VERIFIED', message: `${v.host}: ${applied ? 'applied' : 'already in sync'}, but ${why}`, ...(applied ? { changed: 'changed' as const } : {}) }, ms: r.ms };
      verifying.node(v.host, `NOT VERIFIED: ${why}`);
    }
  });
  return results;
}

export interface StatusOutcome {
  plan: PlanView;
  verdict: Verdict;
}

/** `sb`: the Southbound's view, or why it could not be reached (each node's registration is then unproven, saying why). */
export async function statusFleet(hosts: Host[], opts: RunOptions, sb: SouthboundView | string): Promise<NodeResult<StatusOutcome>[]> {
  const progress = new Progress('status', hosts.length, opts.log);
  const results = await forEachNode<{ plan: PlanView; exp: Expectation }>(hosts, opts, progress, (v) => (v.plan.inSync ? 'in sync' : 'drifted'), async (host, agent) => {
    const plan = await agent.diff(host.chassis);
    return { plan, exp: expectationOf(host.name, host.chassis, plan.resolvedEncapIp) };
  });
  // One proof that the view is current, after every node answered; then every verdict is read from it.
  const judge = await judgeFromView(sb);
  return results.map((r) => (r.ok ? { ...r, value: { plan: r.value.plan, verdict: judge(r.value.exp) } } : r));
}

/** A failure as a node's result: its code, its message, and what it left on the node. */
export function failureOf(err: unknown): NodeFailure {
  const e = err as Error & { code?: unknown };
  const changed = changeOf(err);
  return { code: errorCodeOf(err), message: e.message, ...(changed ? { changed } : {}) };
}

/**
 * Exit codes for fleet commands: every node failed and none was changed → 1;
 * some failed, or a failed one was (or may have been) changed → 3 (partial);
 * else `otherwise`. Exit 1 always means no node was changed.
 */
export function fleetExit(results: NodeResult<unknown>[], otherwise: number): number {
  const failures = results.flatMap((r) => (r.ok ? [] : [r.error]));
  if (failures.length === 0) return otherwise;
  return failures.length === results.length && failures.every((f) => !f.changed) ? 1 : 3;
}
