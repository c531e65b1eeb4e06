import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { OvsdbServer, alive, run, sleep, spawnServer, stopPid, tempDir, waitFor, Dockerd, Sandbox, type OvnController, Sshd } from '../../sandbox/index.js';
import { AGENT_BIN, CONTROLLER_BIN, type CliResult, nodesOf, runCli } from '../support/cli.js';
import { helloThen } from '../support/serving.js';

/**
 * The fault suite: what production does to the tool, done for real and
 * bounded in time. For every case: what the tool reported, and proof that each
 * node's managed keys are all old or all new, that no key of anyone else was
 * lost, and that the report matches what the node holds.
 */
let cases = 0;
let nodesChecked = 0;
afterAll(() => {
  console.log(`fault suite: ${cases} fault cases run, ${nodesChecked} node states checked, 0 with mixed or lost keys`);
});

const OLD = { 'ovn-encap-ip': '192.0.2.1', 'ovn-remote': 'tcp:192.0.2.100:6642', 'ovn-encap-type': 'geneve' };
const NEW = { 'ovn-encap-ip': '192.0.2.2', 'ovn-remote': 'tcp:192.0.2.101:6642', 'ovn-encap-type': 'vxlan' };
const config = (v: Record<string, string>) =>
  `systemId: fault-1\novnRemote: ${v['ovn-remote']}\nencap: {type: ${v['ovn-encap-type']}, ip: ${v['ovn-encap-ip']}}\n`;
const FOREIGN = { 'neutron:ovn-metadata-id': 'meta-1', 'operator-note': 'keep me' };

/**
 * The node holds all the old values or all the new ones, every foreign key,
 * and what the tool said: done means new; an error means old, unless the
 * error says the outcome is unknown (then either, but never a mix).
 */
function expectConsistent(ids: Record<string, string>, r: { code: number; stderr: string }, what: string): 'old' | 'new' {
  nodesChecked++;
  const pick = (v: Record<string, string>) => Object.fromEntries(Object.keys(v).map((k) => [k, ids[k]]));
  const now = pick(OLD);
  const state = JSON.stringify(now) === JSON.stringify(OLD) ? 'old' : JSON.stringify(now) === JSON.stringify(NEW) ? 'new' : 'mixed';
  expect(state, `${what}: managed keys ${JSON.stringify(now)}`).not.toBe('mixed');
  for (const [k, v] of Object.entries(FOREIGN)) expect(ids[k], `${what}: foreign key ${k}`).toBe(v);
  if (r.code === 0) expect(state, `${what}: reported done`).toBe('new');
  // Exit 1 promises the node was not changed; a write whose outcome is unknown says so and exits 3.
  else if (r.code === 1) expect(state, `${what}: reported failed (${r.stderr.trim().split('\n').pop()})`).toBe('old');
  else expect({ code: r.code, said: /may or may not have been made/.test(r.stderr) }, what).toEqual({ code: 3, said: true });
  return state as 'old' | 'new';
}

async function baseline(server: OvsdbServer, stateDir: string): Promise<void> {
  server.vsctl('clear', 'Open_vSwitch', '.', 'external_ids');
  server.vsctl('set', 'Open_vSwitch', '.', ...Object.entries(FOREIGN).map(([k, v]) => `external_ids:"${k}"="${v}"`));
  const cfg = join(stateDir, 'old.yaml');
  writeFileSync(cfg, config(OLD));
  const r = await runCli(AGENT_BIN, ['apply', '--config', cfg, '--db', server.unix, '--state-dir', stateDir]);
  expect(r.code, r.stderr).toBe(0);
}

/** Runs a CLI and calls `fault` after `delayMs`, while it runs. */
function cliWithFault(bin: string, args: string[], delayMs: number, fault: () => Promise<void> | void): Promise<CliResult> {
  const done = runCli(bin, args);
  const hit = sleep(delayMs).then(fault);
  return Promise.all([done, hit]).then(([r]) => r);
}

