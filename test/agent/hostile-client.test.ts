import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OvsdbServer, type Spawned, alive, spawnServer, stopPid, tempDir, waitFor } from '../../sandbox/index.js';
import { AGENT_BIN, runCli } from '../support/cli.js';
import { converse as converseOn } from '../support/serving.js';

/**
 * Whoever can reach the agent's socket or its stdin may be careless or
 * hostile: the agent answers every request, keeps serving and keeps its
 * memory, whatever the request is.
 */
let server: OvsdbServer;
let daemon: Spawned;
let dir: string;
const socket = () => join(dir, 'agent.sock');
const hello = `${JSON.stringify({ id: 1, method: 'hello', params: { protocol: 1, client: 'test' } })}\n`;
const nested = `{"id":2,"method":"show","params":${'['.repeat(20_000)}${']'.repeat(20_000)}}\n`;
const show = (id: number) => `${JSON.stringify({ id, method: 'show' })}\n`;

beforeAll(async () => {
  server = await OvsdbServer.start();
  dir = tempDir('hostile-client');
  const cfg = join(dir, 'chassis.yaml');
  writeFileSync(cfg, 'systemId: hostile-1\novnRemote: tcp:192.0.2.1:6642\nencap: {ip: 192.0.2.41}\n');
  daemon = spawnServer(process.execPath, [AGENT_BIN, 'serve', '--config', cfg, '--db', server.unix, '--state-dir', dir, '--socket', socket()]);
  await waitFor(`the daemon's socket\n${daemon.output()}`, () => existsSync(socket()), 20_000);
});

afterAll(async () => {
  if (daemon && alive(daemon.pid)) await stopPid(daemon.pid);
  await server?.stop();
});

const converse = (text: string, n: number) => converseOn(socket(), text, n);

const rssKb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);

describe('the agent under a hostile client', () => {
  it('answers a 20,000-level nested request with an error and goes on serving and repairing drift', async () => {
    const answers = await converse(hello + nested + show(3), 3);
    expect(answers[1]).toMatchObject({ id: null, error: { code: 'PROTOCOL', message: 'request nests deeper than 32 levels' } });
    expect(answers[2]).toMatchObject({ id: 3, result: { managedKeys: expect.arrayContaining(['system-id']) } });
    expect(alive(daemon.pid)).toBe(true);
    server.vsctl('set', 'Open_vSwitch', '.', 'external_ids:ovn-encap-ip=10.7.7.7');
    await waitFor('drift still repaired', () => server.externalIds()['ovn-encap-ip'] === '192.0.2.41');
  });

  it('does the same on stdio (`rpc`), exiting cleanly when the input ends', async () => {
    const r = await runCli(AGENT_BIN, ['rpc', '--db', server.unix, '--state-dir', tempDir('hostile-rpc')], { input: hello + nested + show(3) });
    expect(r.code, r.stderr).toBe(0);
    const answers = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { id: unknown; error?: { message: string } });
    expect(answers.map((a) => a.id)).toEqual([1, null, 3]);
    expect(answers[1]?.error?.message).toBe('request nests deeper than 32 levels');
  });

  it('holds no more memory for a client that sends without ever reading: it stops reading that client', async () => {
    const before = rssKb(daemon.pid);
    const s = net.connect(socket());
    await new Promise((r) => s.once('connect', r));
    s.pause();
    // 40,000 requests whose answers (about 1 KB each) would be 40 MB if the agent kept them.
    const burst = hello + Array.from({ length: 40_000 }, (_, i) => show(i + 2)).join('');
    s.write(burst);
    await new Promise((r) => setTimeout(r, 3000));
    const during = rssKb(daemon.pid);
    console.log(`hostile client: daemon RSS ${Math.round(before / 1024)} MB before, ${Math.round(during / 1024)} MB with 40,000 unread answers requested`);
    expect(during - before).toBeLessThan(25 * 1024);
    // Another client is still served meanwhile.
    const other = await converse(hello + show(2), 2);
    expect(other[1]).toMatchObject({ id: 2, result: { backend: expect.any(String) } });
    s.destroy();
    expect(alive(daemon.pid)).toBe(true);
  });
});
