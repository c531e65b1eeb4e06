import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_CONTAINER } from '../../controller/agents.js';
import { buildImage } from '../../scripts/image.js';
import { buildExecutables } from '../../scripts/package.js';
import { Dockerd, run, tempDir, waitFor, Sandbox, Sshd } from '../../sandbox/index.js';
import { AGENT_IMAGE, VERSION } from '../../schemas/version.js';
import { CONTROLLER_BIN, nodesOf, runCli } from '../support/cli.js';

/**
 * ovn-chassis agent install / upgrade / status / remove on a node reached
 * over a real sshd, whose Docker API is a real dockerd (reached only through
 * SSH forwards of its socket). The controller's own Docker (DOCKER_HOST) holds
 * the image; the node does not until install loads it.
 */
let sshd: Sshd;
let controllerDocker: Dockerd;
let nodeDocker: Dockerd;
let sandbox: Sandbox;
let inv: string;

beforeAll(async () => {
  [sshd, controllerDocker, nodeDocker, sandbox] = await Promise.all([Sshd.start(), Dockerd.start(), Dockerd.start(), Sandbox.start({ gateways: 0, computes: 1 })]);
  await buildImage(controllerDocker.api, join(tempDir('image'), 'context'));
  const node = sandbox.nodes[0]!;
  const inventory = sandbox.inventory() as { defaults: Record<string, unknown>; hosts: Record<string, Record<string, unknown>> };
  const knownHosts = join(sshd.dir, 'known_hosts');
  writeFileSync(knownHosts, `${sshd.knownHostsLine()}\n`);
  inventory.defaults.transport = { kind: 'ssh', user: 'root', port: sshd.port, privateKey: sshd.clientKey.key, knownHosts };
  inventory.hosts['cmp-1'] = {
    ...inventory.hosts['cmp-1'],
    address: '127.0.0.1',
    encap: { ip: node.address },
    transport: { stateDir: node.stateDir },
    agent: { backend: 'ovsdb', db: node.ovsdb.unix, install: 'container', dockerSocket: nodeDocker.socketPath },
  };
  inv = join(sandbox.dir, 'agents.yaml');
  writeFileSync(inv, stringify(inventory));
}, 180_000);

afterAll(async () => {
  await Promise.all([sandbox?.stop(), sshd?.stop(), controllerDocker?.stop(), nodeDocker?.stop()]);
});

const ctl = (...args: string[]) => runCli(CONTROLLER_BIN, [...args, '-i', inv, '--state-dir', sandbox.dir], { env: { DOCKER_HOST: `unix://${controllerDocker.socketPath}` } });
const agentContainer = () => nodeDocker.api.getContainer(AGENT_CONTAINER).inspect();

