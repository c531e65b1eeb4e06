import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { type NodeAccess, localNode, openBackend } from '../../agent/index.js';
import { type Host, checkInventory } from '../../controller/inventory.js';
import { openSsh } from '../../controller/transport/ssh.js';
import { sshNode } from '../../controller/transport/ssh-node.js';
import { Dockerd, OvsdbServer, run, tempDir, Sshd } from '../../sandbox/index.js';
import { AGENT_BIN, CONTROLLER_BIN, nodesOf, runCli } from '../support/cli.js';

/**
 * Direct mode (transport.via: direct) against the same node reached through
 * its agent: a real sshd, a real ovsdb-server, a real dockerd with Open
 * vSwitch in a container. In direct mode the node's agent command does not
 * exist; the diffs, the end state after every step and the snapshots must be
 * the same either way, and each way must roll back what the other applied.
 */

const ABSENT_AGENT = ['/nonexistent/ovn-chassis-agent'];

let sshd: Sshd;
let server: OvsdbServer;
let dockerd: Dockerd;
let dockerDb: string;
let dir: string;

beforeAll(async () => {
  dir = tempDir('direct');
  [sshd, server, dockerd] = await Promise.all([Sshd.start(), OvsdbServer.start(), Dockerd.start()]);
  await dockerd.buildOvsImage();
  const runDir = join(dockerd.dir, 'ovs-run');
  await dockerd.startOvsContainer('openvswitch_vswitchd', runDir);
  dockerDb = `unix:${runDir}/db.sock`;
  run('ovs-vsctl', [`--db=${dockerDb}`, '--no-wait', 'init']);
}, 300_000);

afterAll(async () => {
  await Promise.all([sshd?.stop(), server?.stop(), dockerd?.stop()]);
});

type Backend = 'ovsdb' | 'docker';
type Via = 'agent' | 'direct';

const dbOf = (backend: Backend) => (backend === 'ovsdb' ? server.unix : dockerDb);
/** Read straight from the database with ovs-vsctl, not through anything under test. */
const vsctl = (backend: Backend, ...args: string[]) => run('ovs-vsctl', [`--db=${dbOf(backend)}`, '--no-wait', ...args]).trim();

function nodeState(backend: Backend): { ids: Record<string, string>; bridges: Record<string, string[]> } {
  const out = JSON.parse(vsctl(backend, '--format=json', '--data=json', '--columns=external_ids', 'list', 'Open_vSwitch')) as { data: [[string, [string, string][]]][] };
  const bridges = vsctl(backend, 'list-br').split('\n').filter(Boolean);
  return {
    ids: Object.fromEntries(out.data[0]?.[0]?.[1] ?? []),
    bridges: Object.fromEntries(bridges.map((b) => [b, vsctl(backend, 'list-ports', b).split('\n').filter(Boolean)])),
  };
}

/** The node as an operator found it: someone else's key, and no bridges of ours. */
function reset(backend: Backend): void {
  for (const b of vsctl(backend, 'list-br').split('\n').filter(Boolean)) vsctl(backend, 'del-br', b);
  vsctl(backend, 'clear', 'Open_vSwitch', '.', 'external_ids');
  vsctl(backend, 'set', 'Open_vSwitch', '.', 'external_ids:foreign-key=keep', 'external_ids:hostname=old-name');
}

const chassis = (ip: string, az: string) => ({
  systemId: 'direct-chassis-1',
  hostname: 'cmp-1',
  encap: { type: 'geneve', ip },
  gateway: true,
  availabilityZones: [az],
  bridgeMappings: { physnet1: 'br-ex' },
  bridges: [{ name: 'br-ex', uplink: 'eth-up' }],
});

