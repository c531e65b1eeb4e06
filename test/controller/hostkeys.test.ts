import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fingerprint } from '../../controller/transport/known-hosts.js';
import { Sandbox, Sshd, keygen } from '../../sandbox/index.js';
import { AGENT_BIN, CONTROLLER_BIN, nodesOf, runCli } from '../support/cli.js';

/** ovn-chassis hostkeys against a real sshd standing for two nodes. */
let sshd: Sshd;
let sandbox: Sandbox;

beforeAll(async () => {
  sshd = await Sshd.start();
  sandbox = await Sandbox.start({ computes: 2, gateways: 0 });
}, 120_000);

afterAll(async () => {
  await sandbox?.stop();
  await sshd?.stop();
});

function inventory(knownHosts: string): string {
  const inv = sandbox.inventory() as { defaults: Record<string, unknown>; hosts: Record<string, Record<string, unknown>> };
  inv.defaults.transport = { kind: 'ssh', user: 'root', port: sshd.port, privateKey: sshd.clientKey.key, knownHosts, agentCommand: [process.execPath, AGENT_BIN] };
  for (const [h, entry] of Object.entries(inv.hosts)) {
    const node = sandbox.nodes.find((n) => n.name === h)!;
    inv.hosts[h] = { ...entry, address: '127.0.0.1', encap: { ip: node.address }, transport: { stateDir: node.stateDir } };
  }
  const p = join(sshd.dir, `inventory-${knownHosts.split('/').pop()}.yaml`);
  writeFileSync(p, stringify(inv));
  return p;
}

const presented = () => fingerprint(Buffer.from(sshd.hostKey.pub.split(' ')[1] as string, 'base64'));

describe('ovn-chassis hostkeys', () => {
  it('collects an unknown key once (trust on first use, said so), after which the fleet is reached with it; again, it is already trusted', async () => {
    const file = join(sshd.dir, 'collected', 'known_hosts');
    const inv = inventory(file);
    const before = await runCli(CONTROLLER_BIN, ['diff', '-i', inv, '--json']);
    expect(nodesOf<{ error?: { code: string } }>(before.stdout).map((n) => n.error?.code)).toEqual(['HOST_KEY_UNKNOWN', 'HOST_KEY_UNKNOWN']);

    const r = await runCli(CONTROLLER_BIN, ['hostkeys', '-i', inv]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`cmp-1: ${presented()} added to ${file} (trust on first use)`);
    // Both nodes are behind one address and port: one line, not two.
    expect(readFileSync(file, 'utf8')).toBe(`${sshd.knownHostsLine()}\n`);

    const diff = await runCli(CONTROLLER_BIN, ['diff', '-i', inv, '--json']);
    expect(nodesOf<{ ok: boolean }>(diff.stdout).map((n) => n.ok)).toEqual([true, true]);

    const again = await runCli(CONTROLLER_BIN, ['hostkeys', '-i', inv, '--json']);
    expect(again.code).toBe(0);
    expect(nodesOf<{ state: string; fingerprint: string }>(again.stdout).map((n) => [n.state, n.fingerprint])).toEqual([['pinned', presented()], ['pinned', presented()]]);
    expect(JSON.parse(again.stdout)).toMatchObject({ added: 0, changed: 0, knownHosts: [file] });
    expect(readFileSync(file, 'utf8')).toBe(`${sshd.knownHostsLine()}\n`);
  });

  it('reports a changed key, naming both sides and how to replace it, and never writes it', async () => {
    const impostor = keygen(sshd.dir, 'impostor');
    const file = join(sshd.dir, 'known_hosts_old');
    writeFileSync(file, `${sshd.knownHostsLine(impostor.pub)}\n`);
    const r = await runCli(CONTROLLER_BIN, ['hostkeys', '-i', inventory(file), '--json']);
    expect(r.code).toBe(1);
    const [first] = nodesOf<{ ok: boolean; error: { code: string; message: string } }>(r.stdout);
    expect(first?.error.code).toBe('HOST_KEY_CHANGED');
    expect(first?.error.message).toContain(`presents ${presented()}, which ${file} does not list for it; not written`);
    expect(first?.error.message).toContain(`ssh-keygen -R '[127.0.0.1]:${sshd.port}' -f ${file}`);
    expect(JSON.parse(r.stdout)).toMatchObject({ added: 0, changed: 2 });
    expect(readFileSync(file, 'utf8')).toBe(`${sshd.knownHostsLine(impostor.pub)}\n`);
  });
});
