import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildExecutables } from '../../scripts/package.js';
import { Dockerd, OvsdbServer, SystemdNode, configDbSchemaFile, run, tempDir, waitFor } from '../../sandbox/index.js';
import { VERSION } from '../../schemas/version.js';
import { CONTROLLER_BIN, nodesOf, runCli } from '../support/cli.js';

/**
 * The systemd kind of the agent on a real systemd node (systemd as PID 1 in a
 * container of a test dockerd, its own sshd and ovsdb-server): install,
 * status, upgrade to a second build, a failed upgrade rolled back, remove —
 * each through the ovn-chassis command over SSH, each checked on the node.
 */
const SECOND = `${VERSION}-second`;
let dockerd: Dockerd;
let node: SystemdNode;
let first: string;
let second: string;
let broken: string;
let inv: string;
let systemId: string;
const log: string[] = [];

beforeAll(async () => {
  dockerd = await Dockerd.start();
  node = await SystemdNode.start(dockerd, 'systemd-node', (l) => process.stderr.write(`${l}\n`));
  const dir = tempDir('systemd-builds');
  [, first] = (await buildExecutables(join(dir, 'first'))) as [string, string];
  [, second] = (await buildExecutables(join(dir, 'second'), { version: SECOND })) as [string, string];
  // A build that never serves: what a corrupt download or a build for another machine does.
  broken = join(dir, 'broken-agent');
  writeFileSync(broken, '#!/bin/sh\necho "this build is broken" >&2\nexit 1\n', { mode: 0o755 });
  // The node's Open vSwitch made itself a system-id when it first started (Debian's ovs-ctl): the inventory takes it, as import would.
  systemId = (await onNode('ovs-vsctl', '--no-wait', 'get', 'Open_vSwitch', '.', 'external_ids:system-id')).replace(/"/g, '');
  const knownHosts = join(dir, 'known_hosts');
  writeFileSync(knownHosts, `${node.knownHostsLine()}\n`);
  inv = join(dir, 'inventory.yaml');
  writeFileSync(inv, stringify({
    ovn: { southbound: ['tcp:127.0.0.1:6642'] },
    defaults: { transport: { kind: 'ssh', user: 'root', port: node.port, privateKey: node.clientKey.key, knownHosts, connectTimeoutS: 15 } },
    hosts: { 'sd-1': { address: '127.0.0.1', systemId, encap: { ip: '127.0.0.1' }, agent: { backend: 'ovsdb', db: 'unix:/run/openvswitch/db.sock', install: 'systemd' } } },
  }));
}, 600_000);

afterAll(async () => {
  await node?.stop();
  await dockerd?.stop();
  process.stdout.write(`systemd node, agent status at each step:\n${log.join('\n')}\n`);
});

const ctl = (...args: string[]) => runCli(CONTROLLER_BIN, [...args, '-i', inv, '--state-dir', tempDir('ctl-state')]);
const onNode = async (...argv: string[]) => (await node.exec(argv)).stdout.trim();
const ids = () => onNode('ovs-vsctl', '--no-wait', 'get', 'Open_vSwitch', '.', 'external_ids');
interface StatusNode { host: string; agent?: string; serving?: boolean; install: string; uptimeS?: number; error?: { code: string } }

async function status(step: string): Promise<StatusNode> {
  const human = await ctl('agent', 'status');
  log.push(`after ${step}:\n${human.stdout.trimEnd()}`);
  const r = await ctl('agent', 'status', '--json');
  return (JSON.parse(r.stdout) as { nodes: StatusNode[] }).nodes[0] as StatusNode;
}

describe('the systemd kind of the agent on a real systemd node', () => {
  it('install: the unit active, the agent serving and applying the node\'s config; status says so', async () => {
    const r = await ctl('agent', 'install', '--agent-executable', first, '--json');
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(await onNode('systemctl', 'is-active', 'ovn-chassis-agent')).toBe('active');
    // The serving agent applied the node's config: its keys are there, and its snapshot of what they replaced.
    await waitFor('the serving agent to apply the config', async () => /ovn-encap-ip="?127\.0\.0\.1/.test(await ids()) || undefined, 30_000);
    expect(await ids()).toContain(`system-id="${systemId}"`);
    expect(await onNode('stat', '-c', '%a', '/var/lib/ovn-chassis')).toBe('700');
    expect(await status('install')).toMatchObject({ agent: VERSION, serving: true, install: 'unit active (running)' });
  }, 180_000);

  it('upgrade to a second build: written beside the old and renamed over it, the unit restarted, the state dir kept', async () => {
    const inodeBefore = await onNode('stat', '-c', '%i', '/usr/local/bin/ovn-chassis-agent');
    const snapshots = await onNode('ls', '/var/lib/ovn-chassis/snapshots');
    const r = await ctl('agent', 'upgrade', '--agent-executable', second, '--json');
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(nodesOf(r.stdout)[0]).toMatchObject({ ok: true, kind: 'systemd', version: SECOND, replaced: VERSION });
    expect(await onNode('stat', '-c', '%i', '/usr/local/bin/ovn-chassis-agent')).not.toBe(inodeBefore);
    // The previous executable is kept beside it, the inode the unit ran: nothing was written into a running file.
    expect(await onNode('stat', '-c', '%i', '/usr/local/bin/ovn-chassis-agent.previous')).toBe(inodeBefore);
    expect(await onNode('ls', '/var/lib/ovn-chassis/snapshots')).toBe(snapshots);
    expect(await status('upgrade to the second build')).toMatchObject({ agent: SECOND, serving: true, install: 'unit active (running)' });
  }, 180_000);

  it('an upgrade that never comes up healthy: the previous executable restored and serving again, said, exit 3', async () => {
    const r = await ctl('agent', 'upgrade', '--agent-executable', broken, '--json');
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(3);
    const [res] = nodesOf<{ ok: boolean; error: { code: string; message: string; changed?: string } }>(r.stdout);
    expect(res?.error).toMatchObject({ code: 'AGENT_UNHEALTHY', changed: 'changed' });
    expect(res?.error.message).toMatch(new RegExp(`the previous one \\(${SECOND.replace(/[.-]/g, '\\$&')}\\) was restored and serves again`));
    expect(await status('a failed upgrade')).toMatchObject({ agent: SECOND, serving: true, install: 'unit active (running)' });
  }, 240_000);

  it('remove: the unit stopped and disabled, its files gone, Open vSwitch untouched, the snapshots kept', async () => {
    const before = await ids();
    const r = await ctl('agent', 'remove', '--json');
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(nodesOf(r.stdout)[0]).toMatchObject({ ok: true, removed: true, kind: 'systemd' });
    expect(await onNode('systemctl', 'show', 'ovn-chassis-agent', '--property=LoadState')).toBe('LoadState=not-found');
    for (const f of ['/usr/local/bin/ovn-chassis-agent', '/usr/local/bin/ovn-chassis-agent.previous', '/etc/systemd/system/ovn-chassis-agent.service', '/var/lib/ovn-chassis/chassis.json']) {
      expect((await node.exec(['test', '-e', f])).code, f).toBe(1);
    }
    expect(await onNode('ls', '/var/lib/ovn-chassis/snapshots')).not.toBe('');
    expect(await ids()).toBe(before);
    const s = await status('remove');
    expect(s).toMatchObject({ install: 'no unit' });
    expect(s.agent).toBeUndefined();
  }, 120_000);

  it('install with agent.pull: the unit serves --pull, and a publish reaches the node through the config database', async () => {
    const configDb = await OvsdbServer.start({ schemas: [configDbSchemaFile()], tcp: true });
    try {
      const pulled = join(tempDir('systemd-pull'), 'inventory.yaml');
      const data = parse(readFileSync(inv, 'utf8')) as Record<string, any>;
      data.configDb = [configDb.tcp];
      data.hosts['sd-1'].agent.pull = true;
      data.hosts['sd-1'].extraExternalIds = { 'ovn-chassis-test-mark': 'pulled' };
      writeFileSync(pulled, stringify(data));
      const installed = await runCli(CONTROLLER_BIN, ['agent', 'install', '-i', pulled, '--agent-executable', first, '--json', '--state-dir', tempDir('ctl-state')]);
      expect(installed.code, `${installed.stdout}\n${installed.stderr}`).toBe(0);
      expect(await onNode('systemctl', 'show', 'ovn-chassis-agent', '--property=ExecStart')).toMatch(new RegExp(`serve --pull ${configDb.tcp} --host sd-1 `));
      expect((await node.exec(['test', '-e', '/var/lib/ovn-chassis/chassis.json'])).code).toBe(1);
      const published = await runCli(CONTROLLER_BIN, ['publish', '-i', pulled, '--json']);
      expect(published.code, published.stderr).toBe(0);
      await waitFor('the pulling agent to apply the published config', async () => /ovn-chassis-test-mark=pulled/.test(await ids()) || undefined, 30_000);
      // The columns come back in ovsdb-client's order: applied, host, verdict.
      const row = run('ovsdb-client', ['-f', 'csv', '--no-headings', 'dump', configDb.tcp, 'OVN_Chassis_Config', 'Status', 'host', 'applied', 'verdict']);
      expect(row).toMatch(/^1,sd-1,applied$/m);
      expect((await ctl('agent', 'remove', '--json')).code).toBe(0);
    } finally {
      await configDb.stop();
    }
  }, 180_000);
});
