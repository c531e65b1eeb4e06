import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apply } from '../../agent/apply.js';
import { OvsdbBackend } from '../../agent/backends/ovsdb.js';
import { OvsdbClient, cond } from '../../ovsdb/index.js';
import { chassisConfigSchema } from '../../schemas/chassis.js';
import { OvnController, OvsdbServer, SB_SCHEMA, tempDir, waitFor } from '../../sandbox/index.js';

/** End to end: the agent's apply makes a real ovn-controller register the chassis in a real Southbound DB. */

let sb: OvsdbServer;
let node: OvsdbServer;
let controller: OvnController;
let backend: OvsdbBackend;
let sbClient: OvsdbClient;

beforeAll(async () => {
  sb = await OvsdbServer.start({ schemas: [SB_SCHEMA] });
  node = await OvsdbServer.start();
  controller = OvnController.start(node.unix);
  backend = await OvsdbBackend.connect(node.unix);
  sbClient = await OvsdbClient.connect({ endpoint: sb.unix });
});

afterAll(async () => {
  sbClient?.close();
  await backend?.close();
  await controller?.stop();
  await node?.stop();
  await sb?.stop();
});

describe('agent apply → ovn-controller → Southbound', () => {
  it('registers a gateway Chassis with the desired name, encap type and IP', async () => {
    node.vsctl('set', 'Open_vSwitch', '.', 'external_ids:foo=keep');
    const config = chassisConfigSchema.parse({
      systemId: 'gw-chassis-1',
      hostname: 'ctl-1',
      ovnRemote: sb.unix,
      encap: { type: 'geneve', ip: '192.0.2.21' },
      bridgeMappings: { physnet1: 'br-ex' },
      gateway: true,
    });
    await apply(backend, config, { stateDir: tempDir('e2e-state') });

    const m = await sbClient.monitor('OVN_Southbound', {
      Chassis: { columns: ['name', 'hostname', 'encaps', 'other_config'], where: [cond('name', '==', 'gw-chassis-1')] },
      Encap: { columns: ['type', 'ip', 'chassis_name'] },
    });
    const chassis = await waitFor(
      `the chassis in the SB (ovn-controller log:\n${readFileSync(controller.log, 'utf8').slice(-2000)})`,
      () => m.rows('Chassis')[0],
      30_000,
    );
    expect(chassis.hostname).toBe('ctl-1');
    const encaps = (chassis.encaps as string[]).map((u) => m.cache.rows('Encap').get(u));
    expect(encaps).toEqual([expect.objectContaining({ type: 'geneve', ip: '192.0.2.21', chassis_name: 'gw-chassis-1' })]);
    const other = chassis.other_config as Map<string, string>;
    expect(other.get('ovn-cms-options')).toBe('enable-chassis-as-gw');
    expect(other.get('ovn-bridge-mappings')).toBe('physnet1:br-ex');
    await m.cancel();
  });

  it('keeps every key ovn-controller and others wrote through a further apply', async () => {
    // ovn-controller has created br-int and written its own keys by now.
    await waitFor('br-int created by ovn-controller', () => node.vsctl('list-br').split('\n').includes('br-int'));
    const ownKeys = node.vsctl('get', 'Bridge', 'br-int', 'external_ids');
    const before = node.externalIds();
    const config = chassisConfigSchema.parse({
      systemId: 'gw-chassis-1', hostname: 'ctl-1', ovnRemote: sb.unix,
      encap: { type: 'geneve', ip: '192.0.2.22' }, bridgeMappings: { physnet1: 'br-ex' }, gateway: true,
    });
    await apply(backend, config, { stateDir: tempDir('e2e-state') });
    const after = node.externalIds();
    expect(after.foo).toBe('keep');
    for (const [k, v] of Object.entries(before)) if (k !== 'ovn-encap-ip') expect(after[k]).toBe(v);
    expect(node.vsctl('get', 'Bridge', 'br-int', 'external_ids')).toBe(ownKeys);
    const m = await sbClient.monitor('OVN_Southbound', { Encap: { columns: ['ip', 'chassis_name'] } });
    await waitFor('the SB to follow the new encap IP', () => m.rows('Encap').some((e) => e.ip === '192.0.2.22' && e.chassis_name === 'gw-chassis-1'), 30_000);
    await m.cancel();
  });

  it('registers with an integration bridge of another name and a tunnel ToS (ovn-bridge, ovn-encap-tos)', async () => {
    const config = chassisConfigSchema.parse({
      systemId: 'gw-chassis-1', hostname: 'ctl-1', ovnRemote: sb.unix,
      encap: { type: 'geneve', ip: '192.0.2.23', tos: 32 }, bridgeMappings: { physnet1: 'br-ex' }, gateway: true,
      integrationBridge: 'br-ovn',
    });
    await apply(backend, config, { stateDir: tempDir('e2e-state') });
    expect(node.externalIds()).toMatchObject({ 'ovn-bridge': 'br-ovn', 'ovn-encap-tos': '32' });
    // ovn-controller makes the integration bridge it is told to use, in secure fail mode.
    await waitFor(`br-ovn created by ovn-controller (log:\n${readFileSync(controller.log, 'utf8').slice(-2000)})`, () => node.vsctl('list-br').split('\n').includes('br-ovn'), 30_000);
    expect(node.vsctl('get', 'Bridge', 'br-ovn', 'fail_mode')).toBe('secure');
    const m = await sbClient.monitor('OVN_Southbound', { Encap: { columns: ['ip', 'chassis_name'] } });
    await waitFor('the chassis registered with its new encap', () => m.rows('Encap').some((e) => e.ip === '192.0.2.23' && e.chassis_name === 'gw-chassis-1'), 30_000);
    await m.cancel();
  });
});
