import { describe, expect, it } from 'vitest';
import { restoreWrite } from '../../agent/apply.js';
import { mergeCms, restoreCms } from '../../agent/cms.js';
import { diff, hasChanges } from '../../agent/diff.js';
import { render } from '../../agent/render.js';
import type { NodeState } from '../../agent/state.js';
import { formatPlan, planView, showView } from '../../agent/view.js';
import { fieldsFromNode } from '../../controller/import.js';
import { chassisConfigSchema } from '../../schemas/chassis.js';

const node = (ids: Record<string, string>, ssl?: NodeState['ssl']): NodeState => ({ externalIds: new Map(Object.entries(ids)), ssl, bridges: new Map([['br-ex', []]]) });
const cfg = (over: Record<string, unknown> = {}) =>
  chassisConfigSchema.parse({ systemId: 'c1', hostname: 'cmp-1', ovnRemote: 'tcp:192.0.2.1:6642', encap: { ip: '192.0.2.11' }, ...over });

/** A node set up by Ansible (or by hand): the right values, no ownership record of ours. */
const brownfield = {
  'system-id': 'c1',
  hostname: 'cmp-1',
  'ovn-remote': 'tcp:192.0.2.1:6642',
  'ovn-encap-type': 'geneve',
  'ovn-encap-ip': '192.0.2.11',
  'ovn-bridge-mappings': 'physnet1:br-ex',
  'ovn-chassis-mac-mappings': 'physnet1:52:54:00:AB:CD:EF',
  'ovn-cms-options': 'enable-chassis-as-gw,resource_provider_bandwidths=br-ex:1000:1000',
};

describe('diff of a brownfield node', () => {
  it('import then diff is in sync, though the node holds its MACs in upper case', () => {
    const state = node(brownfield);
    const imported = chassisConfigSchema.parse(fieldsFromNode(showView(state, 'test')));
    const plan = diff(state, render(imported));
    expect(plan.changes).toEqual([]);
    expect(hasChanges(plan)).toBe(false);
  });

  it('a MAC differing only in case is no change; another MAC is', () => {
    const state = node(brownfield);
    const same = diff(state, render(cfg({ bridgeMappings: { physnet1: 'br-ex' }, gateway: true, chassisMacMappings: { physnet1: '52:54:00:ab:cd:ef' } })));
    expect(same.changes).toEqual([]);
    const other = diff(state, render(cfg({ bridgeMappings: { physnet1: 'br-ex' }, gateway: true, chassisMacMappings: { physnet1: '52:54:00:ab:cd:e0' } })));
    expect(other.changes.map((c) => c.key)).toEqual(['ovn-chassis-mac-mappings']);
  });

  it('an apply that only records ownership says it adopted the keys, not "no changes"', () => {
    const plan = diff(node(brownfield), render(cfg({ bridgeMappings: { physnet1: 'br-ex' }, gateway: true })));
    expect(plan.changes).toEqual([]);
    expect(plan.adopted).toEqual([
      'hostname', 'ovn-bridge-mappings', 'ovn-cms-options token enable-chassis-as-gw', 'ovn-encap-ip', 'ovn-encap-type', 'ovn-remote', 'system-id',
    ]);
    expect(plan.write.set['ovn-chassis-managed-keys']).toBeDefined();
    expect(formatPlan(planView(plan))).toBe('= adopted 7 keys already holding the desired value (ownership recorded): hostname, ovn-bridge-mappings, ovn-cms-options token enable-chassis-as-gw, ovn-encap-ip, ovn-encap-type, ovn-remote, system-id');
  });
});

describe('diff of the node\'s SSL row', () => {
  const row = { uuid: 'u', privateKey: '/old/k', certificate: '/old/c', caCert: '/old/ca', bootstrapCaCert: false };
  const tls = { privateKey: '/etc/ovn/k.pem', certificate: '/etc/ovn/c.pem', caCert: '/etc/ovn/ca.pem' };

  it('leaves a foreign SSL row alone while no config names one', () => {
    const plan = diff(node({}, row), render(cfg()));
    expect(plan.changes.map((c) => c.key)).not.toContain('@SSL');
    expect(plan.write.remove).not.toContain('@SSL');
  });

  it('replaces it when the config names the node\'s TLS files, and owns it from then on', () => {
    const plan = diff(node({}, row), render(cfg({ ovnRemote: 'ssl:192.0.2.1:6642', ssl: tls })));
    const change = plan.changes.find((c) => c.key === '@SSL');
    expect(change).toMatchObject({ action: 'change', from: expect.stringContaining('/old/k'), to: expect.stringContaining('/etc/ovn/k.pem') });
    expect(plan.write.set['ovn-chassis-managed-keys']?.split(',')).toContain('@SSL');
  });

  it('removes the row it owns when the config stops naming it', () => {
    const owned = node({ 'ovn-chassis-managed-keys': '@SSL' }, { uuid: 'u', ...tls, bootstrapCaCert: false });
    const plan = diff(owned, render(cfg()));
    expect(plan.changes.find((c) => c.key === '@SSL')).toMatchObject({ action: 'remove' });
    expect(plan.write.remove).toContain('@SSL');
  });

  it('with ovn-controller taking its certificates from its command line, writes no SSL row', () => {
    const plan = diff(node({}), render(cfg({ ovnRemote: 'ssl:192.0.2.1:6642', ssl: { fromCommandLine: true } })));
    expect(plan.changes.map((c) => c.key)).not.toContain('@SSL');
  });
});