describe('agent install, upgrade, status, remove (container kind)', () => {
  it('install loads the image onto the node, runs the agent healthy, and a controller apply through it verifies', async () => {
    await expect(nodeDocker.api.getImage(AGENT_IMAGE).inspect()).rejects.toThrow();
    const r = await ctl('agent', 'install', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(nodesOf(r.stdout)[0]).toMatchObject({ host: 'cmp-1', ok: true, kind: 'container', image: AGENT_IMAGE, loaded: true });
    const c = await agentContainer();
    expect(c.State.Health?.Status).toBe('healthy');
    const apply = await ctl('apply', '--json');
    expect(apply.code, apply.stderr).toBe(0);
    expect(nodesOf(apply.stdout)[0]).toMatchObject({ host: 'cmp-1', ok: true, verdict: { state: 'verified' } });
    const status = await ctl('agent', 'status', '--json');
    expect(JSON.parse(status.stdout).nodes[0]).toMatchObject({ host: 'cmp-1', agent: VERSION, protocol: 1 });
  });

  it('upgrade replaces the agent and keeps the node\'s state dir and desired config; one that does not come up healthy is rolled back', async () => {
    const node = sandbox.nodes[0]!;
    await controllerDocker.api.getImage(AGENT_IMAGE).tag({ repo: 'ovn-chassis-agent', tag: 'next' });
    const desired = run('cat', [join(node.stateDir, 'desired.json')]);
    const up = await ctl('agent', 'upgrade', '--image', 'ovn-chassis-agent:next', '--json');
    expect(up.code, up.stderr).toBe(0);
    expect(nodesOf(up.stdout)[0]).toMatchObject({ ok: true, kind: 'container', image: 'ovn-chassis-agent:next', replaced: AGENT_IMAGE });
    expect((await agentContainer()).Config.Image).toBe('ovn-chassis-agent:next');
    expect(run('cat', [join(node.stateDir, 'desired.json')])).toBe(desired);
    // The upgraded agent keeps the config applied: drift is repaired.
    node.ovsdb.vsctl('set', 'Open_vSwitch', '.', 'external_ids:ovn-encap-ip=10.9.9.9');
    await waitFor('drift repaired by the upgraded agent', () => node.ovsdb.externalIds()['ovn-encap-ip'] === node.address, 20_000);

    // An image with no agent in it: the new container cannot come up, and the previous agent runs again.
    const empty = join(tempDir('empty-image'), 'empty.tar');
    run('tar', ['-cf', empty, '-T', '/dev/null']);
    const imported = await controllerDocker.api.importImage(empty, { repo: 'ovn-chassis-agent', tag: 'broken' });
    await new Promise((resolve, reject) => controllerDocker.api.modem.followProgress(imported, (err) => (err ? reject(err) : resolve(undefined))));
    const bad = await ctl('agent', 'upgrade', '--image', 'ovn-chassis-agent:broken', '--json');
    // The node's agent was replaced and put back: changed, so never the exit 1 that says it was not.
    expect(bad.code).toBe(3);
    expect(nodesOf(bad.stdout)[0]).toMatchObject({ ok: false, error: { code: 'AGENT_UNHEALTHY', changed: 'changed', message: expect.stringMatching(/did not come up healthy.*the previous one \(ovn-chassis-agent:next\) runs again/) } });
    const back = await agentContainer();
    expect(back.Config.Image).toBe('ovn-chassis-agent:next');
    expect(back.State.Health?.Status).toBe('healthy');
  });

  it('remove takes the agent away and leaves the node\'s Open vSwitch as it was', async () => {
    const before = sandbox.nodes[0]!.ovsdb.externalIds();
    const r = await ctl('agent', 'remove', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(nodesOf(r.stdout)[0]).toMatchObject({ ok: true, removed: true });
    await expect(agentContainer()).rejects.toThrow();
    expect(sandbox.nodes[0]!.ovsdb.externalIds()).toEqual(before);
  });
});

describe('agent install (systemd kind) on a node without a running systemd', () => {
  // N3, N10, and exit codes: the files are written as the agent writes its own, and a failure after them is no exit 1.
  it('writes the executable, unit and config with their modes, never through a planted link, parents 0755 and the state dir private; then says systemctl failed, exit 3', async () => {
    const node = sandbox.nodes[0]!;
    const root = tempDir('install-root');
    const [, executable] = (await buildExecutables(join(tempDir('pkg'), 'pkg'))) as [string, string];
    const inventory = parse(readFileSync(inv, 'utf8')) as { hosts: Record<string, Record<string, unknown>> };
    const stateDir = join(root, 'var/lib/ovn-chassis');
    inventory.hosts['cmp-1']!.agent = { backend: 'ovsdb', db: node.ovsdb.unix, install: 'systemd', installRoot: root };
    inventory.hosts['cmp-1']!.transport = { stateDir };
    const path = join(sandbox.dir, 'systemd.yaml');
    writeFileSync(path, stringify(inventory));
    // A state dir left open to all, with a link planted where the config goes.
    mkdirSync(stateDir, { recursive: true });
    chmodSync(stateDir, 0o777);
    const victim = join(root, 'victim');
    writeFileSync(victim, 'keep\n', { mode: 0o644 });
    symlinkSync(victim, join(stateDir, 'chassis.json'));
    const r = await runCli(CONTROLLER_BIN, ['agent', 'install', '-i', path, '--agent-executable', executable, '--json', '--state-dir', sandbox.dir]);
    expect(existsSync('/run/systemd/system'), 'this test is for a machine whose PID 1 is not systemd').toBe(false);
    const result = nodesOf(r.stdout)[0] as { ok: boolean; error?: { code: string; message: string; changed?: string } };
    const exe = join(root, 'usr/local/bin/ovn-chassis-agent');
    const unit = join(root, 'etc/systemd/system/ovn-chassis-agent.service');
    expect(statSync(exe).mode & 0o777).toBe(0o755);
    expect(statSync(unit).mode & 0o777).toBe(0o644);
    for (const d of ['usr', 'usr/local', 'usr/local/bin', 'etc/systemd', 'etc/systemd/system', 'var/lib']) expect(statSync(join(root, d)).mode & 0o777, d).toBe(0o755);
    expect(statSync(stateDir).mode & 0o777).toBe(0o700);
    expect(lstatSync(join(stateDir, 'chassis.json')).isFile()).toBe(true);
    expect(statSync(join(stateDir, 'chassis.json')).mode & 0o777).toBe(0o600);
    expect(readFileSync(victim, 'utf8')).toBe('keep\n');
    expect(statSync(victim).mode & 0o777).toBe(0o644);
    const verify = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8' });
    expect(verify.status, verify.stderr).toBe(0);
    expect(r.code).toBe(3);
    expect(result.error).toMatchObject({ code: 'AGENT_NOT_STARTED', changed: 'changed', message: expect.stringMatching(/systemctl daemon-reload failed/) });

    // N10: on a root where nothing exists yet, only the state dir is private; every folder made above it is 0755.
    const bare = tempDir('install-root-bare');
    inventory.hosts['cmp-1']!.agent = { backend: 'ovsdb', db: node.ovsdb.unix, install: 'systemd', installRoot: bare };
    inventory.hosts['cmp-1']!.transport = { stateDir: join(bare, 'var/lib/ovn-chassis') };
    writeFileSync(path, stringify(inventory));
    const again = await runCli(CONTROLLER_BIN, ['agent', 'install', '-i', path, '--agent-executable', executable, '--json', '--state-dir', sandbox.dir]);
    for (const d of ['var', 'var/lib']) expect(statSync(join(bare, d)).mode & 0o777, d).toBe(0o755);
    expect(statSync(join(bare, 'var/lib/ovn-chassis')).mode & 0o777).toBe(0o700);
    expect(again.code).toBe(3);
  }, 120_000);
});
