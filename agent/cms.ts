import { splitList } from './keys.js';

/**
 * ovn-cms-options is one value shared with neutron (its resource_provider_*
 * tokens live there, and an operator's own): the agent edits only its own
 * tokens in it, on the way in (apply) and on the way back (rollback). A value
 * whose tokens do not change is left byte for byte as it is.
 */

/** Tokens of `current` with `drop` taken out and `add` appended where missing; the value itself when nothing moves. */
function edit(current: string | undefined, drop: Set<string>, add: string[]): string | undefined {
  const tokens = splitList(current);
  const kept = tokens.filter((t) => !drop.has(t));
  const added = add.filter((t) => !kept.includes(t));
  if (kept.length === tokens.length && added.length === 0) return current;
  const out = [...kept, ...added];
  return out.length > 0 ? out.join(',') : undefined;
}

/** apply: drop tokens we owned and no longer want, add ours, keep every other token where it stands. */
export function mergeCms(current: string | undefined, owned: string[], desired: string[]): { value: string | undefined; warnings: string[] } {
  const value = edit(current, new Set(owned.filter((t) => !desired.includes(t))), desired);
  const warnings: string[] = [];
  // A name=value token of ours beside another of the same name: neutron reads one of them, and not knowably which.
  for (const ours of desired.filter((t) => t.includes('='))) {
    const name = ours.slice(0, ours.indexOf('=') + 1);
    const theirs = splitList(value).filter((t) => t.startsWith(name) && !desired.includes(t));
    if (theirs.length > 0) warnings.push(`ovn-cms-options also holds ${theirs.join(', ')}, not managed by ovn-chassis; neutron will see two ${name.slice(0, -1)} tokens`);
  }
  return { value, warnings };
}

/**
 * rollback: undo what an apply did to our tokens only. `previous` is the value
 * before that apply, `ownedBefore`/`ownedNow` our tokens before it and now.
 * Tokens we added (and that were not there before) go; tokens we removed come
 * back; what anyone else did to the value since stays.
 */
export function restoreCms(current: string | undefined, previous: string | null, ownedBefore: string[], ownedNow: string[]): string | undefined {
  const before = splitList(previous ?? undefined);
  const added = new Set(ownedNow.filter((t) => !ownedBefore.includes(t) && !before.includes(t)));
  const removed = ownedBefore.filter((t) => !ownedNow.includes(t) && before.includes(t));
  return edit(current, added, removed);
}
