import fc from 'fast-check';
import { type ChassisConfig, chassisConfigSchema } from '../../schemas/chassis.js';

/**
 * Chassis configs for property tests: every field of the schema, each with
 * values a node can hold (fast-check), so a field added to the schema and not
 * here is caught by the coverage checks of the tests that use them.
 */
export const name = fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/);
const ip = fc.tuple(fc.integer({ min: 1, max: 223 }), fc.nat(255), fc.nat(255), fc.integer({ min: 1, max: 254 })).map((p) => p.join('.'));
const mac = fc.array(fc.nat(255), { minLength: 6, maxLength: 6 }).map((b) => b.map((x) => x.toString(16).padStart(2, '0')).join(':'));
const one = <T>(a: fc.Arbitrary<T>) => fc.oneof(a, fc.array(a, { minLength: 1, maxLength: 3 }));

const keyFields = {
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
  managers: fc.uniqueArray(fc.oneof(fc.integer({ min: 1, max: 65535 }).map((p) => `ptcp:${p}:127.0.0.1`), name.map((n) => `punix:/run/openvswitch/${n}.sock`)), { maxLength: 2 }),
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
};

const valid = (a: fc.Arbitrary<Record<string, unknown>>): fc.Arbitrary<ChassisConfig> =>
  a.map((c) => chassisConfigSchema.safeParse(c)).filter((r) => r.success).map((r) => r.data as ChassisConfig);

const required = { requiredKeys: ['systemId', 'ovnRemote', 'encap'] as ('systemId' | 'ovnRemote' | 'encap')[] };

/** Every field that becomes a key or a cms token. */
export const configArb = valid(fc.record(keyFields, required));

const bridge = fc.record(
  { name: name.map((n) => `br-${n}`.slice(0, 15)), uplink: name.map((n) => `up-${n}`.slice(0, 15)), datapathType: fc.constantFrom('system' as const, 'netdev' as const), failMode: fc.constantFrom('standalone' as const, 'secure' as const) },
  { requiredKeys: ['name'] },
);
const path = name.map((n) => `/etc/ovn/${n}.pem`);

/** And the rest: bridges (with every option) and the node's SSL row. */
export const everyFieldArb = valid(
  fc.record(
    {
      ...keyFields,
      bridges: fc.uniqueArray(bridge, { maxLength: 3, selector: (b) => b.name }),
      ssl: fc.record({ privateKey: path, certificate: path, caCert: path, bootstrapCaCert: fc.boolean() }, { requiredKeys: ['privateKey', 'certificate', 'caCert'] }),
    },
    required,
  ),
);