describe('ovn-cms-options, token by token', () => {
  it('leaves a foreign value byte for byte when none of our tokens change', () => {
    const odd = ' resource_provider_bandwidths=br-ex:1:1 ,,card-serial-number=X ';
    expect(mergeCms(odd, [], []).value).toBe(odd);
    const plan = diff(node({ ...brownfield, 'ovn-cms-options': odd }), render(cfg({ bridgeMappings: { physnet1: 'br-ex' } })));
    expect(plan.changes.map((c) => c.key)).not.toContain('ovn-cms-options');
  });

  it('rollback takes out the tokens the apply added and puts back those it removed, and keeps what others did since', () => {
    // Before the apply: neutron's token and our old az token; the apply swapped az1 for gw; neutron then changed its own.
    const previous = 'resource_provider_bandwidths=br-ex:1:1,availability-zones=az1';
    const now = 'resource_provider_bandwidths=br-ex:2:2,enable-chassis-as-gw,resource_provider_packet_processing_without_direction=1000';
    expect(restoreCms(now, previous, ['availability-zones=az1'], ['enable-chassis-as-gw'])).toBe(
      'resource_provider_bandwidths=br-ex:2:2,resource_provider_packet_processing_without_direction=1000,availability-zones=az1',
    );
    // A token we adopted (it was there before the apply) stays.
    expect(restoreCms('enable-chassis-as-gw,x', 'enable-chassis-as-gw,x', [], ['enable-chassis-as-gw'])).toBe('enable-chassis-as-gw,x');
    // Nothing of ours moved: the value is left exactly as it is.
    expect(restoreCms(' a ,b', 'a', ['t'], ['t'])).toBe(' a ,b');
  });

  it('restoreWrite merges ovn-cms-options and puts every other key back exactly', () => {
    const state = node({ 'ovn-cms-options': 'resource_provider_x=2,enable-chassis-as-gw', 'ovn-chassis-managed-cms': 'enable-chassis-as-gw', 'ovn-encap-ip': '10.0.0.2' });
    const w = restoreWrite(state, { 'ovn-cms-options': 'resource_provider_x=1', 'ovn-chassis-managed-cms': null, 'ovn-encap-ip': '10.0.0.1' });
    expect(w.set).toEqual({ 'ovn-cms-options': 'resource_provider_x=2', 'ovn-encap-ip': '10.0.0.1' });
    expect(w.remove).toEqual(['ovn-chassis-managed-cms']);
  });
});

