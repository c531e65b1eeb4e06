import { networkInterfaces } from 'node:os';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Sandbox, run, waitFor } from '../../sandbox/index.js';
import { CONTROLLER_BIN, nodesOf, runCli } from '../support/cli.js';
import { expectServingAgentAdopts } from '../support/serving.js';

/** A sandbox fleet of 6 nodes (2 gateways, 4 computes), each with a real ovn-controller. */
let sandbox: Sandbox;
let inventory: Record<string, unknown>;
let invPath: string;

beforeAll(async () => {
  sandbox = await Sandbox.start({ gateways: 2, computes: 4 });
  inventory = sandbox.inventory();
  invPath = sandbox.writeInventory();
}, 120_000);

afterAll(async () => {
  await sandbox?.stop();
});

type NodeView = { host: string; ok: boolean; error?: { code: string; message: string }; plan?: { inSync: boolean; changes: { key: string }[]; warnings: string[] }; verdict?: { state: string; problems?: string[] } };

async function ctl(args: string[]): Promise<{ code: number; json: NodeView[] & Record<string, unknown>; stderr: string }> {
  const r = await runCli(CONTROLLER_BIN, [...args, '--json', '--state-dir', sandbox.dir]);
  return { code: r.code, json: nodesOf<NodeView>(r.stdout), stderr: r.stderr };
}

function withInventory(name: string, edit: (inv: Record<string, any>) => void): string {
  const copy = structuredClone(inventory) as Record<string, any>;
  edit(copy);
  const p = join(sandbox.dir, name);
  writeFileSync(p, stringify(copy));
  return p;
}

const node = (name: string) => sandbox.nodes.find((n) => n.name === name)!;

