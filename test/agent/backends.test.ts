import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apply, planFor, rollback } from '../../agent/apply.js';
import { OvsdbBackend } from '../../agent/backends/ovsdb.js';
import { dockerVsctl } from '../../agent/backends/docker.js';
import { localVsctl } from '../../agent/backends/vsctl.js';
import { localNode } from '../../agent/node.js';
import { AgentError } from '../../agent/errors.js';
import { SnapshotStore } from '../../agent/snapshots.js';
import { render } from '../../agent/render.js';
import { showView } from '../../agent/view.js';
import { fieldsFromNode } from '../../controller/import.js';
import { KEY_TABLE } from '../../schemas/keys.js';
import type { Backend, NodeState } from '../../agent/state.js';
import { type ChassisConfigInput, chassisConfigSchema } from '../../schemas/chassis.js';
import { Dockerd, OvsdbServer, run, tempDir } from '../../sandbox/index.js';

/**
 * One suite, three backends: native OVSDB, a local ovs-vsctl, and ovs-vsctl
 * inside a real container through a real dockerd. Each must give the same
 * answers and leave the same end state.
 */

const base: ChassisConfigInput = {
  systemId: 'chassis-a',
  hostname: 'cmp-1',
  ovnRemote: ['tcp:192.0.2.1:6642', 'tcp:192.0.2.2:6642'],
  encap: { type: 'geneve', ip: '192.0.2.11' },
  bridgeMappings: { physnet1: 'br-ex' },
  gateway: true,
  bridges: [{ name: 'br-ex', uplink: 'eth-uplink' }],
  ovnNb: 'tcp:192.0.2.1:6641',
};
const cfg = (over: Partial<ChassisConfigInput> = {}) => chassisConfigSchema.parse({ ...base, ...over });

interface Node {
  backend: Backend;
  /** external_ids read straight from the database with ovs-vsctl, not through the backend under test. */
  ids(): Record<string, string>;
  vsctl(...args: string[]): string;
  stop(): Promise<void>;
}

type Kind = 'ovsdb' | 'vsctl' | 'docker';
const endStates: Partial<Record<Kind, { ids: Record<string, string>; diff: unknown }>> = {};

let dockerd: Dockerd | undefined;
afterAll(async () => {
  await dockerd?.stop();
});

async function makeNode(kind: Kind): Promise<Node> {
  if (kind === 'docker') {
    dockerd = await Dockerd.start();
    await dockerd.buildOvsImage();
    const runDir = join(dockerd.dir, 'ovs-run');
    await dockerd.startOvsContainer('openvswitch_vswitchd', runDir);
    const db = `unix:${runDir}/db.sock`;
    const vsctl = (...args: string[]) => run('ovs-vsctl', [`--db=${db}`, '--no-wait', ...args]).trim();
    vsctl('init');
    return {
      backend: dockerVsctl('openvswitch_vswitchd', await localNode.docker(dockerd.socketPath), dockerd.socketPath),
      ids: () => idsOf(vsctl),
      vsctl,
      stop: async () => {},
    };
  }
  const server = await OvsdbServer.start();
  const backend = kind === 'ovsdb' ? await OvsdbBackend.connect(server.unix) : localVsctl('ovs-vsctl', { ...process.env, OVS_RUNDIR: server.dir });
  return { backend, ids: () => server.externalIds(), vsctl: (...a) => server.vsctl(...a), stop: () => backend.close().then(() => server.stop()) };
}

function idsOf(vsctl: (...a: string[]) => string): Record<string, string> {
  const out = JSON.parse(vsctl('--format=json', '--data=json', '--columns=external_ids', 'list', 'Open_vSwitch')) as { data: [[string, [string, string][]]][] };
  return Object.fromEntries(out.data[0]?.[0]?.[1] ?? []);
}

