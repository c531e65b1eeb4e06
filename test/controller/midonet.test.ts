import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Sandbox } from '../../sandbox/index.js';
import { CONTROLLER_BIN, nodesOf, runCli } from '../support/cli.js';

/** Adopting MidoNet nodes: the OVN chassis keeps the identity operators know. */
let sandbox: Sandbox;
const IDS = { 'cmp-1': '2f7c1a3e-0b1d-4c5e-9f00-1a2b3c4d5e6f', 'cmp-2': '8E1B1F6C-5B63-4D7B-9C3B-2C4D5E6F7A8B' };

beforeAll(async () => {
  sandbox = await Sandbox.start({ computes: 3, gateways: 0 });
});
afterAll(async () => {
  await sandbox?.stop();
});

describe('import --from-midonet', () => {
  it('takes the MidoNet host UUID as system-id and the tunnel-zone IP as encap IP, and refuses a node without one', async () => {
    const inv = sandbox.inventory() as Record<string, any>;
    for (const n of sandbox.nodes) {
      const file = join(sandbox.dir, `${n.name}-midonet_host_id.properties`);
      const id = (IDS as Record<string, string>)[n.name];
      if (id) writeFileSync(file, `host_uuid=${id}\n`);
      inv.hosts[n.name].transport.midonetHostIdFiles = [file];
    }
    const invPath = join(sandbox.dir, 'mido.yaml');
    writeFileSync(invPath, stringify(inv));
    const tz = join(sandbox.dir, 'tunnel-zone.yaml');
    writeFileSync(tz, stringify({ [IDS['cmp-1']]: '127.0.7.1', [IDS['cmp-2'].toLowerCase()]: '127.0.7.2' }));
    const out = join(sandbox.dir, 'adopted.yaml');
    const r = await runCli(CONTROLLER_BIN, ['import', '-i', invPath, '-o', out, '--from-midonet', '--tunnel-zone', tz, '--state-dir', sandbox.dir]);
    expect(r.code).toBe(3);
    expect(r.stdout).toContain('cmp-3: FAILED (REFUSED): no MidoNet host id on the node');
    const rendered = Object.fromEntries(nodesOf<{ host: string; config: { systemId: string; encap: { ip: string } } }>((await runCli(CONTROLLER_BIN, ['render', '-i', out, '--json'])).stdout).map((n) => [n.host, n]));
    expect(rendered['cmp-1']?.config).toMatchObject({ systemId: IDS['cmp-1'], encap: { ip: '127.0.7.1' } });
    expect(rendered['cmp-2']?.config).toMatchObject({ systemId: IDS['cmp-2'].toLowerCase(), encap: { ip: '127.0.7.2' } });
    // The adopted inventory drives the migration: apply registers the chassis under the MidoNet identity.
    const applied = await runCli(CONTROLLER_BIN, ['apply', '-i', out, '--limit', 'cmp-1,cmp-2', '--state-dir', sandbox.dir, '--json']);
    expect(applied.code).toBe(0);
    expect(nodesOf<{ verdict: { state: string; systemId: string } }>(applied.stdout).map((n) => [n.verdict.state, n.verdict.systemId])).toEqual([
      ['verified', IDS['cmp-1']], ['verified', IDS['cmp-2'].toLowerCase()],
    ]);
  });

  it('says, in its result and not only in the log, when a MidoNet host is missing from the tunnel-zone file', async () => {
    const tz = join(sandbox.dir, 'partial-tz.yaml');
    writeFileSync(tz, stringify({ [IDS['cmp-1']]: '127.0.7.1' }));
    const r = await runCli(CONTROLLER_BIN, ['import', '-i', join(sandbox.dir, 'mido.yaml'), '-o', join(sandbox.dir, 'partial.yaml'), '--limit', 'cmp-1,cmp-2', '--from-midonet', '--tunnel-zone', tz, '--state-dir', sandbox.dir]);
    expect(r.code).toBe(0);
    expect(r.stdout.toLowerCase()).toContain(`cmp-2: imported\n  warning: MidoNet host ${IDS['cmp-2']} is not in ${tz}; the inventory's encap IP was kept`.toLowerCase());
    expect(r.stdout).toMatch(/cmp-1: imported\ncmp-2/);
    const json = await runCli(CONTROLLER_BIN, ['import', '-i', join(sandbox.dir, 'mido.yaml'), '-o', join(sandbox.dir, 'partial.yaml'), '--force', '--limit', 'cmp-2', '--from-midonet', '--tunnel-zone', tz, '--json', '--state-dir', sandbox.dir]);
    expect(nodesOf<{ warnings: string[] }>(json.stdout)[0]?.warnings[0]).toContain('is not in');
    expect((JSON.parse(json.stdout) as { warnings: string[] }).warnings[0]).toMatch(/^[^:]+: .*is not in/);
  });

  it('refuses a tunnel-zone file that is not UUID → IP', async () => {
    const tz = join(sandbox.dir, 'bad-tz.yaml');
    writeFileSync(tz, stringify({ 'not-a-uuid': '1.2.3.4' }));
    const invPath = sandbox.writeInventory();
    const r = await runCli(CONTROLLER_BIN, ['import', '-i', invPath, '-o', join(sandbox.dir, 'x.yaml'), '--from-midonet', '--tunnel-zone', tz, '--state-dir', sandbox.dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('not-a-uuid: "not-a-uuid" is not a MidoNet host UUID');
  });
});
