import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apply, planFor, rollback } from '../../agent/apply.js';
import { OvsdbBackend } from '../../agent/backends/ovsdb.js';
import { AgentError } from '../../agent/errors.js';
import { render } from '../../agent/render.js';
import { SnapshotStore } from '../../agent/snapshots.js';
import { type ChassisConfig, chassisConfigSchema } from '../../schemas/chassis.js';
import { OvsdbServer, tempDir } from '../../sandbox/index.js';

/**
 * Random sequences of what happens to a live node — our applies and
 * rollbacks, other tools' writes (their own keys, neutron's cms tokens),
 * drift repaired by the serving agent, an apply killed between its snapshot
 * and its write — run against a real ovsdb-server and checked after every
 * step against a small model: keys and tokens of others never change, what
 * we own equals the last applied config, and a rollback restores exactly
 * what we owned before the apply it undoes.
 */
const RUNS = Number(process.env.OVN_CHASSIS_PROPERTY_RUNS ?? 40);

const KEYS = ['system-id', 'hostname', 'ovn-remote', 'ovn-encap-type', 'ovn-encap-ip', 'ovn-remote-probe-interval', 'e-1', 'e-2'];
const OUR_TOKENS = ['enable-chassis-as-gw', 'availability-zones=az1', 'availability-zones=az1:az2', 'opt-a', 'opt-b'];

const configArb = fc
  .record({
    ip: fc.constantFrom('192.0.2.1', '192.0.2.2', '192.0.2.3'),
    gateway: fc.boolean(),
    azs: fc.constantFrom([], ['az1'], ['az1', 'az2']),
    cms: fc.subarray(['opt-a', 'opt-b']),
    extra: fc.subarray(['e-1', 'e-2']),
    probe: fc.constantFrom(undefined, 1000, 2000),
    hostname: fc.constantFrom(undefined, 'node-a'),
  })
  .map((r) =>
    chassisConfigSchema.parse({
      systemId: 'prop-1',
      ovnRemote: 'tcp:192.0.2.100:6642',
      encap: { ip: r.ip },
      ...(r.gateway ? { gateway: true } : {}),
      ...(r.azs.length ? { availabilityZones: r.azs } : {}),
      ...(r.cms.length ? { cmsOptions: r.cms } : {}),
      ...(r.extra.length ? { extraExternalIds: Object.fromEntries(r.extra.map((k) => [k, `v-${r.ip}`])) } : {}),
      ...(r.probe !== undefined ? { remoteProbeIntervalMs: r.probe } : {}),
      ...(r.hostname ? { hostname: r.hostname } : {}),
    }),
  );

type Action =
  | { kind: 'apply'; config: ChassisConfig }
  | { kind: 'rollback' }
  | { kind: 'foreign-key'; key: string; value: string | null }
  | { kind: 'neutron-token'; token: string; present: boolean }
  | { kind: 'drift-repaired'; key: string }
  | { kind: 'crash-before-write'; config: ChassisConfig };