function inventory(name: string, backend: Backend, via: Via, stateDir: string, config: ReturnType<typeof chassis>, agentCommand = via === 'direct' ? ABSENT_AGENT : [process.execPath, AGENT_BIN], extra: Record<string, unknown> = {}): string {
  const agent = backend === 'ovsdb' ? { backend: 'ovsdb', db: server.unix } : { backend: 'docker', container: 'openvswitch_vswitchd', dockerSocket: dockerd.socketPath };
  const inv = {
    ovn: { southbound: ['tcp:127.0.0.1:6642'] },
    defaults: {
      transport: {
        kind: 'ssh', user: 'root', port: sshd.port, privateKey: sshd.clientKey.key, knownHosts: join(sshd.dir, 'known_hosts'), connectTimeoutS: 10,
        stateDir, via, agentCommand,
      },
    },
    hosts: { 'cmp-1': { address: '127.0.0.1', agent, ...config, ...extra } },
  };
  const p = join(dir, `${name}.yaml`);
  writeFileSync(p, stringify(inv));
  return p;
}

interface NodeJson {
  host: string;
  ok: boolean;
  error?: { code: string; message: string };
  plan?: unknown;
  restored?: Record<string, string | null>;
  warnings?: string[];
}

async function ctl(args: string[]): Promise<{ code: number; nodes: NodeJson[]; stderr: string }> {
  const r = await runCli(CONTROLLER_BIN, [...args, '--json', '--state-dir', dir]);
  let nodes: NodeJson[] = [];
  try {
    nodes = nodesOf<NodeJson>(r.stdout);
  } catch {
    /* the assertion on code says what went wrong */
  }
  return { code: r.code, nodes, stderr: r.stderr };
}

/** What a step's answer says, without what differs by nature between runs (timings, snapshot file names). */
function essence(n: NodeJson | undefined): unknown {
  return JSON.parse(JSON.stringify(n ?? null, (k, v: unknown) => (k === 'ms' || k === 'snapshot' ? undefined : v)));
}

interface Trace {
  steps: { step: string; code: number; answer: unknown; node: ReturnType<typeof nodeState> }[];
  stateDir: string;
}

/** The same sequence, either way: diff, apply, diff, apply another, rollback twice. */
async function trace(backend: Backend, via: Via): Promise<Trace> {
  reset(backend);
  const stateDir = join(tempDir(`state-${backend}-${via}`), 'node-state');
  const first = inventory(`${backend}-${via}-first`, backend, via, stateDir, chassis('192.0.2.11', 'az1'));
  const second = inventory(`${backend}-${via}-second`, backend, via, stateDir, chassis('192.0.2.12', 'az2'));
  const steps: Trace['steps'] = [];
  // diff exits 2 when there are changes, as `diff` and `kubectl diff` do.
  const step = async (name: string, args: string[], code = 0) => {
    const r = await ctl(args);
    expect(r.code, `${backend} via ${via}, ${name}: ${r.stderr.slice(-2000)}`).toBe(code);
    steps.push({ step: name, code: r.code, answer: essence(r.nodes[0]), node: nodeState(backend) });
  };
  steps.push({ step: 'as found', code: 0, answer: null, node: nodeState(backend) });
  await step('diff', ['diff', '-i', first], 2);
  await step('apply', ['apply', '-i', first, '--no-verify']);
  await step('diff after apply', ['diff', '-i', first]);
  await step('apply another', ['apply', '-i', second, '--no-verify']);
  await step('rollback', ['rollback', '-i', second, '--limit', 'cmp-1']);
  await step('rollback again', ['rollback', '-i', second, '--limit', 'cmp-1']);
  return { steps, stateDir };
}

beforeAll(() => {
  writeFileSync(join(sshd.dir, 'known_hosts'), `${sshd.knownHostsLine()}\n`);
});

