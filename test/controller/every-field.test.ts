import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RpcSession, openBackend } from '../../agent/index.js';
import { readRecords } from '../../controller/journal.js';
import { AgentClient } from '../../controller/transport/client.js';
import { type ChassisConfig, chassisConfigSchema } from '../../schemas/chassis.js';
import { OvsdbServer, SB_SCHEMA, run, tempDir, Sshd } from '../../sandbox/index.js';
import { AGENT_BIN, CONTROLLER_BIN, nodesOf, runCli } from '../support/cli.js';
import { everyFieldArb } from '../support/configs.js';

/**
 * Every field of the chassis config goes through the controller's diff and
 * apply over each transport (local, SSH to the node's agent, direct) and must
 * give the same answer and end state as the agent's logic called in-process.
 * A field the agent protocol does not carry fails here, wherever it breaks.
 */

let server: OvsdbServer;
let southbound: OvsdbServer;
let sshd: Sshd;
let dir: string;

beforeAll(async () => {
  dir = tempDir('every-field');
  [server, southbound, sshd] = await Promise.all([OvsdbServer.start(), OvsdbServer.start({ schemas: [SB_SCHEMA] }), Sshd.start()]);
  writeFileSync(join(sshd.dir, 'known_hosts'), `${sshd.knownHostsLine()}\n`);
}, 60_000);

afterAll(async () => {
  await Promise.all([server?.stop(), southbound?.stop(), sshd?.stop()]);
});

const vsctl = (...args: string[]) => run('ovs-vsctl', [`--db=${server.unix}`, '--no-wait', ...args]).trim();

/** Everything a config can reach, read with ovs-vsctl: keys, other_config, managers, the SSL row and every bridge with its ports and options. */
function nodeState(): unknown {
  const table = (t: string, cols: string) => JSON.parse(vsctl('--format=json', '--data=json', `--columns=${cols}`, 'list', t)) as { data: unknown[][] };
  const ovs = table('Open_vSwitch', 'external_ids,other_config').data[0];
  const bridges = vsctl('list-br').split('\n').filter(Boolean).map((b) => ({
    name: b,
    ports: vsctl('list-ports', b).split('\n').filter(Boolean),
    datapathType: vsctl('get', 'Bridge', b, 'datapath_type'),
    failMode: vsctl('get', 'Bridge', b, 'fail_mode'),
  }));
  return { ovs, managers: vsctl('get-manager').split('\n').filter(Boolean).sort(), ssl: table('SSL', 'private_key,certificate,ca_cert,bootstrap_ca_cert').data, bridges };
}

/** The node as an operator found it: someone else's key, no bridges, no SSL row, no managers. */
function reset(): void {
  for (const b of vsctl('list-br').split('\n').filter(Boolean)) vsctl('del-br', b);
  vsctl('clear', 'Open_vSwitch', '.', 'external_ids', 'other_config', 'ssl', 'manager_options');
  vsctl('set', 'Open_vSwitch', '.', 'external_ids:foreign-key=keep');
}

type Transport = 'local' | 'ssh-agent' | 'ssh-direct';

function inventory(name: string, transport: Transport, stateDir: string, config: ChassisConfig): string {
  const t = transport === 'local'
    ? { kind: 'local', stateDir }
    : {
      kind: 'ssh', user: 'root', port: sshd.port, privateKey: sshd.clientKey.key, knownHosts: join(sshd.dir, 'known_hosts'), connectTimeoutS: 10, stateDir,
      via: transport === 'ssh-direct' ? 'direct' : 'agent', agentCommand: [process.execPath, AGENT_BIN],
    };
  const p = join(dir, `${name}.yaml`);
  // The config is the host's own: its hostname is said in it, as the controller would otherwise default it to the inventory name.
  writeFileSync(p, stringify({ ovn: { southbound: [southbound.unix] }, hosts: { node: { address: '127.0.0.1', transport: t, agent: { backend: 'ovsdb', db: server.unix }, hostname: 'node', ...config } } }));
  return p;
}

/** What an answer says, without what differs by nature between runs (timings, snapshot names). */
const essence = (v: unknown): unknown => JSON.parse(JSON.stringify(v ?? null, (k, x: unknown) => (k === 'ms' || k === 'snapshot' ? undefined : x)));

interface Outcome {
  diffCode: number;
  plan: unknown;
  applyCode: number;
  applied: unknown;
  after: unknown;
  againCode: number;
}

