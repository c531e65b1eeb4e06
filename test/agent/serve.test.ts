import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mutate, setKeys } from '../../ovsdb/index.js';
import { OvsdbServer, type Spawned, alive, run, spawnServer, stopPid, tempDir, waitFor } from '../../sandbox/index.js';
import { AGENT_BIN, runCli } from '../support/cli.js';

let server: OvsdbServer;
let daemon: Spawned;
let dir: string;
const socket = () => join(dir, 'agent.sock');

beforeAll(async () => {
  server = await OvsdbServer.start();
  dir = tempDir('serve');
  const cfg = join(dir, 'chassis.yaml');
  writeFileSync(cfg, 'systemId: serve-1\novnRemote: tcp:192.0.2.1:6642\nencap: {ip: 192.0.2.31}\ngateway: true\n');
  daemon = spawnServer(process.execPath, [AGENT_BIN, 'serve', '--config', cfg, '--db', server.unix, '--state-dir', dir, '--socket', socket(), '--log-json']);
  await waitFor(`the daemon's socket\n${daemon.output()}`, () => existsSync(socket()), 20_000);
});

afterAll(async () => {
  if (daemon && alive(daemon.pid)) await stopPid(daemon.pid);
  await server?.stop();
});

function events(name: string): Record<string, unknown>[] {
  return daemon
    .output()
    .split('\n')
    .filter((l) => l.includes(`"event":"${name}"`))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Says hello and sends `requests` through `ovn-chassis-agent rpc`, which relays to the serving agent. */
async function rpcLines(requests: Record<string, unknown>[]): Promise<Record<string, unknown>[]> {
  const hello = { id: 1, method: 'hello', params: { protocol: 1, client: 'test' } };
  const r = await runCli(AGENT_BIN, ['rpc', '--db', server.unix, '--state-dir', dir, '--socket', socket()], {
    input: [hello, ...requests].map((q) => `${JSON.stringify(q)}\n`).join(''),
  });
  expect(r.code, r.stderr).toBe(0);
  expect(r.stderr).toContain('relaying to the serving agent');
  return r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** The drift event that found `key` at `found`; its log line may still be in the pipe when the repair is already visible. */
const driftOf = (key: string, found: string | null) =>
  waitFor(`the drift of ${key} in the daemon log`, () => driftEvents().find((e) => e.changes.some((c) => c.key === key && c.found === found)));

function driftEvents(): { changes: { key: string; expected: string | null; found: string | null }[] }[] {
  return daemon
    .output()
    .split('\n')
    .filter((l) => l.includes('"event":"drift"'))
    .map((l) => JSON.parse(l) as { changes: { key: string; expected: string | null; found: string | null }[] });
}

describe('ovn-chassis-agent serve', () => {
  it('applies the config at start and serves RPC on a socket only its owner can open', () => {
    expect(server.externalIds()).toMatchObject({ 'system-id': 'serve-1', 'ovn-encap-ip': '192.0.2.31', 'ovn-cms-options': 'enable-chassis-as-gw' });
    expect(statSync(socket()).mode & 0o777).toBe(0o600);
  });

  it('undoes an operator\'s ovs-vsctl set of a managed key and logs the drift', async () => {
    const t0 = Date.now();
    server.vsctl('set', 'Open_vSwitch', '.', 'external_ids:ovn-encap-ip=10.9.9.9');
    await waitFor('the managed key restored', () => server.externalIds()['ovn-encap-ip'] === '192.0.2.31');
    console.log(`serve: drift on ovn-encap-ip undone ${Date.now() - t0} ms after ovs-vsctl returned`);
    expect((await driftOf('ovn-encap-ip', '10.9.9.9')).changes).toEqual([{ key: 'ovn-encap-ip', expected: '192.0.2.31', found: '10.9.9.9' }]);
  });

  it('puts back a managed key someone removed, and leaves unmanaged keys alone', async () => {
    server.vsctl('remove', 'Open_vSwitch', '.', 'external_ids', 'ovn-remote');
    server.vsctl('set', 'Open_vSwitch', '.', 'external_ids:operator-note=hello');
    await waitFor('ovn-remote restored', () => server.externalIds()['ovn-remote'] === 'tcp:192.0.2.1:6642');
    expect(server.externalIds()['operator-note']).toBe('hello');
    expect((await driftOf('ovn-remote', null)).changes.map((c) => c.key)).toEqual(['ovn-remote']);
    expect(driftEvents().flatMap((e) => e.changes.map((c) => c.key))).not.toContain('operator-note');
  });

  it('keeps running when the ovsdb-server is killed, and repairs what changed while it was down', async () => {
    await server.stop('SIGKILL');
    // Written straight into the database file while no server runs.
    const tx = ['Open_vSwitch', mutate('Open_vSwitch', [], setKeys('external_ids', { 'ovn-encap-ip': '10.6.6.6' }))];
    run('ovsdb-tool', ['transact', `${server.dir}/db0.db`, JSON.stringify(tx)]);
    await new Promise((r) => setTimeout(r, 500));
    expect(alive(daemon.pid)).toBe(true);
    await server.launch();
    await waitFor('the change made while down repaired', () => server.externalIds()['ovn-encap-ip'] === '192.0.2.31', 20_000);
    expect(alive(daemon.pid)).toBe(true);
  });

  it('answers the agent RPC on its socket', async () => {
    const replies = await new Promise<Record<string, unknown>[]>((resolve, reject) => {
      const s = net.connect(socket());
      let buf = '';
      s.on('data', (d) => {
        buf += d.toString();
        const lines = buf.trim().split('\n');
        if (lines.length === 2 && buf.endsWith('\n')) {
          s.end();
          resolve(lines.map((l) => JSON.parse(l) as Record<string, unknown>));
        }
      });
      s.on('error', reject);
      s.write(`${JSON.stringify({ id: 1, method: 'hello', params: { protocol: 1, client: 'test' } })}\n${JSON.stringify({ id: 2, method: 'show' })}\n`);
    });
    expect(replies[0]).toMatchObject({ id: 1, result: { protocol: 1 } });
    expect(replies[1]).toMatchObject({ id: 2, result: { managedKeys: expect.arrayContaining(['ovn-encap-ip', 'system-id']) } });
  });

  it('refuses a second serving agent on its socket, and a one-off apply beside it', async () => {
    const cfg = join(dir, 'other.yaml');
    writeFileSync(cfg, 'systemId: serve-1\novnRemote: tcp:192.0.2.1:6642\nencap: {ip: 192.0.2.99}\n');
    const before = server.externalIds();
    const second = await runCli(AGENT_BIN, ['serve', '--config', cfg, '--db', server.unix, '--state-dir', dir, '--socket', socket()]);
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(`another agent already serves on ${socket()}`);
    const oneOff = await runCli(AGENT_BIN, ['apply', '--config', cfg, '--db', server.unix, '--state-dir', dir, '--socket', socket()]);
    expect(oneOff.code).toBe(1);
    expect(oneOff.stderr).toContain(`an agent serves this node on ${socket()} and would undo this apply`);
    expect(server.externalIds()).toEqual(before);
    expect(alive(daemon.pid)).toBe(true);
  });

  it('an apply through `rpc` goes to the serving agent, which keeps the new config from then on', async () => {
    const config = { systemId: 'serve-1', ovnRemote: ['tcp:192.0.2.1:6642'], encap: { ip: '192.0.2.32' }, gateway: true };
    const replies = await rpcLines([{ id: 2, method: 'apply', params: { config } }]);
    expect(replies[1]).toMatchObject({ id: 2, result: { applied: true } });
    expect(JSON.parse(readFileSync(join(dir, 'desired.json'), 'utf8'))).toMatchObject({ encap: { ip: '192.0.2.32' } });
    server.vsctl('set', 'Open_vSwitch', '.', 'external_ids:ovn-encap-ip=10.9.9.8');
    await waitFor('the drift repaired to the new config', () => server.externalIds()['ovn-encap-ip'] === '192.0.2.32');
    expect((await driftOf('ovn-encap-ip', '10.9.9.8')).changes).toEqual([{ key: 'ovn-encap-ip', expected: '192.0.2.32', found: '10.9.9.8' }]);
  });

  it('a rollback through it restores the earlier values and stops it re-applying until the next apply', async () => {
    const replies = await rpcLines([{ id: 2, method: 'rollback' }]);
    expect(replies[1]).toMatchObject({ id: 2, result: { restored: { 'ovn-encap-ip': '192.0.2.31' } } });
    expect(server.externalIds()['ovn-encap-ip']).toBe('192.0.2.31');
    expect(existsSync(join(dir, 'desired.json'))).toBe(false);
    // The rollback's own write is seen (and ignored) first; then the operator's change.
    await waitFor('the rollback\'s write seen', () => events('ignored').length > 0);
    const ignoredBefore = events('ignored').length;
    server.vsctl('set', 'Open_vSwitch', '.', 'external_ids:ovn-encap-ip=10.9.9.7');
    await waitFor('the daemon to see the change', () => events('ignored').length > ignoredBefore);
    expect(server.externalIds()['ovn-encap-ip']).toBe('10.9.9.7');
  });

  it('stops cleanly on SIGTERM and removes its socket', async () => {
    const exited = new Promise<number | null>((r) => daemon.child.once('exit', (code) => r(code)));
    await stopPid(daemon.pid);
    expect(await exited).toBe(0);
    expect(existsSync(socket())).toBe(false);
  });
});
