import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OvnController, OvsdbServer, run, waitFor, Sandbox, TcpProxy } from '../../sandbox/index.js';
import { CONTROLLER_BIN, nodesOf, runCli } from '../support/cli.js';

/**
 * A relay cut off from its Southbound keeps serving what it held, and the
 * relay of OVS 3.1 still says connected=true in _Server. The controller reads
 * through a real relay whose link to a real Southbound runs through a TCP
 * proxy; the link is cut (no byte passes, nothing closes) while the chassis of
 * a node is deleted at the source. Nothing read from the relay may count as
 * proof until the link is back.
 */
let sandbox: Sandbox;
let proxy: TcpProxy;
let relay: OvsdbServer;
let inventory: string;

beforeAll(async () => {
  sandbox = await Sandbox.start({ computes: 2, gateways: 0 });
  proxy = await TcpProxy.start({ path: sandbox.sb.sockPath });
  relay = await OvsdbServer.start({ dir: join(sandbox.dir, 'relay'), serve: [`relay:OVN_Southbound:tcp:127.0.0.1:${proxy.port}`], tcp: true });
  const inv = sandbox.inventory() as { ovn: Record<string, unknown> };
  inv.ovn.southbound = [relay.tcp];
  inventory = join(sandbox.dir, 'relay.yaml');
  writeFileSync(inventory, stringify(inv));
}, 60_000);

afterAll(async () => {
  await relay?.stop();
  await proxy?.stop();
  await sandbox?.stop();
});

const sbctl = (...args: string[]) => run('ovn-sbctl', [`--db=${sandbox.sb.unix}`, ...args]).trim();
const ctl = async (...args: string[]) => {
  const r = await runCli(CONTROLLER_BIN, [...args, '-i', inventory, '--json', '--state-dir', sandbox.dir]);
  return { ...r, json: nodesOf(r.stdout) as unknown };
};
type StatusJson = { nodes: { host: string; ok: boolean; verdict?: { state: string; why?: string } }[] };
type ApplyJson = { host: string; ok: boolean; error?: { code: string; message: string } }[];

describe('verification through a relay whose link to its Southbound is cut', () => {
  it('verifies through the relay while its link is whole', async () => {
    const r = await ctl('apply', '--verify-timeout', '30');
    expect(r.code, r.stderr).toBe(0);
    expect(relay.tcp).toMatch(/^tcp:/);
  }, 60_000);

  it('cut, with a chassis deleted at the source: status does not say registered, apply does not verify; healed: both prove it again', async () => {
    const cmp1 = sandbox.nodes[0]!;
    const systemId = cmp1.ovsdb.externalIds()['system-id'] as string;
    // Its ovn-controller would register the chassis again at once: stopped, so the deletion stands.
    await cmp1.controller?.stop();
    proxy.blackhole();
    sbctl('chassis-del', systemId);
    expect(sbctl('--bare', '--columns=name', 'list', 'Chassis').split('\n')).not.toContain(systemId);
    // The relay still shows it, and says it is connected.
    expect(run('ovsdb-client', ['--timeout=10', 'dump', relay.tcp, 'OVN_Southbound', 'Chassis', 'name'])).toContain(systemId);
    expect(run('ovsdb-client', ['--timeout=10', 'dump', relay.tcp, '_Server', 'Database', 'name', 'connected'])).toMatch(/true\s+OVN_Southbound/);

    const status = await ctl('status');
    expect(status.code, status.stderr).not.toBe(0);
    const mine = (status.json as StatusJson).nodes.find((n) => n.host === cmp1.name);
    expect(mine?.verdict?.state).toBe('unproven');
    expect(mine?.verdict?.why).toMatch(/could not show that it reaches its Southbound now/);
    expect((status.json as StatusJson).nodes.every((n) => n.verdict?.state !== 'verified')).toBe(true);

    const apply = await ctl('apply', '--limit', cmp1.name, '--verify-timeout', '8');
    expect(apply.code, apply.stderr).not.toBe(0);
    const failed = (apply.json as ApplyJson)[0];
    expect(failed?.error?.code).toBe('NOT_VERIFIED');
    expect(failed?.error?.message).toMatch(/not proven: the relay .* could not show that it reaches its Southbound now/);

    // Healed: the relay catches up with its source; the node's ovn-controller registers it again.
    proxy.pass();
    cmp1.controller = OvnController.start(cmp1.ovsdb.unix);
    await waitFor('the chassis registered again at the source', () => sbctl('--bare', '--columns=name', 'list', 'Chassis').split('\n').includes(systemId), 30_000);
    const again = await ctl('apply', '--verify-timeout', '40');
    expect(again.code, again.stderr).toBe(0);
    const healed = await ctl('status');
    expect(healed.code, healed.stderr).toBe(0);
    expect((healed.json as StatusJson).nodes.map((n) => n.verdict?.state)).toEqual(['verified', 'verified']);
  }, 150_000);
});
