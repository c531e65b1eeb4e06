import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { OvsdbServer, type Spawned, configDbSchemaFile, makePki, run, spawnServer, startPullAgent, stopPid, tempDir, waitFor } from '../../sandbox/index.js';
import { AGENT_BIN, CONTROLLER_BIN, runCli } from '../support/cli.js';
import { RewritingProxy } from '../support/rewriting-proxy.js';

/**
 * A pulling agent whose config database sends it another host's row. A real
 * ovsdb-server honours the agent's condition (its own host only), so the
 * hostile server here is a real one behind a proxy that drops the condition:
 * every host's row reaches the agent, in the real wire format.
 */
let configDb: OvsdbServer;
let node: OvsdbServer;
let proxy: RewritingProxy;
let agent: Spawned;

const transact = (...ops: object[]) => run('ovsdb-client', ['transact', configDb.unix, JSON.stringify(['OVN_Chassis_Config', ...ops])]);
const config = (ip: string) => JSON.stringify({ systemId: 'pull-agent-1', ovnRemote: 'tcp:127.0.0.1:6642', encap: { type: 'geneve', ip } });

beforeAll(async () => {
  [configDb, node] = await Promise.all([OvsdbServer.start({ schemas: [configDbSchemaFile()] }), OvsdbServer.start()]);
  proxy = await RewritingProxy.start(configDb.unix, (msg) => {
    if (msg.method === 'monitor_cond_since' || msg.method === 'monitor_cond') {
      const reqs = msg.params?.[2] as Record<string, { where?: unknown }[]>;
      for (const r of reqs.Desired ?? []) delete r.where;
    }
  });
}, 60_000);

afterAll(async () => {
  if (agent) await stopPid(agent.pid);
  await proxy?.close();
  await Promise.all([configDb?.stop(), node?.stop()]);
});

/** A host's Status row, read with ovsdb-client (not through the tool). */
function statusOn(db: string, host: string): Record<string, unknown> | undefined {
  const t = JSON.parse(run('ovsdb-client', ['-f', 'json', 'dump', db, 'OVN_Chassis_Config', 'Status'])) as { headings: string[]; data: unknown[][] };
  return t.data.map((r) => Object.fromEntries(t.headings.map((h, i) => [h, r[i]]))).find((r) => r.host === host);
}

const statusOf = (host: string) => statusOn(configDb.unix, host);

describe('pull mode over TLS, as for the Southbound', () => {
  it('publish over ssl: with the controller\'s ovn.tls, and an agent that pulls over ssl: with its own PEM files', async () => {
    const dir = tempDir('pull-tls');
    const pki = makePki(dir, 'config-db');
    const server = await OvsdbServer.start({ schemas: [configDbSchemaFile()], ssl: { key: pki.serverKey, cert: pki.serverCert, ca: pki.ca } });
    const own = await OvsdbServer.start();
    const tls = ['--pull-ssl-key', pki.clientKey, '--pull-ssl-cert', pki.clientCert, '--pull-ssl-ca', pki.ca];
    const state = join(dir, 'state');
    const pulling = spawnServer(process.execPath, [AGENT_BIN, 'serve', '--pull', server.ssl, '--host', 'tls-1', '--db', own.unix, '--state-dir', state, ...tls]);
    try {
      const inv = join(dir, 'inventory.yaml');
      writeFileSync(inv, stringify({
        ovn: { southbound: ['tcp:127.0.0.1:6642'], tls: { privateKey: pki.clientKey, certificate: pki.clientCert, caCert: pki.ca } },
        configDb: [server.ssl],
        hosts: { 'tls-1': { address: '127.0.0.1', systemId: 'tls-1', transport: { kind: 'local' } } },
      }));
      const r = await runCli(CONTROLLER_BIN, ['publish', '-i', inv, '--json']);
      expect(r.code, r.stderr).toBe(0);
      await waitFor(`the agent to apply over TLS\n${pulling.output()}`, () => own.externalIds()['system-id'] === 'tls-1' || undefined, 30_000);
      await waitFor('its status row, written over TLS', () => statusOn(server.unix, 'tls-1')?.verdict === 'applied' || undefined, 20_000);
    } finally {
      await stopPid(pulling.pid);
      await Promise.all([server.stop(), own.stop()]);
    }
  }, 60_000);
});

describe('a pulling agent and a hostile config database', () => {
  it('refuses a row for another host, says so in its own status row, and leaves its node untouched', async () => {
    transact({ op: 'insert', table: 'Desired', row: { host: 'cmp-1', generation: 1, config: config('10.0.0.11') } }, { op: 'insert', table: 'Desired', row: { host: 'cmp-2', generation: 4, config: config('10.0.0.12') } });
    const before = node.externalIds();
    agent = startPullAgent(AGENT_BIN, { name: 'cmp-1', stateDir: tempDir('pull-agent-state'), ovsdb: { unix: node.unix } }, [proxy.endpoint]);
    const status = await waitFor(`cmp-1's status row\n${agent.output()}`, () => statusOf('cmp-1'), 20_000);
    expect(status).toMatchObject({ verdict: 'refused', generation: 4, applied: 0 });
    expect(String(status.error)).toMatch(/desired row for host "cmp-2"; this agent is cmp-1/);
    expect(statusOf('cmp-2')).toBeUndefined();
    expect(node.externalIds()).toEqual(before);
  }, 60_000);
});
