import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { diff } from '../../agent/diff.js';
import { MANAGED_CMS, MANAGED_KEYS } from '../../agent/keys.js';
import { render } from '../../agent/render.js';
import type { NodeState } from '../../agent/state.js';
import { showView } from '../../agent/view.js';
import { fieldsFromNode } from '../../controller/import.js';
import { chassisConfigSchema } from '../../schemas/chassis.js';
import { configArb } from '../support/configs.js';
import { KEY_TABLE, MANAGER_SETTING, OTHER_CONFIG_SETTING, TOKEN_TABLE } from '../../schemas/keys.js';

/**
 * import(render(config)) gives back the config: a node that holds what a
 * config renders imports to a config that renders the same, so `import` then
 * `diff` is 0 — for any valid config, not only the examples (fast-check).
 */
/** The node after an apply of `c`: its keys, our tokens and the ownership record. */
function nodeHolding(c: ReturnType<typeof chassisConfigSchema.parse>): NodeState {
  const d = render(c);
  const ids = new Map(Object.entries(d.keys));
  if (d.cmsTokens.length > 0) ids.set('ovn-cms-options', d.cmsTokens.join(','));
  ids.set(MANAGED_KEYS, Object.keys(d.keys).sort().join(','));
  if (d.cmsTokens.length > 0) ids.set(MANAGED_CMS, [...d.cmsTokens].sort().join(','));
  // Settings that live beside external_ids go where a backend would put them.
  const other = new Map<string, string>();
  const managers: { uuid: string; target: string }[] = [];
  for (const [k, v] of [...ids]) {
    if (k.startsWith(OTHER_CONFIG_SETTING)) other.set(k.slice(OTHER_CONFIG_SETTING.length), v);
    else if (k.startsWith(MANAGER_SETTING)) managers.push({ uuid: `u${managers.length}`, target: k.slice(MANAGER_SETTING.length) });
    if (k.startsWith('@')) ids.delete(k);
  }
  return { externalIds: ids, otherConfig: other, ssl: undefined, managers, bridges: new Map(d.bridges.map((b) => [b.name, []])) };
}

describe('import round trip (property)', () => {
  it('the generated configs reach every key and every token kind of the key table', () => {
    const rendered = fc.sample(configArb, 400).map(render);
    const keys = new Set(rendered.flatMap((d) => Object.keys(d.keys)));
    const tokens = rendered.flatMap((d) => d.cmsTokens);
    expect(KEY_TABLE.map((r) => r.key).filter((k) => !keys.has(k))).toEqual([]);
    expect(TOKEN_TABLE.map((r) => r.path).filter((p) => !tokens.some((t) => TOKEN_TABLE.find((r) => r.path === p)?.owns(t)))).toEqual([]);
  });

  it('a node holding what any config renders imports to a config with no diff against it', () => {
    fc.assert(
      fc.property(configArb, (c) => {
        const state = nodeHolding(c);
        const imported = chassisConfigSchema.parse(fieldsFromNode(showView(state, 'test')));
        // import(render(c)) says what c says: the same keys and tokens.
        expect(render(imported).keys).toEqual(render(c).keys);
        expect(new Set(render(imported).cmsTokens)).toEqual(new Set(render(c).cmsTokens));
        const plan = diff(state, render(imported));
        expect(plan.changes).toEqual([]);
        expect(plan.write.set).toEqual({});
        expect(plan.write.remove).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });
});
