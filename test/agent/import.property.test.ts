import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { diff } from '../../agent/diff.js';
import { MANAGED_CMS, MANAGED_KEYS } from '../../agent/keys.js';
import { render } from '../../agent/render.js';
import type { NodeState } from '../../agent/state.js';
import { showView } from '../../agent/view.js';
import { fieldsFromNode } from '../../controller/import.js';
import { chassisConfigSchema } from '../../schemas/chassis.js';
import { KEY_TABLE, MANAGER_SETTING, OTHER_CONFIG_SETTING, TOKEN_TABLE } from '../../schemas/keys.js';

/**
 * import(render(config)) gives back the config: a node that holds what a
 * config renders imports to a config that renders the same, so `import` then
 * `diff` is 0 — for any valid config, not only the examples (fast-check).
 */
const name = fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/);
const ip = fc.tuple(fc.integer({ min: 1, max: 223 }), fc.nat(255), fc.nat(255), fc.integer({ min: 1, max: 254 })).map((p) => p.join('.'));
const mac = fc.array(fc.nat(255), { minLength: 6, maxLength: 6 }).map((b) => b.map((x) => x.toString(16).padStart(2, '0')).join(':'));
const one = <T>(a: fc.Arbitrary<T>) => fc.oneof(a, fc.array(a, { minLength: 1, maxLength: 3 }));

const configArb = fc
  .record(
    {
      systemId: name,
      hostname: name,
      ovnRemote: one(ip.map((x) => `tcp:${x}:6642`)),
      ovnNb: one(ip.map((x) => `tcp:${x}:6641`)),
      encap: fc
        .record({ type: fc.constantFrom('geneve', 'vxlan', ['geneve', 'vxlan']), ip: one(ip), csum: fc.boolean(), tos: fc.oneof(fc.nat(255), fc.constant('inherit')), dfDefault: fc.boolean(), pickDefault: fc.boolean() }, { requiredKeys: ['ip', 'pickDefault'] })
        .map(({ pickDefault, ...e }) => (pickDefault ? { ...e, ipDefault: Array.isArray(e.ip) ? e.ip[0] : e.ip } : e)),
      integrationBridge: name.map((n) => `br-${n}`.slice(0, 15)),
      integrationBridgeDatapathType: fc.constantFrom('system', 'netdev'),
      openflowProbeIntervalS: fc.nat(600),
      matchNorthdVersion: fc.boolean(),
      ofctrlWaitBeforeClearMs: fc.nat(60_000),
      isInterconn: fc.boolean(),
      setLocalIp: fc.boolean(),
      lflowCache: fc.record({ enable: fc.boolean(), limit: fc.nat(), memlimitKb: fc.nat(), trimLimit: fc.nat(), trimWmarkPerc: fc.nat(100), trimTimeoutMs: fc.nat() }, { requiredKeys: [] }),
      garpMaxTimeoutSec: fc.nat(3600),
      openvswitch: fc.record(
        { hwOffload: fc.boolean(), dpdkInit: fc.constantFrom(true, false, 'try' as const), dpdkSocketMem: fc.array(fc.nat(4096), { minLength: 1, maxLength: 2 }).map((a) => a.join(',')), dpdkLcoreMask: fc.nat().map((n) => `0x${n.toString(16)}`), pmdCpuMask: fc.nat().map((n) => n.toString(16)) },
        { requiredKeys: [] },
      ),
      managers: fc.uniqueArray(fc.oneof(fc.integer({ min: 1, max: 65535 }).map((p) => `ptcp:${p}:127.0.0.1`), name.map((n) => `punix:/run/${n}.sock`)), { maxLength: 2 }),
      extportHost: fc.boolean(),
      cardSerialNumber: name.map((n) => `SN-${n}`),
      resourceProvider: fc.record(
        {
          bandwidths: fc.dictionary(name.map((n) => `br-${n}`.slice(0, 15)), fc.record({ egressKbps: fc.nat(), ingressKbps: fc.nat() }), { minKeys: 1, maxKeys: 2 }),
          hypervisors: name.map((n) => `br-ex:${n}`),
          inventoryDefaults: fc.constant('allocation_ratio:1.0;min_unit:1'),
          packetProcessingWithoutDirection: fc.nat(),
          packetProcessingWithDirection: fc.tuple(fc.nat(), fc.nat()).map(([a, b]) => `${a}:${b}`),
          packetProcessingInventoryDefaults: fc.constant('allocation_ratio:1.0'),
        },
        { requiredKeys: [] },
      ),
      bridgeMappings: fc.dictionary(name, name.map((n) => `br-${n}`.slice(0, 15)), { maxKeys: 3 }),
      gateway: fc.boolean(),
      availabilityZones: fc.array(name, { maxLength: 3 }),
      // Neutron-style tokens too (resourceProvider above, and kinds the table does not type): a config may own them.
      cmsOptions: fc.uniqueArray(fc.oneof(name.map((n) => `opt-${n}`), name.map((n) => `resource_provider_future_${n}=1`)), { maxLength: 3 }),
      remoteProbeIntervalMs: fc.nat(100_000),
      monitorAll: fc.boolean(),
      chassisMacMappings: fc.dictionary(name, mac, { maxKeys: 2 }),
      transportZones: fc.uniqueArray(name, { maxLength: 3 }),
      extraExternalIds: fc.dictionary(name.map((n) => `x-${n}`), name, { maxKeys: 2 }),
    },
    { requiredKeys: ['systemId', 'ovnRemote', 'encap'] },
  )
  .map((c) => chassisConfigSchema.safeParse(c))
  .filter((r) => r.success)
  .map((r) => r.data!);

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
