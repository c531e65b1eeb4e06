import { formatPlan } from '../agent/index.js';
import type { AgentStatus } from './agents.js';
import type { ApplyOutcome, DiffOutcome, NodeResult, StatusOutcome } from './fleet.js';
import type { Finding } from './validate.js';

/** A node's failure on its line: the line names the host already, so a message that starts with it does not say it again. */
export const failed = (r: { host: string; error: { code: string; message: string } }) => `FAILED (${r.error.code}): ${withoutHost(r.host, r.error.message)}`;

/** `message` without a leading "HOST: ", which the line it goes on says already. */
export const withoutHost = (host: string, message: string) => (message.startsWith(`${host}: `) ? message.slice(host.length + 2) : message);

export function formatFindings(source: string, hostCount: number, findings: Finding[]): string {
  const errors = findings.filter((f) => f.level === 'error').length;
  const lines = [`${source}: ${hostCount} hosts, ${errors} errors, ${findings.length - errors} warnings`];
  for (const f of findings) lines.push(`  ${f.level} [${f.check}] ${f.message}`);
  return lines.join('\n');
}

export function formatDiff(results: NodeResult<DiffOutcome>[]): string {
  const lines: string[] = [];
  for (const r of results) {
    if (!r.ok) lines.push(`${r.host}: ${failed(r)}`);
    else if (r.value.plan.inSync) lines.push(`${r.host}: in sync`);
    else lines.push(`${r.host}:`, formatPlan(r.value.plan, '  '));
  }
  const ok = results.filter((r) => r.ok) as Extract<NodeResult<DiffOutcome>, { ok: true }>[];
  const changed = ok.filter((r) => !r.value.plan.inSync).length;
  lines.push('', `${ok.length - changed} in sync, ${changed} with changes, ${results.length - ok.length} failed`);
  return lines.join('\n');
}

export function formatApply(results: NodeResult<ApplyOutcome>[], verified: boolean): string {
  const lines: string[] = [];
  for (const r of results) {
    if (!r.ok) {
      lines.push(`${r.host}: ${failed(r)}`);
      continue;
    }
    const v = r.value;
    lines.push(`${r.host}: ${appliedSummary(v)}${v.verdict?.state === 'verified' ? ', verified in the Southbound DB' : ''}`);
    if (v.applied) lines.push(formatPlan({ ...v.plan, warnings: [] }, '  '));
    for (const w of v.warnings) lines.push(`  ! warning: ${w}`);
  }
  const ok = results.filter((r) => r.ok).length;
  lines.push('', `${ok} of ${results.length} nodes ${verified ? 'applied and verified' : 'applied (not verified: --no-verify)'}, ${results.length - ok} failed`);
  return lines.join('\n');
}

/** What an apply did to a node, in a few words: changes, adoption of keys already right, or nothing. */
export function appliedSummary(v: { applied: boolean; plan: { changes: unknown[]; bridges: unknown[]; ports: unknown[]; adopted: string[] } }): string {
  if (!v.applied) return 'already in sync';
  const n = v.plan.changes.length + v.plan.bridges.length + v.plan.ports.length;
  const parts = [...(n > 0 ? [`applied ${n} changes`] : []), ...(v.plan.adopted.length > 0 ? [`adopted ${v.plan.adopted.length} keys`] : [])];
  return parts.join(', ') || 'ownership record updated';
}

/** Rows under a header, each column as wide as its widest cell. */
export function table(head: string[], rows: string[][]): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (c: string[]) => c.map((x, i) => x.padEnd(widths[i] as number)).join('  ').trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
}

/** Per node: in sync or drifted, registered or not; why a node could not be asked is said under the table, one line each. */
export function formatStatus(results: NodeResult<StatusOutcome>[], stale: string[]): string {
  const why: string[] = [];
  const rows = results.map((r) => {
    if (!r.ok) {
      why.push(`${r.host}: ${withoutHost(r.host, r.error.message)}`);
      return [r.host, `unreachable (${r.error.code})`, '-'];
    }
    const p = r.value.plan;
    const agent = p.inSync ? 'in sync' : `drifted: ${[...p.changes.map((c) => c.key), ...p.bridges.map((b) => `bridge ${b.name}`)].join(', ')}`;
    const v = r.value.verdict;
    const sb = v.state === 'verified' ? 'registered' : v.state === 'missing' ? 'missing' : v.state === 'unproven' ? `unproven: ${v.why}` : `mismatched: ${v.problems.join('; ')}`;
    return [r.host, agent, sb];
  });
  const out = table(['host', 'node OVSDB', 'Southbound'], rows);
  if (why.length > 0) out.push('', 'Not reached:', ...why.map((w) => `  ${w}`));
  if (stale.length > 0) out.push('', `stale chassis in the Southbound DB that no inventory host claims: ${stale.join(', ')}`);
  return out.join('\n');
}

/** The agents as a table: version, protocol, how each runs, its unit or container, uptime, and which differ from this controller. */
export function formatAgents(results: NodeResult<AgentStatus>[], controller: string): string {
  const uptime = (s: number | undefined) => (s === undefined ? '-' : s < 120 ? `${s} s` : s < 7200 ? `${Math.round(s / 60)} min` : `${Math.round(s / 3600)} h`);
  const rows = results.map((r) => {
    if (!r.ok) return [r.host, '-', '-', '-', '-', '-', failed(r)];
    const v = r.value;
    if (v.agent === undefined) return [r.host, '-', '-', '-', v.install, '-', `no answer (${v.error?.code}): ${v.error?.message ?? ''}`];
    return [r.host, v.agent, String(v.protocol), v.serving ? 'serving' : 'one-shot', v.install, uptime(v.uptimeS), v.agent === controller ? '' : `skew: the controller is ${controller}`];
  });
  return table(['host', 'agent', 'protocol', 'runs', 'install', 'uptime', ''], rows).join('\n');
}
