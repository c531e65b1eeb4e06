import type { Planned, PlannedChange } from '../schemas/saved-plan.js';
import type { KeyChange } from './diff.js';

const show = (v: string | null | undefined) => (v === null || v === undefined ? 'absent' : JSON.stringify(v));
const sig = (c: PlannedChange | KeyChange) => `${c.key}\u0000${c.action}\u0000${c.to ?? ''}`;

/**
 * Pure: why a saved plan no longer holds for this node — each key whose
 * value is not what the plan recorded, and each change the node would now
 * need that the plan does not say (or the reverse). Empty: apply it.
 */
export function stalePlan(now: Map<string, string>, changes: KeyChange[], planned: Planned): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(planned.expect)) {
    const cur = now.get(k) ?? null;
    if (cur !== v) out.push(`${k} was ${show(v)} when the plan was made and is ${show(cur)} now`);
  }
  const want = new Set(planned.changes.map(sig));
  const got = new Set(changes.map(sig));
  const differ = [...new Set([...planned.changes.filter((c) => !got.has(sig(c))), ...changes.filter((c) => !want.has(sig(c)))].map((c) => c.key))];
  const named = new Set(Object.keys(planned.expect).filter((k) => (now.get(k) ?? null) !== planned.expect[k]));
  const more = differ.filter((k) => !named.has(k));
  if (more.length > 0) out.push(`the plan for ${more.join(', ')} differs from what the node needs now`);
  return out;
}
