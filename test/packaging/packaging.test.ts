import { copyFileSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { PROTOCOL_VERSION } from '../../schemas/rpc.js';
import { OUTPUT_API_VERSION } from '../../schemas/output.js';
import { checkedOutput } from '../support/cli.js';
import { TESTED_WITH, VERSION } from '../../schemas/version.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildExecutables } from '../../scripts/package.js';
import { OvsdbServer, tempDir, waitFor } from '../../sandbox/index.js';
import { execFileSync, spawn, spawnSync } from 'node:child_process';

/**
 * What puts the agent on a node: the single executables (npm run package),
 * run with no `node` anywhere on PATH against a real ovsdb-server, and the
 * hardened systemd unit that runs one of them.
 */
let dir: string;
let server: OvsdbServer;
let agent: string;
let controller: string;

beforeAll(async () => {
  dir = tempDir('pkg');
  [controller, agent] = (await buildExecutables(dir)) as [string, string];
  server = await OvsdbServer.start();
}, 120_000);

afterAll(async () => {
  await server?.stop();
});

/** Runs an executable with no node anywhere on PATH. */
function runBare(exe: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(exe, args, { env: { PATH: '/nonexistent', HOME: dir }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

describe('single executables (no Node.js on the machine)', () => {
  it('the agent applies to a real ovsdb-server, then diff finds nothing to do', async () => {
    const cfg = join(dir, 'chassis.yaml');
    writeFileSync(cfg, 'systemId: sea-1\novnRemote: tcp:192.0.2.1:6642\nencap: {ip: 192.0.2.71}\ngateway: true\nbridgeMappings: {physnet1: br-ex}\n', { mode: 0o600 });
    const state = join(dir, 'state');
    const diff1 = await runBare(agent, ['diff', '--config', cfg, '--db', server.unix]);
    expect(diff1.code, diff1.stderr).toBe(2);
    const apply = await runBare(agent, ['apply', '--config', cfg, '--db', server.unix, '--state-dir', state]);
    expect(apply.code, apply.stderr).toBe(0);
    expect(server.externalIds()).toMatchObject({ 'system-id': 'sea-1', 'ovn-encap-ip': '192.0.2.71', 'ovn-cms-options': 'enable-chassis-as-gw' });
    const diff2 = await runBare(agent, ['diff', '--config', cfg, '--db', server.unix]);
    expect(diff2.code, diff2.stdout).toBe(0);
    expect(diff2.stdout).toBe('no changes\n');
  });

  it('both say their version, protocol, Node.js and what they were tested with', async () => {
    for (const [exe, program] of [[agent, 'ovn-chassis-agent'], [controller, 'ovn-chassis']] as const) {
      const v = await runBare(exe, ['--version']);
      expect(v.code, v.stderr).toBe(0);
      expect(v.stdout).toBe(`${program} ${VERSION}\nagent protocol ${PROTOCOL_VERSION}\nNode.js ${process.versions.node}\ntested with Open vSwitch ${TESTED_WITH.openvswitch}, OVN ${TESTED_WITH.ovn}\n`);
    }
  });

  it('the controller validates an inventory', async () => {
    const inv = join(dir, 'inventory.yaml');
    writeFileSync(inv, 'ovn: {southbound: [tcp:192.0.2.1:6642]}\nhosts:\n  cmp-1: {address: 192.0.2.11}\n  cmp-2: {address: 192.0.2.11}\n');
    const r = await runBare(controller, ['validate', '-i', inv]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('encap IP 192.0.2.11 is used by cmp-1, cmp-2');
  });
});

describe('the npm package', () => {
  it('npm pack, installed in an empty directory, gives working ovn-chassis and ovn-chassis-agent', async () => {
    const out = tempDir('npm-pack');
    // As a publisher packs a fresh clone: the tracked files, the npm packages installed, nothing built (prepack builds).
    const clone = join(out, 'clone');
    for (const f of execFileSync('git', ['ls-files', '-co', '--exclude-standard'], { encoding: 'utf8' }).split('\n').filter(Boolean)) {
      if (!existsSync(f)) continue;
      mkdirSync(dirname(join(clone, f)), { recursive: true });
      copyFileSync(f, join(clone, f));
    }
    symlinkSync(resolve('node_modules'), join(clone, 'node_modules'));
    expect(existsSync(join(clone, 'dist'))).toBe(false);
    const tgz = execFileSync('npm', ['pack', '--pack-destination', out, '--silent'], { cwd: clone, encoding: 'utf8' }).trim().split('\n').pop() as string;
    const app = join(out, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), '{"name": "site", "private": true}\n');
    execFileSync('npm', ['install', '--omit=dev', '--no-audit', '--no-fund', '--loglevel=error', join(out, tgz)], { cwd: app, stdio: 'pipe' });
    const bin = (name: string) => join(app, 'node_modules', '.bin', name);
    const help = spawnSync(bin('ovn-chassis'), ['--help'], { encoding: 'utf8' });
    expect(help.status, help.stderr).toBe(0);
    expect(help.stdout).toContain('ovn-chassis rollout');
    for (const name of ['ovn-chassis', 'ovn-chassis-agent']) {
      const v = spawnSync(bin(name), ['--version', '--json'], { encoding: 'utf8' });
      expect(v.status, v.stderr).toBe(0);
      expect(checkedOutput(bin(name), ['--version', '--json'], v.stdout)).toEqual({ apiVersion: OUTPUT_API_VERSION, command: 'version', program: name, version: VERSION, protocol: PROTOCOL_VERSION, node: process.versions.node, testedWith: TESTED_WITH });
    }
    const cfg = join(out, 'chassis.yaml');
    writeFileSync(cfg, 'systemId: sea-1\novnRemote: tcp:192.0.2.1:6642\nencap: {ip: 192.0.2.99}\n', { mode: 0o600 });
    const diff = spawnSync(bin('ovn-chassis-agent'), ['diff', '--config', cfg, '--db', server.unix], { encoding: 'utf8' });
    expect(diff.status, diff.stderr).toBe(2);
    expect(diff.stdout).toContain('~ ovn-encap-ip');
  }, 180_000);
});

describe.skipIf(!existsSync('/usr/bin/systemd-analyze'))('the systemd unit (packaging/systemd/ovn-chassis-agent.service)', () => {
  const unit = readFileSync('packaging/systemd/ovn-chassis-agent.service', 'utf8');
  /** The unit as installed on a node whose paths are this test's. */
  const installed = (paths: Record<string, string>) => Object.entries(paths).reduce((u, [from, to]) => u.split(from).join(to), unit);

  it('passes systemd-analyze verify, with nothing to say', () => {
    const path = join(dir, 'ovn-chassis-agent.service');
    writeFileSync(path, installed({ '/usr/local/bin/ovn-chassis-agent': agent }));
    const r = spawnSync('systemd-analyze', ['verify', path], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr.trim()).toBe('');
    expect(unit).toMatch(/^ProtectSystem=strict$/m);
    expect(unit).toMatch(/^NoNewPrivileges=yes$/m);
  });

  it('its command line runs: the serving agent applies the config and answers on its socket', async () => {
    // No running systemd here to start the unit: its ExecStart is run as systemd would run it.
    const state = join(dir, 'unit-state');
    const cfg = join(dir, 'unit-chassis.yaml');
    writeFileSync(cfg, 'systemId: sea-1\novnRemote: tcp:192.0.2.1:6642\nencap: {ip: 192.0.2.72}\n', { mode: 0o600 });
    const u = installed({ '/usr/local/bin/ovn-chassis-agent': agent, '/etc/ovn-chassis/chassis.yaml': cfg, 'unix:/run/openvswitch/db.sock': server.unix, '/var/lib/ovn-chassis': state });
    const argv = (/^ExecStart=(.*)$/m.exec(u)?.[1] ?? '').split(' ');
    expect(argv[0]).toBe(agent);
    const daemon = spawn(argv[0] as string, argv.slice(1), { env: { PATH: '/nonexistent' }, stdio: 'ignore' });
    try {
      await waitFor('the unit\'s agent serving', () => existsSync(join(state, 'agent.sock')) && server.externalIds()['ovn-encap-ip'] === '192.0.2.72', 20_000);
      expect(server.externalIds()['ovn-encap-ip']).toBe('192.0.2.72');
    } finally {
      daemon.kill('SIGTERM');
      await new Promise((r) => daemon.once('close', r));
    }
    expect(existsSync(join(state, 'agent.sock'))).toBe(false);
  });
});