describe.each(['ovsdb', 'docker'] as const)('direct mode, %s backend, over a real sshd', (backend) => {
  const traces: Partial<Record<Via, Trace>> = {};

  it('with no agent on the node: apply, diff 0, rollback exact', async () => {
    const t = await trace(backend, 'direct');
    traces.direct = t;
    const [found, , applied, inSync, second, back, backAgain] = t.steps;
    expect(applied?.node.ids).toMatchObject({ 'ovn-encap-ip': '192.0.2.11', 'foreign-key': 'keep', hostname: 'cmp-1' });
    expect(applied?.node.bridges).toEqual({ 'br-ex': ['eth-up'] });
    expect(inSync?.answer).toMatchObject({ ok: true, plan: { inSync: true } });
    expect(second?.node.ids['ovn-encap-ip']).toBe('192.0.2.12');
    expect(back?.node.ids).toEqual(applied?.node.ids);
    expect(backAgain?.node.ids).toEqual(found?.node.ids);
    // The snapshots are on the node, in its state dir, private, as the agent itself keeps them.
    expect(statSync(t.stateDir).mode & 0o777).toBe(0o700);
    const restored = readdirSync(join(t.stateDir, 'snapshots', 'restored'));
    expect(restored).toHaveLength(2);
    for (const f of restored) expect(statSync(join(t.stateDir, 'snapshots', 'restored', f)).mode & 0o777).toBe(0o600);
  }, 120_000);

  it('the agent command really is absent: via agent, the same inventory cannot reach the node', async () => {
    const stateDir = join(tempDir('state-absent'), 'node-state');
    const inv = inventory(`${backend}-absent`, backend, 'agent', stateDir, chassis('192.0.2.11', 'az1'), ABSENT_AGENT);
    const r = await ctl(['diff', '-i', inv]);
    expect(r.code).not.toBe(0);
    expect(r.nodes[0]?.ok).toBe(false);
  }, 60_000);

  it('gives the same diffs and end states as through the agent', async () => {
    const t = await trace(backend, 'agent');
    traces.agent = t;
    expect(traces.direct, 'the direct run comes first').toBeDefined();
    const view = (x: Trace) => x.steps.map((s) => ({ step: s.step, answer: s.answer, node: s.node }));
    expect(view(traces.direct as Trace)).toEqual(view(t));
  }, 120_000);

  it('each way rolls back what the other applied, from the snapshots on the node', async () => {
    reset(backend);
    const found = nodeState(backend);
    const stateDir = join(tempDir(`state-${backend}-cross`), 'node-state');
    const direct = inventory(`${backend}-cross-direct`, backend, 'direct', stateDir, chassis('192.0.2.21', 'az1'));
    const agent = inventory(`${backend}-cross-agent`, backend, 'agent', stateDir, chassis('192.0.2.22', 'az2'));
    expect((await ctl(['apply', '-i', direct, '--no-verify'])).code).toBe(0);
    const afterDirect = nodeState(backend);
    expect((await ctl(['apply', '-i', agent, '--no-verify'])).code).toBe(0);
    expect(nodeState(backend).ids['ovn-encap-ip']).toBe('192.0.2.22');
    // Direct mode undoes the agent's apply, and the agent then undoes direct mode's.
    expect((await ctl(['rollback', '-i', direct, '--limit', 'cmp-1'])).code).toBe(0);
    expect(nodeState(backend)).toEqual(afterDirect);
    expect((await ctl(['rollback', '-i', agent, '--limit', 'cmp-1'])).code).toBe(0);
    expect(nodeState(backend).ids).toEqual(found.ids);
  }, 120_000);
});

describe('direct mode, the rest of the protocol', () => {
  it('runs a node\'s hooks on the node, over SSH', async () => {
    reset('ovsdb');
    const stateDir = join(tempDir('state-hooks'), 'node-state');
    const marker = join(tempDir('hooks'), 'rolled-back');
    const hooks = { rollback: [{ action: 'command', argv: ['sh', '-c', 'printf "%s" "$SSH_CONNECTION" > "$0"', marker] }] };
    const inv = inventory('hooks', 'ovsdb', 'direct', stateDir, chassis('192.0.2.51', 'az1'), ABSENT_AGENT, { hooks });
    expect((await ctl(['apply', '-i', inv, '--no-verify'])).code).toBe(0);
    const r = await ctl(['rollback', '-i', inv, '--limit', 'cmp-1']);
    expect(r.code, r.stderr).toBe(0);
    // Only a command run by the node's sshd has SSH_CONNECTION set.
    expect(readFileSync(marker, 'utf8')).toMatch(/^127\.0\.0\.1 \d+ 127\.0\.0\.1 \d+$/);
  }, 60_000);
});