describe('fault suite', () => {
  it('ovsdb-server killed at 8 points during an agent apply: all old or all new, and the exit code says which', async () => {
    const server = await OvsdbServer.start();
    try {
      const outcomes: string[] = [];
      for (let i = 0; i < 8; i++) {
        const stateDir = tempDir('fault-kill');
        await baseline(server, stateDir);
        const cfg = join(stateDir, 'new.yaml');
        writeFileSync(cfg, config(NEW));
        const r = await cliWithFault(AGENT_BIN, ['apply', '--config', cfg, '--db', server.unix, '--state-dir', stateDir], 150 + i * 40, () => server.stop('SIGKILL'));
        await server.launch();
        cases++;
        outcomes.push(`${r.code}:${expectConsistent(server.externalIds(), r, `kill ${i}`)}`);
        // Where the change landed, one rollback takes the node back to exactly the baseline, passing over any snapshot the kill left.
        if (outcomes.at(-1)?.endsWith('new')) {
          const rb = await runCli(AGENT_BIN, ['rollback', '--db', server.unix, '--state-dir', stateDir]);
          expect(rb.code, rb.stderr).toBe(0);
          expect(expectConsistent(server.externalIds(), { code: 1, stderr: '' }, `rollback after kill ${i}`)).toBe('old');
        }
      }
      console.log(`ovsdb-server killed during apply: exit:state per kill point ${outcomes.join(' ')}`);
    } finally {
      await server.stop();
    }
  });

  it('ovsdb-server killed under a serving agent\'s monitor, a managed key changed while it was down: repaired when it returns', async () => {
    const server = await OvsdbServer.start();
    const stateDir = tempDir('fault-monitor');
    await baseline(server, stateDir);
    const cfg = join(stateDir, 'new.yaml');
    writeFileSync(cfg, config(NEW));
    const daemon = spawnServer(process.execPath, [AGENT_BIN, 'serve', '--config', cfg, '--db', server.unix, '--state-dir', stateDir]);
    try {
      await waitFor('serving and converged', () => existsSync(join(stateDir, 'agent.sock')) && server.externalIds()['ovn-encap-ip'] === NEW['ovn-encap-ip'], 20_000);
      await server.stop('SIGKILL');
      run('ovsdb-tool', ['transact', `${server.dir}/db0.db`, JSON.stringify(['Open_vSwitch', { op: 'mutate', table: 'Open_vSwitch', where: [], mutations: [['external_ids', 'delete', ['set', ['ovn-remote']]], ['external_ids', 'insert', ['map', [['ovn-remote', 'tcp:10.9.9.9:6642']]]]] }])]);
      await sleep(300);
      expect(alive(daemon.pid)).toBe(true);
      await server.launch();
      await waitFor('repaired after the restart', () => server.externalIds()['ovn-remote'] === NEW['ovn-remote'], 20_000);
      cases++;
      expectConsistent(server.externalIds(), { code: 0, stderr: '' }, 'monitor');
    } finally {
      await stopPid(daemon.pid);
      await server.stop();
    }
  });

  it('a serving agent SIGKILLed at 6 points while it re-applies: all old or all new, and it converges on restart', async () => {
    const server = await OvsdbServer.start();
    try {
      for (let i = 0; i < 6; i++) {
        const stateDir = tempDir('fault-daemon');
        await baseline(server, stateDir);
        const cfg = join(stateDir, 'new.yaml');
        writeFileSync(cfg, config(NEW));
        const daemon = spawnServer(process.execPath, [AGENT_BIN, 'serve', '--config', cfg, '--db', server.unix, '--state-dir', stateDir]);
        await sleep(150 + i * 60);
        await stopPid(daemon.pid, 'SIGKILL');
        cases++;
        // A killed process says nothing: its outcome is unknown, as an exit 3 says.
        expectConsistent(server.externalIds(), { code: 3, stderr: 'killed: may or may not have been made' }, `daemon kill ${i}`);
        const again = spawnServer(process.execPath, [AGENT_BIN, 'serve', '--config', cfg, '--db', server.unix, '--state-dir', stateDir]);
        try {
          await waitFor('converged after restart', () => server.externalIds()['ovn-encap-ip'] === NEW['ovn-encap-ip'], 20_000);
          expectConsistent(server.externalIds(), { code: 0, stderr: '' }, `daemon restart ${i}`);
        } finally {
          await stopPid(again.pid);
        }
        // The serving agent is gone: a one-off rollback takes the node back to the baseline exactly, passing over any snapshot a kill left.
        const rb = await runCli(AGENT_BIN, ['rollback', '--db', server.unix, '--state-dir', stateDir]);
        expect(rb.code, rb.stderr).toBe(0);
        expectConsistent(server.externalIds(), { code: 1, stderr: '' }, `rollback after daemon kill ${i}`);
      }
    } finally {
      await server.stop();
    }
  });

  describe.skipIf(process.getuid?.() !== 0)('the state dir full or read-only, at each write the agent makes', () => {
    const mounts: string[] = [];
    afterAll(() => {
      for (const m of mounts) execFileSync('umount', [m]);
    });

    function tmpfs(kb: number): string {
      const dir = tempDir('tmpfs');
      execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${kb}k,mode=0700`, 'tmpfs', dir]);
      mounts.push(dir);
      return dir;
    }
    const fill = (dir: string) => {
      try {
        execFileSync('dd', ['if=/dev/zero', `of=${join(dir, 'filler')}`, 'bs=4k', 'count=100000'], { stdio: 'ignore' });
      } catch {
        /* ENOSPC: full, as wanted */
      }
    };
    const readOnly = (dir: string) => execFileSync('mount', ['-o', 'remount,ro', dir]);

    it('before the write (the snapshot): full or read-only, the apply fails with exit 1 and the node is unchanged', async () => {
      const server = await OvsdbServer.start();
      try {
        for (const how of ['full', 'read-only'] as const) {
          const stateDir = tmpfs(128);
          await baseline(server, stateDir);
          if (how === 'full') fill(stateDir);
          else readOnly(stateDir);
          const cfg = join(tempDir('cfg'), 'new.yaml');
          writeFileSync(cfg, config(NEW));
          const r = await runCli(AGENT_BIN, ['apply', '--config', cfg, '--db', server.unix, '--state-dir', stateDir]);
          cases++;
          expect(r.code).toBe(1);
          expect(r.stderr).toMatch(how === 'full' ? /ENOSPC|no space/i : /EROFS|read-only/i);
          expect(expectConsistent(server.externalIds(), r, `snapshot ${how}`)).toBe('old');
        }
      } finally {
        await server.stop();
      }
    });

    it('after the write: a read-only state dir at rollback, a full one for desired.json and for system-id.conf: done, with a warning that says so', async () => {
      const server = await OvsdbServer.start();
      try {
        // rollback: the node is restored; the snapshot cannot be moved aside.
        const stateDir = tmpfs(256);
        await baseline(server, stateDir);
        const cfg = join(tempDir('cfg'), 'new.yaml');
        writeFileSync(cfg, config(NEW));
        expect((await runCli(AGENT_BIN, ['apply', '--config', cfg, '--db', server.unix, '--state-dir', stateDir])).code).toBe(0);
        readOnly(stateDir);
        const rb = await runCli(AGENT_BIN, ['rollback', '--db', server.unix, '--state-dir', stateDir]);
        cases++;
        expect(rb.code, rb.stderr).toBe(0);
        expect(rb.stdout).toMatch(/warning: restored, but the snapshot could not be marked as used/);
        expect(expectConsistent(server.externalIds(), { code: 1, stderr: '' }, 'rollback on read-only')).toBe('old');

        // system-id.conf on a full filesystem, written after the OVSDB write.
        const etc = tmpfs(64);
        writeFileSync(join(etc, 'system-id.conf'), 'fault-1\n');
        fill(etc);
        const state2 = tempDir('fault-sysid');
        writeFileSync(join(state2, 'other-id.yaml'), config(NEW).replace('fault-1', 'fault-2'));
        await baseline(server, state2);
        const r = await runCli(AGENT_BIN, ['apply', '--config', join(state2, 'other-id.yaml'), '--allow-system-id-change', '--system-id-conf', join(etc, 'system-id.conf'), '--db', server.unix, '--state-dir', state2]);
        cases++;
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout).toMatch(/warning: the node's OVSDB now has system-id fault-2, but .*system-id\.conf could not be updated/);
        expect(expectConsistent(server.externalIds(), r, 'system-id.conf full')).toBe('new');

        // desired.json on a full state dir, after an apply through the serving agent.
        const state3 = tmpfs(256);
        await baseline(server, state3);
        const oldCfg = join(tempDir('cfg'), 'old.yaml');
        writeFileSync(oldCfg, config(OLD));
        const daemon = spawnServer(process.execPath, [AGENT_BIN, 'serve', '--config', oldCfg, '--db', server.unix, '--state-dir', state3]);
        try {
          await waitFor('serving', () => existsSync(join(state3, 'agent.sock')), 20_000);
          fill(state3);
          const answers = await helloThen(join(state3, 'agent.sock'), { id: 2, method: 'apply', params: { config: { systemId: 'fault-1', ovnRemote: NEW['ovn-remote'], encap: { type: NEW['ovn-encap-type'], ip: NEW['ovn-encap-ip'] } } } });
          cases++;
          const res = answers[1] as { result?: { applied: boolean; warnings: string[] }; error?: { message: string } };
          // With no room even for the snapshot, the apply is refused before the write; with room for it, desired.json fails after.
          if (res.error) expect(expectConsistent(server.externalIds(), { code: 1, stderr: res.error.message }, 'rpc apply, state dir full')).toBe('old');
          else {
            expect(res.result?.warnings.join('\n')).toMatch(/could not save it/);
            expect(expectConsistent(server.externalIds(), { code: 0, stderr: '' }, 'rpc apply, desired.json full')).toBe('new');
          }
        } finally {
          await stopPid(daemon.pid);
        }
      } finally {
        await server.stop();
      }
    });
  });

  const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';
/** The environment that makes a process see the clock moved by `offset` (libfaketime, e.g. "-2d"). */
const clock = (offset: string) => ({ LD_PRELOAD: LIBFAKETIME, FAKETIME: offset, FAKETIME_DONT_FAKE_MONOTONIC: '1' });

describe.skipIf(!existsSync(LIBFAKETIME))('the clock stepped back and forward', () => {
    it('between snapshots: an apply made with the clock two days back is still the one rollback undoes first', async () => {
      const server = await OvsdbServer.start();
      try {
        const stateDir = tempDir('fault-clock');
        await baseline(server, stateDir);
        const cfg = join(stateDir, 'new.yaml');
        writeFileSync(cfg, config(NEW));
        const r = await runCli(AGENT_BIN, ['apply', '--config', cfg, '--db', server.unix, '--state-dir', stateDir], { env: clock('-2d') });
        expect(r.code, r.stderr).toBe(0);
        const rb = await runCli(AGENT_BIN, ['rollback', '--db', server.unix, '--state-dir', stateDir], { env: clock('+3d') });
        cases++;
        expect(rb.code, rb.stderr).toBe(0);
        expect(expectConsistent(server.externalIds(), { code: 1, stderr: '' }, 'clock back between snapshots')).toBe('old');
      } finally {
        await server.stop();
      }
    });

    it('during a rollout: stopped with the clock a day ahead, resumed with it two days back, every node done once', async () => {
      const sandbox = await Sandbox.start({ gateways: 0, computes: 3 });
      try {
        const inv = join(sandbox.dir, 'clock.yaml');
        writeFileSync(inv, stringify(sandbox.inventory()));
        const journal = join(sandbox.dir, 'clock.journal');
        const args = ['rollout', '-i', inv, '--batch', '1', '--journal', journal, '--state-dir', sandbox.dir, '--json'];
        const first = spawn(process.execPath, [CONTROLLER_BIN, ...args], { stdio: 'ignore', env: { ...process.env, ...clock('+1d') } });
        await waitFor('first node done', () => existsSync(journal) && /"state":"done"/.test(execFileSync('cat', [journal], { encoding: 'utf8' })), 30_000);
        first.kill('SIGKILL');
        await new Promise((r) => first.once('close', r));
        const resumed = await runCli(CONTROLLER_BIN, [...args, '--resume'], { env: clock('-2d') });
        cases++;
        expect(resumed.code, resumed.stderr).toBe(0);
        const report = JSON.parse(resumed.stdout) as { outcome: string; nodes: { host: string; state: string }[] };
        expect(report.outcome).toBe('done');
        for (const n of sandbox.nodes) {
          nodesChecked++;
          expect(n.ovsdb.externalIds()['ovn-encap-ip']).toBe(n.address);
          const applies = execFileSync('cat', [journal], { encoding: 'utf8' }).split('\n').filter((l) => l.includes(`"host":"${n.name}"`) && l.includes('"step":"apply"') && l.includes('"phase":"end"') && l.includes('"ok":true'));
          expect(applies, n.name).toHaveLength(1);
        }
      } finally {
        await sandbox.stop();
      }
    });
  });

  it.each(['agent', 'direct'] as const)('sshd killed at 4 points (before, during each node\'s write, after) while the controller applies over SSH (via %s): every node all old or all new, and the report says which (or that it cannot know)', async (via) => {
    const sshd = await Sshd.start();
    const sandbox = await Sandbox.start({ gateways: 0, computes: 2 });
    try {
      const inv = sandbox.inventory() as { defaults: Record<string, unknown>; hosts: Record<string, Record<string, unknown>> };
      const knownHosts = join(sshd.dir, 'known_hosts');
      writeFileSync(knownHosts, `${sshd.knownHostsLine()}\n`);
      inv.defaults.transport = { kind: 'ssh', user: 'root', port: sshd.port, privateKey: sshd.clientKey.key, knownHosts, agentCommand: [process.execPath, AGENT_BIN], via };
      for (const n of sandbox.nodes) Object.assign(inv.hosts[n.name] as object, { address: '127.0.0.1', encap: { ip: n.address }, transport: { stateDir: n.stateDir } });
      const path = join(sandbox.dir, 'ssh.yaml');
      writeFileSync(path, stringify(inv));
      const seen: string[] = [];
      // Before anything is reached, while the first node's agent is writing (its snapshot just landed), and after it all.
      const snapshotsOf = (i: number) => join(sandbox.nodes[i]!.stateDir, 'snapshots');
      const names = (i: number) => (existsSync(snapshotsOf(i)) ? readdirSync(snapshotsOf(i)).filter((f) => f.endsWith('.json')) : []);
      const writing = (i: number) => async () => {
        const before = new Set(names(i));
        await waitFor(`node ${i + 1} writing`, () => names(i).some((f) => !before.has(f)), 20_000);
      };
      const points: (() => Promise<void>)[] = [
        () => sleep(200),
        writing(0),
        writing(1),
        () => sleep(3000),
      ];
      for (const [i, point] of points.entries()) {
        for (const n of sandbox.nodes) n.ovsdb.vsctl('clear', 'Open_vSwitch', '.', 'external_ids');
        for (const n of sandbox.nodes) n.ovsdb.vsctl('set', 'Open_vSwitch', '.', ...Object.entries(FOREIGN).map(([k, v]) => `external_ids:"${k}"="${v}"`));
        const running = runCli(CONTROLLER_BIN, ['apply', '-i', path, '--no-verify', '--json', '--state-dir', sandbox.dir]);
        await point();
        await sshd.crash();
        const r = await running;
        await sshd.restart();
        cases++;
        const report = nodesOf<{ host: string; ok: boolean; error?: { code: string; message: string } }>(r.stdout);
        seen.push(`exit ${r.code} [${report.map((x) => (x.ok ? 'ok' : x.error?.code)).join(', ')}]`);
        for (const n of sandbox.nodes) {
          nodesChecked++;
          const ids = n.ovsdb.externalIds();
          for (const [k, v] of Object.entries(FOREIGN)) expect(ids[k], `${n.name}: foreign key ${k}`).toBe(v);
          const applied = ids['ovn-encap-ip'] === n.address && ids['system-id'] !== undefined;
          const untouched = ids['ovn-encap-ip'] === undefined && ids['system-id'] === undefined;
          expect(applied || untouched, `${n.name} after kill ${i}: ${JSON.stringify(ids)}`).toBe(true);
          const said = report.find((x) => x.host === n.name);
          if (said?.ok) expect(applied, `${n.name} reported applied`).toBe(true);
          else if (said && said.error?.code !== 'OUTCOME_UNKNOWN') expect(untouched, `${n.name} reported failed (${said.error?.code}) yet changed`).toBe(true);
          // Exit 1 promises no node was changed: any node reported changed or perhaps changed makes it 3.
          if (r.code === 1) expect(untouched && said?.error?.code !== 'OUTCOME_UNKNOWN', `${n.name}: exit 1 with ${JSON.stringify(said)}`).toBe(true);
        }
      }
      console.log(`sshd killed during apply (via ${via}): ${seen.join('; ')}`);
    } finally {
      await sandbox.stop();
      await sshd.stop();
    }
  });

  it('dockerd restarted (killed, then started again) at 3 points of a docker-backend apply: all old or all new, and the exit code says which', async () => {
    const dockerd = await Dockerd.start();
    try {
      await dockerd.buildOvsImage();
      const runDir = join(dockerd.dir, 'ovs-run');
      await dockerd.startOvsContainer('openvswitch_vswitchd', runDir);
      const db = `unix:${runDir}/db.sock`;
      const vsctl = (...a: string[]) => run('ovs-vsctl', [`--db=${db}`, '--no-wait', ...a]);
      const ids = () => Object.fromEntries((JSON.parse(vsctl('--format=json', '--data=json', '--columns=external_ids', 'list', 'Open_vSwitch')) as { data: [[string, [string, string][]]][] }).data[0]?.[0]?.[1] ?? []);
      vsctl('init');
      const backend = ['--docker', 'openvswitch_vswitchd', '--docker-socket', dockerd.socketPath];
      const seen: string[] = [];
      for (const [i, point] of ['at once', 'during the write', 'after'].entries()) {
        const stateDir = tempDir('fault-dockerd');
        vsctl('clear', 'Open_vSwitch', '.', 'external_ids');
        vsctl('set', 'Open_vSwitch', '.', ...Object.entries(FOREIGN).map(([k, v]) => `external_ids:"${k}"="${v}"`));
        writeFileSync(join(stateDir, 'old.yaml'), config(OLD));
        writeFileSync(join(stateDir, 'new.yaml'), config(NEW));
        expect((await runCli(AGENT_BIN, ['apply', '--config', join(stateDir, 'old.yaml'), ...backend, '--state-dir', stateDir])).code).toBe(0);
        const snaps = () => readdirSync(join(stateDir, 'snapshots')).filter((f) => f.endsWith('.json')).length;
        const before = snaps();
        const running = runCli(AGENT_BIN, ['apply', '--config', join(stateDir, 'new.yaml'), ...backend, '--state-dir', stateDir]);
        if (point === 'during the write') await waitFor('the snapshot before the write', () => snaps() > before, 20_000);
        if (point === 'after') await running;
        await dockerd.restart();
        const r = await running;
        await waitFor('the Open vSwitch container back', () => {
          try {
            return ids()['operator-note'] !== undefined;
          } catch {
            return undefined;
          }
        }, 30_000);
        cases++;
        seen.push(`${point}: exit ${r.code}`);
        expectConsistent(ids(), r, `dockerd restart ${i} (${point})`);
        expect((await dockerd.api.getContainer('openvswitch_vswitchd').inspect()).State.Running).toBe(true);
      }
      console.log(`dockerd restarted during a docker-backend apply: ${seen.join('; ')}`);
    } finally {
      await dockerd.stop();
    }
  });

  it('the Southbound down while the controller verifies: verified once it is back; reported not verified (with the node applied) when it stays down', async () => {
    const sandbox = await Sandbox.start({ gateways: 0, computes: 2 });
    try {
      const inv = join(sandbox.dir, 'sb.yaml');
      writeFileSync(inv, stringify(sandbox.inventory()));
      const apply = (timeoutS: number) => runCli(CONTROLLER_BIN, ['apply', '-i', inv, '--verify-timeout', String(timeoutS), '--json', '--state-dir', sandbox.dir]);
      const written = () => sandbox.nodes.every((n) => n.ovsdb.externalIds()['system-id']);

      const applying = apply(40);
      await waitFor('nodes written', written, 30_000);
      await sandbox.sb.stop('SIGKILL');
      await sleep(1500);
      await sandbox.sb.launch();
      const back = await applying;
      cases++;
      expect(back.code, back.stderr).toBe(0);
      for (const n of sandbox.nodes) {
        nodesChecked++;
        expect(n.ovsdb.externalIds()['ovn-encap-ip']).toBe(n.address);
      }

      // No ovn-controller to register again, no chassis left: verification can only wait.
      for (const n of sandbox.nodes) await stopPid((n.controller as OvnController).pid);
      for (const n of sandbox.nodes) n.ovsdb.vsctl('clear', 'Open_vSwitch', '.', 'external_ids');
      for (const name of run('ovn-sbctl', [`--db=${sandbox.sb.unix}`, '--columns=name', '--bare', 'list', 'Chassis']).split('\n').filter(Boolean)) {
        run('ovn-sbctl', [`--db=${sandbox.sb.unix}`, 'chassis-del', name]);
      }
      const staysDown = apply(4);
      await waitFor('nodes written again', written, 30_000);
      await sandbox.sb.stop('SIGKILL');
      const down = await staysDown;
      cases++;
      // Every node was changed, though none verified: 3, never the 1 that says nothing was changed.
      expect(down.code).toBe(3);
      const nodes = nodesOf<{ host: string; ok: boolean; error?: { code: string; message: string } }>(down.stdout);
      for (const n of nodes) {
        nodesChecked++;
        expect(n.error?.code).toBe('NOT_VERIFIED');
        expect(n.error?.message).toMatch(/applied, but/);
        expect(sandbox.nodes.find((x) => x.name === n.host)?.ovsdb.externalIds()['system-id']).toBeDefined();
      }
      await sandbox.sb.launch();
    } finally {
      await sandbox.stop();
    }
  });
});