function changedKeys(before: Record<string, string>, after: Record<string, string>): string[] {
  return [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((k) => before[k] !== after[k]).sort();
}

for (const kind of ['ovsdb', 'vsctl', 'docker'] as const) {
  describe(`backend: ${kind}`, () => {
    let node: Node;
    let stateDir: string;
    const opts = () => ({ stateDir });

    beforeAll(async () => {
      node = await makeNode(kind);
      stateDir = tempDir(`state-${kind}`);
      // What a live node already has: an operator's key, neutron's QoS token, ovn-controller's own keys.
      node.vsctl('set', 'Open_vSwitch', '.', 'external_ids:foo=keep', 'external_ids:ovn-cms-options=resource_provider_bandwidths=br-ex:1000:1000');
      node.vsctl('set', 'Open_vSwitch', '.', 'other_config:ovn-chassis-idx-chassis-a=1');
    }, 120_000);

    afterAll(async () => {
      await node?.stop();
    });

    it('applies to a fresh database, then diff reports no changes', async () => {
      const before = node.ids();
      const res = await apply(node.backend, cfg(), opts());
      expect(res.applied).toBe(true);
      const ids = node.ids();
      expect(ids).toMatchObject({
        'system-id': 'chassis-a',
        hostname: 'cmp-1',
        'ovn-remote': 'tcp:192.0.2.1:6642,tcp:192.0.2.2:6642',
        'ovn-encap-type': 'geneve',
        'ovn-encap-ip': '192.0.2.11',
        'ovn-bridge-mappings': 'physnet1:br-ex',
        'ovn-cms-options': 'resource_provider_bandwidths=br-ex:1000:1000,enable-chassis-as-gw',
        foo: 'keep',
      });
      expect(before.foo).toBe('keep');
      const { plan } = await planFor(node.backend, cfg());
      expect(plan.changes).toEqual([]);
      expect(plan.bridges).toEqual([]);
      expect(node.vsctl('list-ports', 'br-ex')).toBe('eth-uplink');
      expect(plan.warnings).toEqual(['ovn-nb is never read by ovn-controller; it is written anyway']);
    });

    it('a second apply changes nothing', async () => {
      const before = node.ids();
      expect((await apply(node.backend, cfg(), opts())).applied).toBe(false);
      expect(node.ids()).toEqual(before);
    });

    it('changing one field changes only that key', async () => {
      const before = node.ids();
      const { plan } = await planFor(node.backend, cfg({ encap: { ip: '192.0.2.99' } }));
      expect(plan.changes).toEqual([{ key: 'ovn-encap-ip', action: 'change', from: '192.0.2.11', to: '192.0.2.99' }]);
      await apply(node.backend, cfg({ encap: { ip: '192.0.2.99' } }), opts());
      expect(changedKeys(before, node.ids())).toEqual(['ovn-encap-ip']);
    });

    it('dropping a field removes only that key; neutron\'s cms token and unmanaged keys survive', async () => {
      const before = node.ids();
      const { ovnNb: _drop, ...rest } = base;
      await apply(node.backend, chassisConfigSchema.parse({ ...rest, encap: { ip: '192.0.2.99' } }), opts());
      const after = node.ids();
      expect(changedKeys(before, after)).toEqual(['ovn-chassis-managed-keys', 'ovn-nb']);
      expect(after['ovn-nb']).toBeUndefined();
      expect(after.foo).toBe('keep');
      await apply(node.backend, chassisConfigSchema.parse({ ...rest, gateway: false, encap: { ip: '192.0.2.99' } }), opts());
      expect(node.ids()['ovn-cms-options']).toBe('resource_provider_bandwidths=br-ex:1000:1000');
      expect(node.vsctl('get', 'Open_vSwitch', '.', 'other_config:ovn-chassis-idx-chassis-a')).toBe('"1"');
    });

    it('rollback restores the exact previous map, one apply at a time', async () => {
      const beforeLast = node.ids();
      await apply(node.backend, cfg({ encap: { ip: '192.0.2.50' }, availabilityZones: ['az1', 'az2'] }), opts());
      expect(node.ids()['ovn-cms-options']).toBe('resource_provider_bandwidths=br-ex:1000:1000,enable-chassis-as-gw,availability-zones=az1:az2');
      await rollback(node.backend, opts());
      expect(node.ids()).toEqual(beforeLast);
    });

    it('rollback puts back only our own ovn-cms-options tokens: neutron\'s changes since the apply survive', async () => {
      const before = node.ids()['ovn-cms-options'];
      await apply(node.backend, cfg({ encap: { ip: '192.0.2.50' }, availabilityZones: ['az9'] }), opts());
      const applied = node.ids()['ovn-cms-options'] as string;
      expect(applied).toContain('availability-zones=az9');
      // neutron's agent rewrites its own token after our apply.
      node.vsctl('set', 'Open_vSwitch', '.', `external_ids:ovn-cms-options="${applied.replace('resource_provider_bandwidths=br-ex:1000:1000', 'resource_provider_bandwidths=br-ex:2000:2000')}"`);
      await rollback(node.backend, opts());
      expect(node.ids()['ovn-cms-options']).toBe((before as string).replace('resource_provider_bandwidths=br-ex:1000:1000', 'resource_provider_bandwidths=br-ex:2000:2000'));
      node.vsctl('set', 'Open_vSwitch', '.', `external_ids:ovn-cms-options="${before}"`);
    });

    it('an apply killed between its snapshot and its write leaves no rollback level that changes nothing', async () => {
      const store = await SnapshotStore.open(stateDir);
      const before = node.ids();
      const count = () => readdirSync(join(stateDir, 'snapshots')).filter((f) => f.endsWith('.json')).length;
      // What a SIGKILL after the snapshot and before the commit leaves behind.
      await store.save({ version: 1, takenAt: new Date().toISOString(), backend: node.backend.description, cause: 'apply', keys: { 'ovn-encap-ip': before['ovn-encap-ip'] ?? null } });
      const n = count();
      await apply(node.backend, cfg({ encap: { ip: '192.0.2.52' } }), opts());
      expect(count()).toBe(n);
      await rollback(node.backend, opts());
      expect(node.ids()).toEqual(before);
    });

    it('detects a concurrent writer between read and write and resolves it on fresh data', async () => {
      let injected = false;
      const racing: Backend = {
        description: node.backend.description,
        read: async () => {
          const s: NodeState = await node.backend.read();
          if (!injected) {
            injected = true;
            node.vsctl('set', 'Open_vSwitch', '.', 'external_ids:ovn-cms-options=resource_provider_bandwidths=br-ex:1000:1000,written-meanwhile', 'external_ids:racer=1');
          }
          return s;
        },
        write: (e, w) => node.backend.write(e, w),
        backup: (n) => node.backend.backup(n),
        ovsVersion: () => node.backend.ovsVersion(),
        watch: (on) => node.backend.watch(on),
        close: async () => {},
      };
      const conflicts: number[] = [];
      const res = await apply(racing, cfg({ encap: { ip: '192.0.2.51' } }), { ...opts(), onConflict: (n) => conflicts.push(n) });
      expect(conflicts).toEqual([1]);
      expect(res.attempts).toBe(2);
      const ids = node.ids();
      expect(ids.racer).toBe('1');
      expect(ids['ovn-cms-options']).toBe('resource_provider_bandwidths=br-ex:1000:1000,written-meanwhile,enable-chassis-as-gw');
      expect(ids['ovn-encap-ip']).toBe('192.0.2.51');
    });

    it('writes the node\'s SSL row for an ssl: remote, owns it, and rollback puts back the row it replaced', async () => {
      const sslRow = () => {
        const out = JSON.parse(node.vsctl('--format=json', '--data=json', '--columns=private_key,certificate,ca_cert,bootstrap_ca_cert', 'list', 'SSL')) as { data: unknown[][] };
        return out.data;
      };
      // An operator's earlier set-ssl: not ours until a config names the SSL row.
      node.vsctl('set-ssl', '/etc/old/key.pem', '/etc/old/cert.pem', '/etc/old/ca.pem');
      const before = node.ids();
      const tls = cfg({
        ovnRemote: 'ssl:192.0.2.1:6642',
        ssl: { privateKey: '/etc/ovn/key.pem', certificate: '/etc/ovn/cert.pem', caCert: '/etc/ovn/ca.pem', bootstrapCaCert: true },
      });
      const { plan } = await planFor(node.backend, tls);
      expect(plan.changes.map((c) => c.key)).toEqual(expect.arrayContaining(['@SSL', 'ovn-remote']));
      expect(plan.changes[0]).toMatchObject({ action: 'change', from: expect.stringContaining('/etc/old/key.pem'), to: expect.stringContaining('/etc/ovn/key.pem') });
      await apply(node.backend, tls, opts());
      expect(sslRow()).toEqual([['/etc/ovn/key.pem', '/etc/ovn/cert.pem', '/etc/ovn/ca.pem', true]]);
      expect(node.ids()['ovn-chassis-managed-keys']?.split(',')).toContain('@SSL');
      expect((await planFor(node.backend, tls)).plan.changes).toEqual([]);

      // Someone else re-points the SSL row between our read and our write: a conflict, resolved on fresh data.
      let raced = false;
      const racing: Backend = {
        ...node.backend,
        description: node.backend.description,
        read: async () => {
          const st = await node.backend.read();
          if (!raced) {
            raced = true;
            node.vsctl('set-ssl', '/etc/racer/key.pem', '/etc/racer/cert.pem', '/etc/racer/ca.pem');
          }
          return st;
        },
        write: (e, w) => node.backend.write(e, w),
        ovsVersion: () => node.backend.ovsVersion(),
        watch: (on) => node.backend.watch(on),
        close: async () => {},
      };
      const moved = cfg({ ovnRemote: 'ssl:192.0.2.1:6642', ssl: { privateKey: '/etc/ovn/key2.pem', certificate: '/etc/ovn/cert.pem', caCert: '/etc/ovn/ca.pem' } });
      const conflicts: number[] = [];
      const res = await apply(racing, moved, { ...opts(), onConflict: (n) => conflicts.push(n) });
      expect(conflicts).toEqual([1]);
      expect(res.attempts).toBe(2);
      expect(sslRow()).toEqual([['/etc/ovn/key2.pem', '/etc/ovn/cert.pem', '/etc/ovn/ca.pem', false]]);

      // Back to tcp: the owned row is removed. Each rollback then undoes one apply.
      await apply(node.backend, cfg(), opts());
      expect(sslRow()).toEqual([]);
      await rollback(node.backend, opts());
      expect(sslRow()).toEqual([['/etc/ovn/key2.pem', '/etc/ovn/cert.pem', '/etc/ovn/ca.pem', false]]);
      await rollback(node.backend, opts());
      expect(sslRow()).toEqual([['/etc/racer/key.pem', '/etc/racer/cert.pem', '/etc/racer/ca.pem', false]]);
      await rollback(node.backend, opts());
      expect(sslRow()).toEqual([['/etc/old/key.pem', '/etc/old/cert.pem', '/etc/old/ca.pem', false]]);
      expect(node.ids()).toEqual(before);
      node.vsctl('del-ssl');
    });

    it('refuses to change a system-id without --allow-system-id-change, writing nothing', async () => {
      const before = node.ids();
      const err = await apply(node.backend, cfg({ systemId: 'chassis-b' }), opts()).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AgentError);
      expect((err as AgentError).code).toBe('REFUSED');
      expect((err as AgentError).message).toMatch(/system-id would change from chassis-a to chassis-b/);
      expect(node.ids()).toEqual(before);
    });

    it('changes it when allowed, and updates system-id.conf where the host has one', async () => {
      const conf = join(stateDir, 'system-id.conf');
      writeFileSync(conf, 'chassis-a\n');
      await apply(node.backend, cfg({ systemId: 'chassis-b', encap: { ip: '192.0.2.51' } }), {
        ...opts(), allowSystemIdChange: true, systemIdConfPath: conf,
      });
      expect(node.ids()['system-id']).toBe('chassis-b');
      expect(readFileSync(conf, 'utf8')).toBe('chassis-b\n');
      expect(existsSync(join(stateDir, 'absent.conf'))).toBe(false);
    });

    it('never deletes a bridge, and records its end state for the cross-backend check', async () => {
      await apply(node.backend, cfg({ systemId: 'chassis-b', encap: { ip: '192.0.2.51' }, bridges: [], bridgeMappings: {} }), opts());
      expect(node.vsctl('list-br')).toBe('br-ex');
      const { plan } = await planFor(node.backend, cfg({ systemId: 'chassis-b' }));
      endStates[kind] = { ids: node.ids(), diff: plan };
    });

    it('makes a bridge with the datapath type and fail mode asked for, and only warns of an existing one that differs', async () => {
      const dpdk = (failMode: 'standalone' | 'secure') =>
        cfg({ systemId: 'chassis-b', encap: { ip: '192.0.2.51' }, bridgeMappings: { physnet1: 'br-ex', physnet9: 'br-dpdk' }, bridges: [{ name: 'br-ex', uplink: 'eth-uplink' }, { name: 'br-dpdk', datapathType: 'netdev', failMode }] });
      await apply(node.backend, dpdk('standalone'), opts());
      expect(node.vsctl('get', 'Bridge', 'br-dpdk', 'datapath_type')).toBe('netdev');
      expect(node.vsctl('get', 'Bridge', 'br-dpdk', 'fail_mode')).toBe('standalone');
      const bridgeWarnings = async (c: ReturnType<typeof dpdk>) => (await planFor(node.backend, c)).plan.warnings.filter((w) => w.startsWith('bridge '));
      expect(await bridgeWarnings(dpdk('standalone'))).toEqual([]);
      expect(await bridgeWarnings(dpdk('secure'))).toEqual(['bridge br-dpdk exists with fail_mode standalone, not secure; an existing bridge is left as it is (change it in a maintenance window)']);
      const { plan } = await planFor(node.backend, dpdk('secure'));
      expect(plan.bridges).toEqual([]);
      node.vsctl('del-br', 'br-dpdk');
    });

    it('every key and token kind of the key table round-trips: render, apply, import, diff 0', async () => {
      const everything = cfg({
        systemId: 'chassis-b',
        encap: { type: ['geneve', 'vxlan'], ip: ['192.0.2.51', '192.0.2.52'], ipDefault: '192.0.2.52', csum: false, tos: 'inherit', dfDefault: true },
        integrationBridge: 'br-int2', integrationBridgeDatapathType: 'netdev', remoteProbeIntervalMs: 30000, openflowProbeIntervalS: 60,
        monitorAll: true, matchNorthdVersion: true, ofctrlWaitBeforeClearMs: 8000, isInterconn: false, setLocalIp: true,
        lflowCache: { enable: true, limit: 100000, memlimitKb: 1048576, trimLimit: 10000, trimWmarkPerc: 50, trimTimeoutMs: 30000 },
        garpMaxTimeoutSec: 16, chassisMacMappings: { physnet1: '0E:00:00:00:00:01' }, transportZones: ['tz1', 'tz2'],
        availabilityZones: ['az1', 'az2'], extportHost: true, cardSerialNumber: 'MT2113X00000',
        resourceProvider: {
          bandwidths: { 'br-ex': { egressKbps: 1000000, ingressKbps: 2000000 } }, hypervisors: 'br-ex:cmp-1',
          packetProcessingWithoutDirection: 1000, packetProcessingWithDirection: '1000:2000',
        },
        cmsOptions: ['my-token'],
        openvswitch: { hwOffload: true, dpdkInit: 'try', dpdkSocketMem: '1024,1024', dpdkLcoreMask: '0x1', pmdCpuMask: '0x6' },
        managers: ['ptcp:6640:127.0.0.1', 'punix:/run/openvswitch/extra.sock'],
      });
      await apply(node.backend, everything, opts());
      expect(node.vsctl('get', 'Open_vSwitch', '.', 'other_config:pmd-cpu-mask')).toBe('"0x6"');
      expect(node.vsctl('get-manager').split('\n').sort()).toEqual(['ptcp:6640:127.0.0.1', 'punix:/run/openvswitch/extra.sock']);
      // ovn-controller's own other_config key, written before any apply, stays.
      expect(node.vsctl('get', 'Open_vSwitch', '.', 'other_config:ovn-chassis-idx-chassis-a')).toBe('"1"');
      const rendered = render(everything);
      expect(Object.keys(rendered.keys).length).toBeGreaterThanOrEqual(KEY_TABLE.length);
      for (const [k, v] of Object.entries(rendered.keys)) if (!k.startsWith('@')) expect(node.ids()[k], k).toBe(v);
      // Dropping them from the config takes out what we own there, and only that.
      node.vsctl('set', 'Open_vSwitch', '.', 'other_config:theirs=keep');
      const imported = chassisConfigSchema.parse(fieldsFromNode(showView(await node.backend.read(), node.backend.description)));
      expect(render(imported).keys).toEqual(rendered.keys);
      // Every token of ours comes back (a token someone else wrote by hand earlier is imported too, as on any brownfield node).
      expect(render(imported).cmsTokens).toEqual(expect.arrayContaining(rendered.cmsTokens));
      const { plan } = await planFor(node.backend, imported);
      expect(plan.changes).toEqual([]);
      // neutron's own QoS token from before stays beside ours.
      expect(node.ids()['ovn-cms-options']).toContain('resource_provider_bandwidths=br-ex:1000:1000');
      await apply(node.backend, cfg({ systemId: 'chassis-b', encap: { ip: '192.0.2.51' } }), opts());
      expect(node.vsctl('get-manager')).toBe('');
      expect(node.vsctl('get', 'Open_vSwitch', '.', 'other_config')).toMatch(/^\{(?=.*ovn-chassis-idx-chassis-a="1")(?=.*theirs=keep)[^}]*\}$/);
      expect(node.vsctl('get', 'Open_vSwitch', '.', 'other_config')).not.toContain('pmd-cpu-mask');
      // And a rollback puts them back exactly.
      await rollback(node.backend, opts());
      expect(node.vsctl('get-manager').split('\n').sort()).toEqual(['ptcp:6640:127.0.0.1', 'punix:/run/openvswitch/extra.sock']);
      expect(node.vsctl('get', 'Open_vSwitch', '.', 'other_config:hw-offload')).toBe('"true"');
    });
  });
}

describe('all backends', () => {
  it('give identical diffs and identical end states for the same inputs', () => {
    expect(Object.keys(endStates).sort()).toEqual(['docker', 'ovsdb', 'vsctl']);
    expect(endStates.vsctl).toEqual(endStates.ovsdb);
    expect(endStates.docker).toEqual(endStates.ovsdb);
  });
});