const actionArb: fc.Arbitrary<Action> = fc.oneof(
  { weight: 4, arbitrary: configArb.map((config) => ({ kind: 'apply' as const, config })) },
  { weight: 2, arbitrary: fc.constant({ kind: 'rollback' as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('foreign-key' as const), key: fc.constantFrom('f-1', 'f-2', 'neutron:ovn-metadata-id'), value: fc.option(fc.constantFrom('x', 'y', 'z'), { nil: null }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('neutron-token' as const), token: fc.constantFrom('resource_provider_bandwidths=br-ex:1:1', 'resource_provider_packet_processing_without_direction=9'), present: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('drift-repaired' as const), key: fc.constantFrom('ovn-encap-ip', 'ovn-remote', 'ovn-encap-type') }) },
  { weight: 1, arbitrary: configArb.map((config) => ({ kind: 'crash-before-write' as const, config })) },
);

/** What we own: values of the keys any config may render, and our tokens in ovn-cms-options. */
interface Owned {
  keys: Record<string, string | undefined>;
  tokens: string[];
}

function ownedBy(config: ChassisConfig | undefined): Owned {
  if (!config) return { keys: Object.fromEntries(KEYS.map((k) => [k, undefined])), tokens: [] };
  const d = render(config);
  return { keys: Object.fromEntries(KEYS.map((k) => [k, d.keys[k]])), tokens: [...d.cmsTokens].sort() };
}

let server: OvsdbServer;
let backend: OvsdbBackend;
let steps = 0;
let runs = 0;
let counterexamples = 0;

beforeAll(async () => {
  server = await OvsdbServer.start();
  backend = await OvsdbBackend.connect(server.unix);
});

afterAll(async () => {
  await backend?.close();
  await server?.stop();
  console.log(`ownership property: ${runs} runs, ${steps} steps against a real ovsdb-server, ${counterexamples} counterexamples`);
});

function nodeView(): { owned: Owned; foreign: Record<string, string>; neutron: string[] } {
  const ids = server.externalIds();
  const cms = (ids['ovn-cms-options'] ?? '').split(',').filter(Boolean);
  const foreign = Object.fromEntries(Object.entries(ids).filter(([k]) => k.startsWith('f-') || k.startsWith('neutron:')));
  return {
    owned: { keys: Object.fromEntries(KEYS.map((k) => [k, ids[k]])), tokens: cms.filter((t) => OUR_TOKENS.includes(t)).sort() },
    foreign,
    neutron: cms.filter((t) => t.startsWith('resource_provider_')).sort(),
  };
}

describe('ownership, as a property of random histories', () => {
  it(`holds over ${RUNS} random histories`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(actionArb, { minLength: 1, maxLength: 20 }), async (actions) => {
        runs++;
        server.vsctl('clear', 'Open_vSwitch', '.', 'external_ids');
        const stateDir = tempDir('prop');
        // The model: the owned state now, the owned states an apply replaced (newest last), others' keys and tokens.
        let desired: ChassisConfig | undefined;
        let owned = ownedBy(undefined);
        const history: { owned: Owned; desired: ChassisConfig | undefined }[] = [];
        const foreign: Record<string, string> = {};
        const neutron = new Set<string>();
        for (const a of actions) {
          steps++;
          if (a.kind === 'apply') {
            const res = await apply(backend, a.config, { stateDir });
            if (res.applied) history.push({ owned, desired });
            desired = a.config;
            owned = ownedBy(a.config);
          } else if (a.kind === 'rollback') {
            const last = history.pop();
            const outcome = await rollback(backend, { stateDir }).then(() => 'restored', (e: unknown) => e);
            if (last) {
              expect(outcome).toBe('restored');
              owned = last.owned;
              desired = last.desired;
            } else {
              expect(outcome).toBeInstanceOf(AgentError);
              expect((outcome as AgentError).code).toBe('NO_SNAPSHOT');
            }
          } else if (a.kind === 'foreign-key') {
            if (a.value === null) {
              server.vsctl('--if-exists', 'remove', 'Open_vSwitch', '.', 'external_ids', `"${a.key}"`);
              delete foreign[a.key];
            } else {
              server.vsctl('set', 'Open_vSwitch', '.', `external_ids:"${a.key}"=${a.value}`);
              foreign[a.key] = a.value;
            }
          } else if (a.kind === 'neutron-token') {
            const cms = (server.externalIds()['ovn-cms-options'] ?? '').split(',').filter((t) => t && t !== a.token);
            if (a.present) cms.push(a.token);
            if (a.present) neutron.add(a.token);
            else neutron.delete(a.token);
            if (cms.length > 0) server.vsctl('set', 'Open_vSwitch', '.', `external_ids:ovn-cms-options="${cms.join(',')}"`);
            else server.vsctl('--if-exists', 'remove', 'Open_vSwitch', '.', 'external_ids', 'ovn-cms-options');
          } else if (a.kind === 'drift-repaired') {
            if (!desired) continue;
            server.vsctl('set', 'Open_vSwitch', '.', `external_ids:${a.key}=drifted`);
            await apply(backend, desired, { stateDir, cause: 'repair' });
          } else {
            // An apply killed after its snapshot, before its write: the snapshot of the current values is all it leaves.
            const { state, plan } = await planFor(backend, a.config);
            const keys = Object.fromEntries([...Object.keys(plan.write.set), ...plan.write.remove].map((k) => [k, state.externalIds.get(k) ?? null]));
            if (Object.keys(keys).length > 0) await (await SnapshotStore.open(stateDir)).save({ version: 1, takenAt: new Date().toISOString(), backend: backend.description, cause: 'apply', keys });
          }
          const now = nodeView();
          expect(now.foreign, `others' keys after ${a.kind}`).toEqual(foreign);
          expect(now.neutron, `neutron's tokens after ${a.kind}`).toEqual([...neutron].sort());
          expect(now.owned, `what we own after ${a.kind}`).toEqual(owned);
        }
      }),
      { numRuns: RUNS, endOnFailure: true },
    ).catch((err: unknown) => {
      counterexamples++;
      throw err;
    });
  });
});