describe('fleet apply, diff, status, import on 6 sandbox nodes', () => {
  it('apply converges every node and proves each chassis in the Southbound DB', async () => {
    const r = await ctl(['apply', '-i', invPath, '--verify-timeout', '30']);
    expect(r.code).toBe(0);
    expect(r.json.map((n) => [n.host, n.ok, n.verdict?.state])).toEqual(sandbox.nodes.map((n) => [n.name, true, 'verified']));
    const chassis = run('ovn-sbctl', [`--db=${sandbox.sb.unix}`, '--columns=hostname', '--bare', 'list', 'Chassis']).split('\n').filter(Boolean).sort();
    expect(chassis).toEqual(sandbox.nodes.map((n) => n.name).sort());
  });

  it('then diff exits 0', async () => {
    const r = await ctl(['diff', '-i', invPath]);
    expect(r.code).toBe(0);
    expect(r.json.every((n) => n.plan?.inSync)).toBe(true);
  });

  it('a node whose agent serves is reached through its socket, so the config it keeps becomes the applied one', async () => {
    await expectServingAgentAdopts(node('cmp-1'), invPath, async () => {
      const r = await ctl(['apply', '-i', invPath, '--limit', 'cmp-1']);
      expect(r.code, r.stderr).toBe(0);
    });
  });

  it('a change to one group\'s field shows on exactly the nodes of that group', async () => {
    const p = withInventory('az.yaml', (inv) => (inv.groups.gateway.availabilityZones = ['az1', 'az2']));
    const r = await ctl(['diff', '-i', p]);
    expect(r.code).toBe(2);
    expect(r.json.filter((n) => !n.plan?.inSync).map((n) => n.host)).toEqual(['gw-1', 'gw-2']);
    expect(r.json.find((n) => n.host === 'gw-1')?.plan?.changes).toEqual([
      { key: 'ovn-cms-options', action: 'change', from: 'enable-chassis-as-gw', to: 'enable-chassis-as-gw,availability-zones=az1:az2' },
    ]);
  });

  it('import reads the fleet back into an inventory that diffs clean', async () => {
    const out = join(sandbox.dir, 'imported.yaml');
    const imp = await runCli(CONTROLLER_BIN, ['import', '-i', invPath, '-o', out, '--state-dir', sandbox.dir]);
    expect(imp.code).toBe(0);
    expect(imp.stdout).toContain('6 of 6 hosts imported');
    const r = await ctl(['diff', '-i', out]);
    expect(r.code).toBe(0);
    const rendered = await runCli(CONTROLLER_BIN, ['render', '-i', out, '--limit', 'gw-1']);
    expect(rendered.stdout).toContain('gateway: true');
    // The groups and defaults are kept, and a host states only what differs from them.
    const doc = parse(readFileSync(out, 'utf8')) as { groups: Record<string, Record<string, unknown>>; hosts: Record<string, Record<string, unknown>> };
    expect(doc.groups.gateway?.gateway).toBe(true);
    expect(doc.hosts['gw-1']?.gateway).toBeUndefined();
    expect(doc.hosts['gw-1']?.groups).toEqual(['gateway']);
    // An existing file is never replaced without --force.
    const again = await runCli(CONTROLLER_BIN, ['import', '-i', invPath, '-o', out, '--state-dir', sandbox.dir]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`${out} exists: give --force to replace it`);
    expect((await runCli(CONTROLLER_BIN, ['import', '-i', invPath, '-o', out, '--force', '--state-dir', sandbox.dir])).code).toBe(0);
  });

  it('status flags a Southbound chassis no inventory host claims', async () => {
    run('ovn-sbctl', [`--db=${sandbox.sb.unix}`, 'chassis-add', 'stale-chassis', 'geneve', '127.0.9.99']);
    const r = await ctl(['status', '-i', invPath]);
    expect(r.code).toBe(2);
    expect(r.json.staleChassis).toEqual(['stale-chassis']);
    const human = await runCli(CONTROLLER_BIN, ['status', '-i', invPath, '--state-dir', sandbox.dir]);
    expect(human.stdout).toMatch(/gw-1\s+in sync\s+registered/);
    expect(human.stdout).toContain('stale chassis in the Southbound DB that no inventory host claims: stale-chassis');
    run('ovn-sbctl', [`--db=${sandbox.sb.unix}`, 'chassis-del', 'stale-chassis']);
  });

  it('verification catches a real mismatch: the SB reports another encap IP for a node', async () => {
    // A per-chassis override makes ovn-controller register another IP than the desired one.
    const cmp1 = node('cmp-1');
    const sysid = cmp1.ovsdb.vsctl('get', 'Open_vSwitch', '.', 'external_ids:system-id').replace(/"/g, '');
    cmp1.ovsdb.vsctl('set', 'Open_vSwitch', '.', `external_ids:ovn-encap-ip-${sysid}=127.0.9.9`);
    const sbIps = () => run('ovn-sbctl', [`--db=${sandbox.sb.unix}`, '--columns=ip', '--bare', 'find', 'Encap', `chassis_name=${sysid}`]).trim();
    await waitFor('the Southbound DB to show the overriding IP', () => sbIps() === '127.0.9.9');
    const d = await ctl(['diff', '-i', invPath, '--limit', 'cmp-1']);
    expect(d.json[0]?.plan?.warnings.join('\n')).toContain(`external_ids:ovn-encap-ip-${sysid}="127.0.9.9" overrides ovn-encap-ip`);
    const r = await ctl(['apply', '-i', invPath, '--verify-timeout', '3']);
    expect(r.code).toBe(3);
    const bad = r.json.find((n) => n.host === 'cmp-1');
    expect(bad?.ok).toBe(false);
    expect(bad?.error?.code).toBe('NOT_VERIFIED');
    expect(bad?.error?.message).toContain('the Southbound DB has geneve:127.0.9.9');
    expect(r.json.filter((n) => n.ok).map((n) => n.host)).toEqual(['gw-1', 'gw-2', 'cmp-2', 'cmp-3', 'cmp-4']);
    cmp1.ovsdb.vsctl('remove', 'Open_vSwitch', '.', 'external_ids', `ovn-encap-ip-${sysid}`);
    await waitFor('the Southbound DB to follow the desired IP again', () => sbIps() === cmp1.address);
  });

  it('an encap IP given as a network is found on the node, shown in the plan, applied and verified; an ambiguous interface is refused', async () => {
    const cmp1 = node('cmp-1');
    const sysid = cmp1.ovsdb.vsctl('get', 'Open_vSwitch', '.', 'external_ids:system-id').replace(/"/g, '');
    // 127.0.0.1 is on every machine's lo, and no sandbox node uses it.
    const p = withInventory('cidr.yaml', (inv) => {
      inv.hosts['cmp-1'].encap = { ip: { cidr: '127.0.0.1/32' } };
    });
    // render says what the inventory says, and with --resolve what the node finds.
    const offline = nodesOf<{ host: string; config: { encap: { ip: unknown } } }>((await runCli(CONTROLLER_BIN, ['render', '-i', p, '--limit', 'cmp-1', '--json'])).stdout);
    expect(offline[0]?.config.encap.ip).toEqual({ cidr: '127.0.0.1/32' });
    const asked = nodesOf<{ host: string; config: { encap: { ip: unknown } } }>((await runCli(CONTROLLER_BIN, ['render', '-i', p, '--limit', 'cmp-1', '--resolve', '--json', '--state-dir', sandbox.dir])).stdout);
    expect(asked[0]?.config.encap.ip).toEqual(['127.0.0.1']);
    const d = await ctl(['diff', '-i', p, '--limit', 'cmp-1']);
    expect(d.json[0]?.plan).toMatchObject({ resolvedEncapIp: ['127.0.0.1'], changes: [{ key: 'ovn-encap-ip', action: 'change', from: cmp1.address, to: '127.0.0.1' }] });
    const r = await ctl(['apply', '-i', p, '--limit', 'cmp-1', '--verify-timeout', '30']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json[0]?.verdict?.state).toBe('verified');
    expect(run('ovn-sbctl', [`--db=${sandbox.sb.unix}`, '--columns=ip', '--bare', 'find', 'Encap', `chassis_name=${sysid}`]).trim()).toBe('127.0.0.1');

    const lo = (networkInterfaces().lo ?? []).map((a) => a.address).filter((a) => !a.startsWith('fe80'));
    const before = cmp1.ovsdb.externalIds();
    const q = withInventory('iface.yaml', (inv) => {
      inv.hosts['cmp-1'].encap = { ip: { interface: 'lo' } };
    });
    const byIface = await ctl(['apply', '-i', q, '--limit', 'cmp-1', '--verify-timeout', '30']);
    if (lo.length > 1) {
      expect(byIface.code).toBe(1);
      expect(byIface.json[0]?.error).toMatchObject({ code: 'UNRESOLVED', message: expect.stringContaining(`interface lo has several addresses (${lo.join(', ')})`) });
      expect(cmp1.ovsdb.externalIds()).toEqual(before);
    } else {
      expect(byIface.code, byIface.stderr).toBe(0);
      expect(byIface.json[0]?.verdict?.state).toBe('verified');
    }
    expect((await ctl(['apply', '-i', invPath, '--limit', 'cmp-1', '--verify-timeout', '30'])).code).toBe(0);
  });

  it('refuses a fleet with duplicate encap IPs before touching any node', async () => {
    const before = sandbox.nodes.map((n) => n.ovsdb.externalIds());
    const p = withInventory('dup.yaml', (inv) => {
      inv.hosts['cmp-2'].address = inv.hosts['cmp-3'].address;
      inv.groups.compute.availabilityZones = ['changed'];
    });
    const r = await runCli(CONTROLLER_BIN, ['apply', '-i', p, '--state-dir', sandbox.dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`encap IP ${(inventory as any).hosts['cmp-3'].address} is used by cmp-2, cmp-3`);
    expect(r.stderr).toContain('nothing was changed');
    expect(sandbox.nodes.map((n) => n.ovsdb.externalIds())).toEqual(before);
  });

  it('a system-id change is refused without --allow-system-id-change, and with it the stranded chassis is removed', async () => {
    const sb = (...a: string[]) => run('ovn-sbctl', [`--db=${sandbox.sb.unix}`, ...a]).trim();
    const oldId = node('cmp-2').ovsdb.vsctl('get', 'Open_vSwitch', '.', 'external_ids:system-id').replace(/"/g, '');
    const p = withInventory('reid.yaml', (inv) => (inv.hosts['cmp-2'].systemId = 'cmp-2-new-identity'));
    const refused = await ctl(['apply', '-i', p, '--limit', 'cmp-2']);
    expect(refused.code).toBe(1);
    expect(refused.json[0]).toMatchObject({ ok: false, error: { code: 'REFUSED' } });
    expect(refused.json[0]?.error?.message).toContain(`system-id would change from ${oldId} to cmp-2-new-identity`);
    const r = await ctl(['apply', '-i', p, '--limit', 'cmp-2', '--allow-system-id-change', '--verify-timeout', '30']);
    expect(r.code).toBe(0);
    expect(r.json[0]?.verdict?.state).toBe('verified');
    expect(sb('--columns=name', '--bare', 'find', 'Chassis', `name=${oldId}`)).toBe('');
    expect(sb('--columns=name', '--bare', 'find', 'Chassis_Private', `name=${oldId}`)).toBe('');
    (inventory as any).hosts['cmp-2'].systemId = 'cmp-2-new-identity';
    invPath = sandbox.writeInventory();
    writeFileSync(invPath, stringify(inventory));
  });

  it('a rollback that restored a node and then failed (its rollback hook) says the node was changed: exit 3, never 1', async () => {
    const p = withInventory('rollback-hook.yaml', (inv) => {
      inv.hosts['cmp-1'].remoteProbeIntervalMs = 41000;
      inv.hosts['cmp-1'].hooks = { rollback: [{ action: 'command', argv: ['false'] }] };
    });
    expect((await ctl(['apply', '-i', p, '--limit', 'cmp-1', '--no-verify'])).code).toBe(0);
    const r = await ctl(['rollback', '-i', p, '--limit', 'cmp-1']);
    expect(r.code).toBe(3);
    expect(r.json[0]).toMatchObject({ ok: false, error: { code: 'HOOK_FAILED', changed: 'changed' } });
    expect(node('cmp-1').ovsdb.externalIds()['ovn-remote-probe-interval']).not.toBe('41000');
  });

  it('every sandbox ovn-controller is still running (verification looked at live chassis)', () => {
    expect(sandbox.nodes.map((n) => [n.name, n.controller?.exited ?? 'running'])).toEqual(sandbox.nodes.map((n) => [n.name, 'running']));
  });

  it('a dead node gives exit 3 naming it, while every other node is applied and verified', async () => {
    await node('cmp-4').ovsdb.stop();
    const p = withInventory('mtu.yaml', (inv) => (inv.defaults.remoteProbeIntervalMs = 30000));
    const r = await ctl(['apply', '-i', p, '--verify-timeout', '30', '--timeout', '10']);
    expect(r.code).toBe(3);
    const dead = r.json.find((n) => n.host === 'cmp-4');
    expect(dead).toMatchObject({ ok: false, error: { code: 'UNREACHABLE' } });
    expect(dead?.error?.message).toContain('cmp-4');
    expect(r.json.filter((n) => n.host !== 'cmp-4').every((n) => n.ok && n.verdict?.state === 'verified')).toBe(true);
    for (const n of sandbox.nodes.filter((x) => x.name !== 'cmp-4')) expect(n.ovsdb.externalIds()['ovn-remote-probe-interval']).toBe('30000');
  });
});
