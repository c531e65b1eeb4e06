import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OvsdbServer, type Spawned, configDbSchemaFile, run, startPullAgent, stopPid, tempDir, waitFor } from '../../sandbox/index.js';
import { AGENT_BIN } from '../support/cli.js';
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

function statusOf(host: string): Record<string, unknown> | undefined {
  const t = JSON.parse(run('ovsdb-client', ['-f', 'json', 'dump', configDb.unix, 'OVN_Chassis_Config', 'Status'])) as { headings: string[]; data: unknown[][] };
  const row = t.data.map((r) => Object.fromEntries(t.headings.map((h, i) => [h, r[i]]))).find((r) => r.host === host);
  return row;
}

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