async function throughController(transport: Transport, config: ChassisConfig, i: number): Promise<Outcome> {
  reset();
  const inv = inventory(`${transport}-${i}`, transport, join(tempDir(`every-field-${transport}`), 'state'), config);
  const ctl = async (args: string[]) => {
    const r = await runCli(CONTROLLER_BIN, [...args, '-i', inv, '--json', '--state-dir', dir]);
    const nodes = (() => {
      try {
        return nodesOf<{ ok: boolean; plan?: unknown; error?: unknown }>(r.stdout);
      } catch {
        return [];
      }
    })();
    return { code: r.code, node: nodes[0], stderr: r.stderr };
  };
  // The plan as an operator reviews it, then exactly that plan applied: the saved values travel to the node over each transport.
  const plan = join(tempDir(`every-field-plan-${transport}`), 'plan.json');
  const d = await ctl(['diff', '-o', plan]);
  const a = await ctl(['apply', '--no-verify', '--plan', plan]);
  expect(a.code, `${transport} apply: ${JSON.stringify(a.node)} ${a.stderr.slice(-1500)}`).toBe(0);
  const after = nodeState();
  const again = await ctl(['diff']);
  return { diffCode: d.code, plan: essence((d.node as { plan?: unknown })?.plan), applyCode: a.code, applied: essence((a.node as { plan?: unknown })?.plan), after, againCode: again.code };
}

/** The reference: the agent's logic called in this process, through the same protocol client. */
async function inProcess(config: ChassisConfig): Promise<Outcome> {
  reset();
  const backend = await openBackend({ backend: 'ovsdb', db: server.unix });
  const agent = AgentClient.inProcess('node', new RpcSession({ backend, stateDir: join(tempDir('every-field-ref'), 'state') }), () => backend.close());
  try {
    const withHost = { ...config, hostname: config.hostname ?? 'node' };
    const plan = await agent.diff(withHost);
    const applied = await agent.apply(withHost);
    const after = nodeState();
    const again = await agent.diff(withHost);
    return { diffCode: plan.inSync ? 0 : 2, plan: essence(plan), applyCode: 0, applied: essence(applied.plan), after, againCode: again.inSync ? 0 : 2 };
  } finally {
    await agent.close();
  }
}

const configs = fc.sample(everyFieldArb, { numRuns: 3, seed: 1812 });

describe('every chassis field through the controller, over every transport', () => {
  it('the sampled configs name every field of the chassis schema, bridge options included', () => {
    const named = new Set(configs.flatMap((c) => Object.entries(c).filter(([, v]) => v !== undefined && !(Array.isArray(v) && v.length === 0)).map(([k]) => k)));
    expect(Object.keys(chassisConfigSchema.shape).filter((f) => !named.has(f))).toEqual([]);
    expect(configs.some((c) => c.bridges?.some((b) => b.datapathType && b.failMode && b.uplink))).toBe(true);
  });

  configs.forEach((config, i) => {
    it(`config ${i + 1}: diff 2, apply 0, diff 0, with the same plan and end state over local, ssh to the agent and direct as in-process`, async () => {
      const ref = await inProcess(config);
      expect(ref).toMatchObject({ diffCode: 2, againCode: 0 });
      for (const t of ['local', 'ssh-agent', 'ssh-direct'] as const) {
        const got = await throughController(t, config, i);
        expect(got, t).toEqual(ref);
      }
    }, 120_000);
  });

  it('the bridge case of the report: a netdev/secure bridge is made, and diff is then in sync', async () => {
    const config = chassisConfigSchema.parse({ systemId: 'bridge-case', ovnRemote: 'tcp:127.0.0.1:6642', encap: { ip: '127.0.0.1' }, bridges: [{ name: 'br-dp', uplink: 'dp-up', datapathType: 'netdev', failMode: 'secure' }] });
    for (const t of ['local', 'ssh-agent', 'ssh-direct'] as const) {
      const got = await throughController(t, config, 100);
      expect(got.diffCode, t).toBe(2);
      expect(got.againCode, t).toBe(0);
      expect(got.after, t).toMatchObject({ bridges: [{ name: 'br-dp', ports: ['dp-up'], datapathType: 'netdev', failMode: 'secure' }] });
      // A rollout's pre-flight and backup reach the node the same way: run by its agent, or over SSH in direct mode.
      const inv = inventory(`${t}-rollout`, t, join(tempDir(`every-field-rollout-${t}`), 'state'), config);
      const journal = join(tempDir(`every-field-journal-${t}`), 'rollout.journal');
      const r = await runCli(CONTROLLER_BIN, ['rollout', '-i', inv, '--batch', '1', '--verify-timeout', '1', '--journal', journal, '--state-dir', dir]);
      // No ovn-controller registers this node: it fails at verify, after a change-free apply, so the rollout is partial.
      expect(r.code, `${t}: ${r.stderr.slice(-1500)}`).toBe(3);
      const ends = readRecords(journal).filter((x) => x.type === 'step' && x.phase === 'end') as { step: string; ok?: boolean; detail?: string }[];
      expect(ends.find((x) => x.step === 'precheck'), t).toMatchObject({ ok: true, detail: expect.stringContaining('pre-flight passed') });
      expect(ends.find((x) => x.step === 'backup'), t).toMatchObject({ ok: true, detail: expect.stringMatching(/saved to \/.*\/backups\/.*\.db \(\d+ bytes/) });
    }
  }, 120_000);
});
