import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, tempDir, waitFor, Sandbox, type OvnController } from '../../sandbox/index.js';
import { CONTROLLER_BIN, nodesOf, runCli } from '../support/cli.js';
import { makePki } from '../../sandbox/index.js';

/**
 * A TLS-only Southbound (pssl with certificates made here by openssl): the
 * nodes' ovn-controllers reach it over ssl: with the SSL row the agent writes,
 * and the controller verifies over TLS with the inventory's ovn.tls.
 */
let sandbox: Sandbox;
let inventory: any;
let invPath: string;
let pkiDir: string;

beforeAll(async () => {
  pkiDir = tempDir('pki');
  const pki = makePki(pkiDir, 'sb');
  sandbox = await Sandbox.start({ gateways: 1, computes: 1, southbound: { tls: pki } });
  inventory = sandbox.inventory();
  invPath = sandbox.writeInventory();
}, 120_000);

afterAll(async () => {
  await sandbox?.stop();
});

async function ctl(args: string[], inv = invPath): Promise<{ code: number; json: any; stderr: string }> {
  const r = await runCli(CONTROLLER_BIN, [...args, '-i', inv, '--json', '--state-dir', sandbox.dir]);
  return { code: r.code, json: nodesOf(r.stdout), stderr: r.stderr };
}

const sslRow = (name: string) => {
  const n = sandbox.nodes.find((x) => x.name === name)!;
  const out = JSON.parse(n.ovsdb.vsctl('--format=json', '--data=json', '--columns=private_key,certificate,ca_cert', 'list', 'SSL')) as { data: string[][] };
  return out.data;
};

describe('a TLS-only Southbound', () => {
  it('apply writes each node\'s SSL row, ovn-controller registers over ssl:, and the controller verifies over TLS', async () => {
    expect(sandbox.southboundEndpoints[0]).toMatch(/^ssl:/);
    for (const n of sandbox.nodes) expect(sslRow(n.name)).toEqual([]);
    const r = await ctl(['apply', '--verify-timeout', '30']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.map((n: any) => [n.host, n.verdict?.state])).toEqual([['gw-1', 'verified'], ['cmp-1', 'verified']]);
    const tls = inventory.hosts['cmp-1'].ssl;
    expect(sslRow('cmp-1')).toEqual([[tls.privateKey, tls.certificate, tls.caCert]]);
    for (const n of sandbox.nodes) {
      await waitFor(`${n.name}'s ovn-controller connected over ssl`, () => new RegExp(`${sandbox.southboundEndpoints[0]}: connected`).test(readFileSync((n.controller as OvnController).log, 'utf8')));
      expect(n.controller?.exited).toBeUndefined();
    }
    const status = await ctl(['status']);
    expect(status.code, status.stderr).toBe(0);
  });

  it('refuses a Southbound whose certificate does not chain to the configured CA, with a clear error, changing nothing', async () => {
    const other = makePki(pkiDir, 'other');
    const inv = structuredClone(inventory);
    inv.ovn.tls.caCert = other.ca;
    const p = join(sandbox.dir, 'wrong-ca.yaml');
    writeFileSync(p, stringify(inv));
    const before = sandbox.nodes.map((n) => n.ovsdb.externalIds());
    for (const cmd of [['status'], ['apply']]) {
      const r = await ctl(cmd, p);
      expect(r.code).toBe(1);
      expect(r.json.error.code).toBe('UNREACHABLE');
      expect(r.json.error.message).toMatch(/cannot reach the Southbound DB .*ssl:127\.0\.0\.1:\d+.*certificate/);
      expect(r.json.error.message).not.toContain('PRIVATE KEY');
    }
    expect(sandbox.nodes.map((n) => n.ovsdb.externalIds())).toEqual(before);
  });

  it('an ssl: Southbound without ovn.tls is a validation error naming the field', async () => {
    const inv = structuredClone(inventory);
    delete inv.ovn.tls;
    const p = join(sandbox.dir, 'no-tls.yaml');
    writeFileSync(p, stringify(inv));
    const r = await runCli(CONTROLLER_BIN, ['validate', '-i', p]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/ovn\.southbound: .*ssl:127\.0\.0\.1:\d+.*ovn\.tls/);
  });

  it('rollback restores the node\'s previous SSL state (none), exactly', async () => {
    const r = await runCli(CONTROLLER_BIN, ['rollback', '-i', invPath, '--limit', 'cmp-1', '--state-dir', sandbox.dir]);
    expect(r.code, r.stderr).toBe(0);
    expect(sslRow('cmp-1')).toEqual([]);
    expect(sandbox.nodes.find((n) => n.name === 'cmp-1')!.ovsdb.externalIds()['system-id']).toBeUndefined();
    expect(run('ovs-vsctl', [`--db=${sandbox.nodes.find((n) => n.name === 'cmp-1')!.ovsdb.unix}`, 'get-ssl'])).toBe('');
  });
});
