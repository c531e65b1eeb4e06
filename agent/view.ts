import { MANAGER_SETTING, OTHER_CONFIG_SETTING } from '../schemas/keys.js';
import { byCodeUnit } from '../common/text.js';
import type { PlanView, ShowResult } from '../schemas/rpc.js';
import { type Plan, hasChanges } from './diff.js';
import { CMS_OPTIONS, MANAGED_CMS, MANAGED_KEYS, SSL_KEY, splitList } from './keys.js';
import { type NodeState, settingsOf } from './state.js';

export function planView(plan: Plan): PlanView {
  return {
    inSync: !hasChanges(plan),
    changes: plan.changes,
    bridges: plan.bridges,
    ports: plan.ports,
    warnings: plan.warnings,
    adopted: plan.adopted,
    refusals: plan.refusals,
    ...(plan.resolvedEncapIp ? { resolvedEncapIp: plan.resolvedEncapIp } : {}),
  };
}

export function showView(state: NodeState, backend: string): ShowResult {
  const ssl = state.ssl;
  return {
    backend,
    externalIds: Object.fromEntries([...state.externalIds].sort(([a], [b]) => byCodeUnit(a, b))),
    ...(ssl ? { ssl: { privateKey: ssl.privateKey, certificate: ssl.certificate, caCert: ssl.caCert, bootstrapCaCert: ssl.bootstrapCaCert } } : {}),
    otherConfig: Object.fromEntries([...(state.otherConfig ?? [])].sort(([a], [b]) => byCodeUnit(a, b))),
    managers: (state.managers ?? []).map((m) => m.target).sort(),
    managedKeys: splitList(state.externalIds.get(MANAGED_KEYS)),
    managedCmsTokens: splitList(state.externalIds.get(MANAGED_CMS)),
    bridges: Object.fromEntries(state.bridges),
  };
}

/** Every setting the agent may own, by name, as `show` reports them (named as settingsOf names them). */
export function showSettings(s: ShowResult): Record<string, string> {
  return Object.fromEntries(settingsOf({
    externalIds: new Map(Object.entries(s.externalIds)),
    otherConfig: new Map(Object.entries(s.otherConfig)),
    ssl: s.ssl ? { uuid: '', ...s.ssl } : undefined,
    managers: s.managers.map((target) => ({ uuid: '', target })),
    bridges: new Map(),
  }));
}

/** A plan as an operator reads it, like terraform plan: + add, ~ change, - remove. */
export function formatPlan(p: PlanView, indent = ''): string {
  const lines: string[] = [];
  for (const c of p.changes) {
    if (c.action === 'add') lines.push(`+ ${c.key} = ${c.to}`);
    else if (c.action === 'change') lines.push(`~ ${c.key}: ${c.from} -> ${c.to}`);
    else lines.push(`- ${c.key}`);
  }
  for (const b of p.bridges) {
    const how = [b.uplink ? `uplink ${b.uplink}` : '', b.datapathType ? `datapath ${b.datapathType}` : '', b.failMode ? `fail mode ${b.failMode}` : ''].filter(Boolean);
    lines.push(`+ bridge ${b.name}${how.length > 0 ? ` (${how.join(', ')})` : ''}`);
  }
  for (const port of p.ports) lines.push(`+ port ${port.port} on bridge ${port.bridge}`);
  if (p.resolvedEncapIp) lines.push(`= encap IP found on the node: ${p.resolvedEncapIp.join(', ')}`);
  if (p.adopted.length > 0) lines.push(`= adopted ${p.adopted.length} ${p.adopted.length === 1 ? 'key' : 'keys'} already holding the desired value (ownership recorded): ${p.adopted.join(', ')}`);
  for (const w of p.warnings) lines.push(`! warning: ${w}`);
  for (const r of p.refusals) lines.push(`! refused: ${r}`);
  if (lines.length === 0) lines.push('no changes');
  return lines.map((l) => `${indent}${l}`).join('\n');
}

export function formatShow(s: ShowResult): string {
  const managed = new Set(s.managedKeys);
  const cms = new Set(s.managedCmsTokens);
  const lines = [`backend: ${s.backend}`, 'external_ids:'];
  for (const [k, v] of Object.entries(s.externalIds)) {
    if (k === MANAGED_KEYS || k === MANAGED_CMS) continue;
    let note = managed.has(k) ? '  (managed)' : '';
    if (k === CMS_OPTIONS) {
      const mine = splitList(v).filter((t) => cms.has(t));
      if (mine.length > 0) note = `  (managed tokens: ${mine.join(', ')})`;
    }
    lines.push(`  ${k} = ${v}${note}`);
  }
  if (s.ssl) {
    const note = managed.has(SSL_KEY) ? '  (managed)' : '';
    lines.push(`SSL: private_key=${s.ssl.privateKey} certificate=${s.ssl.certificate} ca_cert=${s.ssl.caCert}${s.ssl.bootstrapCaCert ? ' (bootstrap)' : ''}${note}`);
  }
  if (Object.keys(s.otherConfig).length > 0) {
    lines.push('other_config:');
    for (const [k, v] of Object.entries(s.otherConfig)) lines.push(`  ${k} = ${v}${managed.has(`${OTHER_CONFIG_SETTING}${k}`) ? '  (managed)' : ''}`);
  }
  for (const m of s.managers) lines.push(`Manager: ${m}${managed.has(`${MANAGER_SETTING}${m}`) ? '  (managed)' : ''}`);
  lines.push('bridges:');
  for (const [b, ports] of Object.entries(s.bridges)) lines.push(`  ${b}: ${ports.join(', ') || '(no ports)'}`);
  return lines.join('\n');
}