/** The node as direct mode reaches it, over the test's sshd, for `fn`; the connection closed after. */
async function onSshNode(name: string, fn: (node: NodeAccess) => Promise<void>): Promise<void> {
  const inv = checkInventory(parse(readFileSync(inventory(name, 'ovsdb', 'direct', '/var/lib/ovn-chassis', chassis('192.0.2.61', 'az1')), 'utf8')), name);
  const { conn, where, lifeline } = await openSsh(inv.hosts[0] as Host);
  try {
    await fn(await sshNode(conn, where, lifeline));
  } finally {
    conn.end();
  }
}

describe('the node\'s files over SFTP', () => {
  it('reads a file whole up to a bound, and refuses one that holds more (a node answers for itself, not for our memory)', async () => {
    await onSshNode('files', async (node) => {
      const file = join(tempDir('sftp-read'), 'big');
      const text = 'x'.repeat(100_000);
      writeFileSync(file, text);
      expect(await node.files.read(file, 200_000)).toBe(text);
      expect(await node.files.read(file, 100_000)).toBe(text);
      await expect(node.files.read(file, 99_999)).rejects.toThrow(/holds more than 99999 bytes/);
      expect(await localNode.files.read(file, 100_000)).toBe(text);
      await expect(localNode.files.read(file, 50_000)).rejects.toThrow(/holds more than 50000 bytes/);
    });
  });
});

describe('programs run on the node over SSH', () => {
  // N4: what agent install runs on a node (systemctl, the agent's health) is bounded in output and in time.
  it('keeps only the last 4 MiB of a program that prints without end, and ends one that never returns', async () => {
    await onSshNode('programs', async (node) => {
      const loud = await node.run(['sh', '-c', 'head -c 24000000 /dev/zero | tr "\\0" x >&2; echo end >&2'], 120_000);
      expect(loud.code).toBe(0);
      expect(loud.stderr.length).toBe(4 * 1024 * 1024);
      expect(loud.stderr.endsWith('xend\n')).toBe(true);
      // sshd neither ends a program when its channel closes nor passes it a signal: the node's own timeout must.
      const stuck = await node.run(['sleep', '617'], 500);
      expect(stuck).toMatchObject({ timedOut: true, code: null });
      expect(spawnSync('pgrep', ['-f', '^sleep 617$']).status, 'the program is gone from the node').toBe(1);
    });
  }, 150_000);
});

describe('direct mode refuses what it cannot do safely', () => {
  it('refuses a node where an agent serves (two writers would fight), and changes nothing', async () => {
    reset('ovsdb');
    const before = nodeState('ovsdb');
    const stateDir = join(tempDir('state-serving'), 'node-state');
    mkdirSync(stateDir, { mode: 0o700 });
    const serving = net.createServer((s) => s.destroy()).listen(join(stateDir, 'agent.sock'));
    await once(serving, 'listening');
    try {
      const r = await ctl(['apply', '-i', inventory('serving', 'ovsdb', 'direct', stateDir, chassis('192.0.2.31', 'az1')), '--no-verify']);
      expect(r.code).toBe(1);
      expect(r.nodes[0]?.error).toMatchObject({ code: 'AGENT_SERVING', message: expect.stringContaining('transport.via: agent') });
      expect(nodeState('ovsdb')).toEqual(before);
    } finally {
      serving.close();
    }
  }, 60_000);

  it('refuses a vsctl backend in direct mode when the inventory is read, naming the field', async () => {
    const p = inventory('vsctl', 'ovsdb', 'direct', '/var/lib/ovn-chassis', chassis('192.0.2.41', 'az1'));
    writeFileSync(p, readFileSync(p, 'utf8').replace(/agent:\n(\s+)backend: ovsdb\n\s+db: .*\n/, 'agent:\n$1backend: vsctl\n'));
    const r = await ctl(['diff', '-i', p]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('hosts.cmp-1.transport.via: "direct" needs agent.backend ovsdb');
  });

  it('never runs ovs-vsctl here for a node reached from afar', async () => {
    const elsewhere = { ...localNode };
    await expect(openBackend({ backend: 'vsctl', path: 'ovs-vsctl' }, { node: elsewhere })).rejects.toThrow(/vsctl backend runs ovs-vsctl beside the agent/);
  });
});
