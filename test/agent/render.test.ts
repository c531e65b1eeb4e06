import { describe, expect, it } from 'vitest';
import { diff } from '../../agent/diff.js';
import { render } from '../../agent/render.js';
import type { NodeState } from '../../agent/state.js';
import { formatPlan, planView } from '../../agent/view.js';
import { chassisConfigSchema } from '../../schemas/chassis.js';

/** render and formatPlan, with no server: what a config writes, and how a plan reads to an operator. */

const cfg = (over: Record<string, unknown> = {}) =>
  chassisConfigSchema.parse({ systemId: 'c1', hostname: 'cmp-1', ovnRemote: ['tcp:192.0.2.1:6642', 'tcp:192.0.2.2:6642'], encap: { ip: '192.0.2.11' }, ...over });
const empty: NodeState = { externalIds: new Map(), ssl: undefined, bridges: new Map() };

describe('render', () => {
  it('writes the required keys, lists joined with commas, and the default encap type', () => {
    expect(render(cfg()).keys).toEqual({
      'system-id': 'c1', hostname: 'cmp-1', 'ovn-remote': 'tcp:192.0.2.1:6642,tcp:192.0.2.2:6642', 'ovn-encap-type': 'geneve', 'ovn-encap-ip': '192.0.2.11',
    });
  });

  it('writes booleans as true/false, maps as key:value pairs, MACs in lower case', () => {
    const d = render(cfg({ monitorAll: false, bridgeMappings: { physnet1: 'br-ex', physnet2: 'br-2' }, chassisMacMappings: { physnet1: '0E:00:00:00:00:AA' } }));
    expect(d.keys).toMatchObject({ 'ovn-monitor-all': 'false', 'ovn-bridge-mappings': 'physnet1:br-ex,physnet2:br-2', 'ovn-chassis-mac-mappings': 'physnet1:0e:00:00:00:00:aa' });
  });

  it('writes no key for an empty map or list, rather than an empty value', () => {
    const d = render(cfg({ bridgeMappings: {}, transportZones: [], chassisMacMappings: {}, availabilityZones: [] }));
    expect(d.keys['ovn-bridge-mappings']).toBeUndefined();
    expect(d.keys['ovn-transport-zones']).toBeUndefined();
    expect(d.cmsTokens).toEqual([]);
  });

  it('writes cms tokens in table order, availability zones joined with colons, typed QoS tokens, then the extra ones', () => {
    const d = render(cfg({
      gateway: true, extportHost: true, availabilityZones: ['az1', 'az2'],
      resourceProvider: { bandwidths: { 'br-ex': { egressKbps: 1000, ingressKbps: 2000 }, 'br-2': { egressKbps: 3, ingressKbps: 4 } } },
      cmsOptions: ['my-token'],
    }));
    expect(d.cmsTokens).toEqual(['enable-chassis-as-gw', 'enable-chassis-as-extport-host', 'availability-zones=az1:az2', 'resource_provider_bandwidths=br-ex:1000:2000;br-2:3:4', 'my-token']);
  });

  it('makes the bridges of the mappings when no bridges are listed, each once', () => {
    expect(render(cfg({ bridgeMappings: { a: 'br-ex', b: 'br-ex', c: 'br-2' } })).bridges).toEqual([{ name: 'br-ex' }, { name: 'br-2' }]);
    expect(render(cfg({ bridgeMappings: { a: 'br-ex' }, bridges: [{ name: 'br-ex', uplink: 'eth1' }] })).bridges).toEqual([{ name: 'br-ex', uplink: 'eth1' }]);
  });

  it('writes extra external_ids as given, and the SSL row as one owned setting', () => {
    const d = render(cfg({ extraExternalIds: { 'x-site': 'dc1' }, ovnRemote: 'ssl:192.0.2.1:6642', ssl: { privateKey: '/k', certificate: '/c', caCert: '/ca' } }));
    expect(d.keys['x-site']).toBe('dc1');
    expect(JSON.parse(d.keys['@SSL'] as string)).toEqual({ private_key: '/k', certificate: '/c', ca_cert: '/ca', bootstrap_ca_cert: false });
  });
});

describe('formatPlan', () => {
  it('reads like terraform plan: + add, ~ change, - remove, bridges and ports', () => {
    const state: NodeState = {
      externalIds: new Map([['hostname', 'old'], ['ovn-monitor-all', 'true'], ['ovn-chassis-managed-keys', 'hostname,ovn-monitor-all']]),
      ssl: undefined,
      bridges: new Map([['br-2', []]]),
    };
    const text = formatPlan(planView(diff(state, render(cfg({ bridgeMappings: { p: 'br-ex' }, bridges: [{ name: 'br-ex' }, { name: 'br-2', uplink: 'eth2' }, { name: 'br-dp', uplink: 'dp0', datapathType: 'netdev', failMode: 'secure' }] })))));
    expect(text.split('\n')).toEqual([
      '~ hostname: old -> cmp-1',
      '+ ovn-bridge-mappings = p:br-ex',
      '+ ovn-encap-ip = 192.0.2.11',
      '+ ovn-encap-type = geneve',
      '- ovn-monitor-all',
      '+ ovn-remote = tcp:192.0.2.1:6642,tcp:192.0.2.2:6642',
      '+ system-id = c1',
      '+ bridge br-ex',
      '+ bridge br-dp (uplink dp0, datapath netdev, fail mode secure)',
      '+ port eth2 on bridge br-2',
    ]);
  });

  it('says "no changes" for a node in sync, and shows warnings and refusals', () => {
    const d = render(cfg());
    const inSync: NodeState = { externalIds: new Map([...Object.entries(d.keys), ['ovn-chassis-managed-keys', Object.keys(d.keys).sort().join(',')]]), ssl: undefined, bridges: new Map() };
    expect(formatPlan(planView(diff(inSync, d)))).toBe('no changes');
    const other = formatPlan(planView(diff({ ...inSync, externalIds: new Map([...inSync.externalIds, ['system-id', 'other']]) }, render(cfg({ ovnNb: 'tcp:192.0.2.1:6641' })))), '  ');
    expect(other).toContain('  ! warning: ovn-nb is never read by ovn-controller; it is written anyway');
    expect(other).toContain('  ! refused: system-id would change from other to c1');
  });

  it('renders an empty node\'s plan with every key added', () => {
    expect(formatPlan(planView(diff(empty, render(cfg())))).split('\n').every((l) => l.startsWith('+ '))).toBe(true);
  });
});