describe('every refusal and warning of the plan (no server)', () => {
  const withBridges = (ids: Record<string, string>, bridges: [string, string[]][]): NodeState => ({ externalIds: new Map(Object.entries(ids)), ssl: undefined, bridges: new Map(bridges) });

  it('refuses a system-id change without the flag, and warns with it', () => {
    const state = node({ 'system-id': 'old-id' });
    const refused = diff(state, render(cfg({ systemId: 'new-id' })));
    expect(refused.refusals).toEqual([expect.stringMatching(/system-id would change from old-id to new-id: .*refused without --allow-system-id-change/)]);
    const allowed = diff(state, render(cfg({ systemId: 'new-id' })), { allowSystemIdChange: true });
    expect(allowed.refusals).toEqual([]);
    expect(allowed.warnings).toEqual([expect.stringMatching(/system-id would change from old-id to new-id: .*\(allowed by --allow-system-id-change\)/)]);
  });

  it('refuses an uplink port that is already on another bridge, and adds one that is on no bridge', () => {
    const config = cfg({ bridgeMappings: { physnet1: 'br-ex' }, bridges: [{ name: 'br-ex', uplink: 'eth1' }] });
    const taken = diff(withBridges({}, [['br-ex', []], ['br-other', ['eth1']]]), render(config));
    expect(taken.refusals).toEqual(['uplink port eth1 for bridge br-ex is already on bridge br-other']);
    expect(taken.ports).toEqual([]);
    const free = diff(withBridges({}, [['br-ex', []]]), render(config));
    expect(free.refusals).toEqual([]);
    expect(free.ports).toEqual([{ bridge: 'br-ex', port: 'eth1' }]);
  });

  it('warns when a <key>-<system-id> key shadows a desired value', () => {
    const plan = diff(node({ 'ovn-encap-ip-c1': '10.0.0.9' }), render(cfg()));
    expect(plan.warnings).toContain('external_ids:ovn-encap-ip-c1="10.0.0.9" overrides ovn-encap-ip on this chassis, so the desired value will not take effect');
  });

  it('warns of keys current OVN ignores or never reads, and writes them anyway', () => {
    const plan = diff(node({}), render(cfg({ openflowProbeIntervalS: 30, ovnNb: 'tcp:192.0.2.1:6641' })));
    expect(plan.warnings).toEqual(expect.arrayContaining([
      'ovn-openflow-probe-interval is ignored by ovn-controller since OVN 24.03; it is written anyway',
      'ovn-nb is never read by ovn-controller; it is written anyway',
    ]));
    expect(plan.write.set['ovn-openflow-probe-interval']).toBe('30');
  });

  it('judges each key by the node\'s OVN version: no warning for a key that version still honours', () => {
    const config = render(cfg({ openflowProbeIntervalS: 30, ofctrlWaitBeforeClearMs: 8000, setLocalIp: true, garpMaxTimeoutSec: 60, encap: { ip: ['192.0.2.11', '192.0.2.12'], ipDefault: '192.0.2.11' } }));
    const at = (ovnVersion: string) => [...diff(node({}), config, { ovnVersion }).warnings].sort();
    expect(at('23.03.1')).toEqual([
      'garp-max-timeout-sec is read only by OVN 23.09 and later; this node runs 23.03.1; it is written anyway',
      'ovn-encap-ip-default is read only by OVN 24.09 and later; this node runs 23.03.1; it is written anyway',
    ]);
    expect(at('24.03.0')).toEqual([
      'ovn-encap-ip-default is read only by OVN 24.09 and later; this node runs 24.03.0; it is written anyway',
      'ovn-openflow-probe-interval is ignored by ovn-controller since OVN 24.03 (this node runs 24.03.0); it is written anyway',
    ]);
    expect(at('25.09.2')).toEqual([
      'ovn-ofctrl-wait-before-clear is ignored by ovn-controller since OVN 25.09 (this node runs 25.09.2); it is written anyway',
      'ovn-openflow-probe-interval is ignored by ovn-controller since OVN 24.03 (this node runs 25.09.2); it is written anyway',
      'ovn-set-local-ip is no longer read by ovn-controller since OVN 24.09 (this node runs 25.09.2); it is written anyway',
    ]);
    expect(diff(node({}), render(cfg({ garpMaxTimeoutSec: 60, encap: { ip: '192.0.2.11', dfDefault: true } })), { ovnVersion: '24.09.0' }).warnings).toEqual([]);
  });

  it('warns of an existing bridge whose datapath type or fail mode differs, unset meaning OVS\'s defaults, and never plans to change it', () => {
    const state = (datapathType: string, failMode: string): NodeState => ({ ...node({}), bridges: new Map([['br-ex', []]]), bridgeModes: new Map([['br-ex', { datapathType, failMode }]]) });
    const want = render(cfg({ bridges: [{ name: 'br-ex', datapathType: 'netdev', failMode: 'standalone' }] }));
    expect(diff(state('netdev', ''), want).warnings).toEqual([]);
    expect(diff(state('', 'standalone'), want).warnings).toEqual(['bridge br-ex exists with datapath_type unset, not netdev; an existing bridge is left as it is (change it in a maintenance window)']);
    const secure = diff(state('netdev', 'secure'), want);
    expect(secure.warnings).toEqual(['bridge br-ex exists with fail_mode secure, not standalone; an existing bridge is left as it is (change it in a maintenance window)']);
    expect(secure.bridges).toEqual([]);
  });

  it('warns when neutron\'s own QoS token sits beside the one the config owns', () => {
    const plan = diff(node({ 'ovn-cms-options': 'resource_provider_bandwidths=br-ex:1:1' }), render(cfg({ resourceProvider: { bandwidths: { 'br-ex': { egressKbps: 5, ingressKbps: 6 } } } })));
    expect(plan.warnings).toContain('ovn-cms-options also holds resource_provider_bandwidths=br-ex:1:1, not managed by ovn-chassis; neutron will see two resource_provider_bandwidths tokens');
    expect(plan.write.set['ovn-cms-options']).toBe('resource_provider_bandwidths=br-ex:1:1,resource_provider_bandwidths=br-ex:5:6');
  });

  it('warns when ovn-cms-options holds an availability-zone token of someone else beside ours', () => {
    const plan = diff(node({ 'ovn-cms-options': 'availability-zones=nova' }), render(cfg({ availabilityZones: ['az1'] })));
    expect(plan.warnings).toContain('ovn-cms-options also holds availability-zones=nova, not managed by ovn-chassis; neutron will see two availability-zones tokens');
  });
});
