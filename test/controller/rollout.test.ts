import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRecords } from '../../controller/journal.js';
import { STEPS } from '../../schemas/journal.js';
import { Dockerd, Sandbox, run, sleep, waitFor } from '../../sandbox/index.js';
import { CONTROLLER_BIN, runCli } from '../support/cli.js';

/**
 * Rolling migration on 8 sandbox nodes (real ovsdb-servers and ovn-controllers); the
 * container hooks act on real containers of a real dockerd, as stopping midolman and
 * starting ovn_controller would on a Kolla node.
 */
let sandbox: Sandbox;
let dockerd: Dockerd;
let base: Record<string, any>;
const DOCKER_NODES = ['cmp-1', 'cmp-2'];

beforeAll(async () => {
  sandbox = await Sandbox.start({ gateways: 2, computes: 6 });
  dockerd = await Dockerd.start();
  await dockerd.buildOvsImage();
  for (const n of DOCKER_NODES) {
    await dockerd.startOvsContainer(`midolman-${n}`, join(dockerd.dir, `run-midolman-${n}`));
    const c = await dockerd.startOvsContainer(`ovn_controller-${n}`, join(dockerd.dir, `run-ovn-${n}`));
    await c.stop();
  }
  base = sandbox.inventory() as Record<string, any>;
  base.rollout = { order: ['compute', 'gateway'] };
  for (const n of sandbox.nodes) {
    const log = hookLog(n.name);
    const hooks: Record<string, unknown[]> = {
      before: [{ action: 'command', argv: ['sh', '-c', 'echo before >> "$0"', log] }],
      after: [{ action: 'command', argv: ['sh', '-c', 'echo after >> "$0"', log] }],
      rollback: [{ action: 'command', argv: ['sh', '-c', 'echo rollback >> "$0"', log] }],
    };
    if (DOCKER_NODES.includes(n.name)) {
      const sock = dockerd.socketPath;
      hooks.before!.push({ action: 'stop', container: `midolman-${n.name}`, dockerSocket: sock, timeoutS: 20 });
      hooks.after!.unshift({ action: 'start', container: `ovn_controller-${n.name}`, dockerSocket: sock }, { action: 'wait-healthy', container: `ovn_controller-${n.name}`, dockerSocket: sock, timeoutS: 20 });
      hooks.rollback!.push({ action: 'stop', container: `ovn_controller-${n.name}`, dockerSocket: sock, timeoutS: 20 }, { action: 'start', container: `midolman-${n.name}`, dockerSocket: sock });
    }
    base.hosts[n.name].hooks = hooks;
  }
}, 180_000);

afterAll(async () => {
  await dockerd?.stop();
  await sandbox?.stop();
});

function hookLog(host: string): string {
  return join(sandbox.dir, `hooks-${host}.log`);
}

const hookLines = (host: string) => (existsSync(hookLog(host)) ? readFileSync(hookLog(host), 'utf8').trim().split('\n').filter(Boolean) : []);
const snapshots = (host: string) => {
  const dir = join(sandbox.nodes.find((n) => n.name === host)!.stateDir, 'snapshots');
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json')).length : 0;
};
const recordCount = (journal: string) => (existsSync(journal) ? readFileSync(journal, 'utf8').split('\n').length - 1 : 0);
const running = async (name: string) => (await dockerd.api.getContainer(name).inspect()).State.Running;

function writeInventory(name: string, edit?: (inv: Record<string, any>) => void): string {
  const inv = structuredClone(base);
  edit?.(inv);
  const p = join(sandbox.dir, name);
  writeFileSync(p, stringify(inv));
  return p;
}

/** Back to an unmigrated fleet: no chassis keys (a MidoNet node's own keys kept), no chassis, no state, containers as before. */
async function reset(): Promise<void> {
  for (const n of sandbox.nodes) {
    n.ovsdb.vsctl('clear', 'Open_vSwitch', '.', 'external_ids');
    n.ovsdb.vsctl('set', 'Open_vSwitch', '.', 'external_ids:midonet-era=keep');
    rmSync(n.stateDir, { recursive: true, force: true });
    rmSync(hookLog(n.name), { force: true });
  }
  for (const name of run('ovn-sbctl', [`--db=${sandbox.sb.unix}`, '--columns=name', '--bare', 'list', 'Chassis']).split('\n').filter(Boolean)) {
    run('ovn-sbctl', [`--db=${sandbox.sb.unix}`, '--if-exists', 'chassis-del', name]);
  }
  for (const n of DOCKER_NODES) {
    await dockerd.api.getContainer(`ovn_controller-${n}`).stop().catch(() => undefined);
    await dockerd.api.getContainer(`midolman-${n}`).start().catch(() => undefined);
  }
}

type Report = { outcome: string; nodes: { host: string; state: string; steps: { step: string; ok: boolean }[] }[] };
async function rolloutCli(args: string[]): Promise<{ code: number; report: Report; stderr: string; stdout: string }> {
  const r = await runCli(CONTROLLER_BIN, ['rollout', ...args, '--json', '--state-dir', sandbox.dir]);
  let report = {} as Report;
  try {
    report = JSON.parse(r.stdout) as Report;
  } catch {
    /* an error exit prints no report */
  }
  return { code: r.code, report, stderr: r.stderr, stdout: r.stdout };
}

describe('rollout', () => {
  it('migrates 8 nodes with --canary 1 --batch 3: hooks in order on real containers, every node verified, every step journaled', async () => {
    await reset();
    const journal = join(sandbox.dir, 'full.journal');
    const r = await rolloutCli(['-i', writeInventory('full.yaml'), '--canary', '1', '--batch', '3', '--journal', journal]);
    expect(r.code).toBe(0);
    expect(r.report.outcome).toBe('done');
    expect(r.report.nodes.every((n) => n.state === 'done' && n.steps.length === STEPS.length && n.steps.every((s) => s.ok))).toBe(true);
    const recs = readRecords(journal);
    const start = recs.find((x) => x.type === 'start') as { batches: string[][] };
    expect(start.batches).toEqual([['cmp-1'], ['cmp-2', 'cmp-3', 'cmp-4'], ['cmp-5', 'cmp-6'], ['gw-1', 'gw-2']]);
    for (const n of sandbox.nodes) {
      for (const step of STEPS) {
        const phases = recs.filter((x) => x.type === 'step' && x.host === n.name && x.step === step).map((x) => (x as { phase: string }).phase);
        expect(phases, `${n.name} ${step}`).toEqual(['begin', 'end']);
      }
      expect(hookLines(n.name)).toEqual(['before', 'after']);
      expect(n.ovsdb.externalIds()['midonet-era']).toBe('keep');
    }
    for (const n of DOCKER_NODES) {
      expect(await running(`midolman-${n}`)).toBe(false);
      expect(await running(`ovn_controller-${n}`)).toBe(true);
    }
    const ordered = recs.filter((x) => x.type === 'step' && x.host === 'cmp-1' && x.phase === 'end').map((x) => (x as { step: string }).step);
    expect(ordered).toEqual(['precheck', 'backup', 'drain', 'before', 'apply', 'after', 'plug', 'verify', 'undrain']);
  });

  it('rollback of two nodes restores their exact previous external_ids and runs the rollback hooks', async () => {
    const before = Object.fromEntries(['cmp-1', 'cmp-2'].map((h) => [h, { 'midonet-era': 'keep' }]));
    const r = await runCli(CONTROLLER_BIN, ['rollback', '-i', writeInventory('full.yaml'), '--limit', 'cmp-1,cmp-2', '--journal', join(sandbox.dir, 'full.journal'), '--state-dir', sandbox.dir]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('cmp-1: restored');
    for (const h of ['cmp-1', 'cmp-2']) {
      expect(sandbox.nodes.find((n) => n.name === h)!.ovsdb.externalIds()).toEqual(before[h]);
      expect(hookLines(h)).toEqual(['before', 'after', 'rollback']);
      expect(await running(`midolman-${h}`)).toBe(true);
      expect(await running(`ovn_controller-${h}`)).toBe(false);
    }
    expect(sandbox.nodes.find((n) => n.name === 'cmp-3')!.ovsdb.externalIds()['ovn-encap-ip']).toBeDefined();
  });

  it('stops after a batch with more failures than --max-failures, leaves later batches untouched, and --resume finishes without touching done nodes', async () => {
    await reset();
    const inv = writeInventory('fail.yaml');
    // cmp-3 (batch 2) will register another IP than desired: a real Southbound mismatch.
    const cmp3 = sandbox.nodes.find((n) => n.name === 'cmp-3')!;
    const journal2 = join(sandbox.dir, 'fail2.journal');
    const sysid = (await runCli(CONTROLLER_BIN, ['render', '-i', inv, '--limit', 'cmp-3', '--json'])).stdout.match(/"systemId": "([^"]+)"/)![1]!;
    cmp3.ovsdb.vsctl('set', 'Open_vSwitch', '.', `external_ids:ovn-encap-ip-${sysid}=127.0.9.9`);
    const r = await rolloutCli(['-i', inv, '--canary', '1', '--batch', '3', '--max-failures', '0', '--verify-timeout', '3', '--journal', journal2]);
    expect(r.code).toBe(3);
    expect(r.report.outcome).toBe('failed');
    const state = Object.fromEntries(r.report.nodes.map((n) => [n.host, n.state]));
    expect(state).toEqual({ 'cmp-1': 'done', 'cmp-2': 'done', 'cmp-3': 'failed', 'cmp-4': 'done', 'cmp-5': 'pending', 'cmp-6': 'pending', 'gw-1': 'pending', 'gw-2': 'pending' });
    for (const h of ['cmp-5', 'cmp-6', 'gw-1', 'gw-2']) {
      expect(sandbox.nodes.find((n) => n.name === h)!.ovsdb.externalIds()).toEqual({ 'midonet-era': 'keep' });
      expect(hookLines(h)).toEqual([]);
    }
    // The operator fixes the node and resumes.
    cmp3.ovsdb.vsctl('remove', 'Open_vSwitch', '.', 'external_ids', `ovn-encap-ip-${sysid}`);
    const resumed = await rolloutCli(['-i', inv, '--canary', '1', '--batch', '3', '--max-failures', '0', '--journal', journal2, '--resume']);
    expect(resumed.code).toBe(0);
    expect(resumed.report.nodes.every((n) => n.state === 'done')).toBe(true);
    for (const h of ['cmp-1', 'cmp-2', 'cmp-3', 'cmp-4']) {
      expect(hookLines(h)).toEqual(['before', 'after']);
      expect(snapshots(h)).toBe(1);
    }
  });

  it('an operator\'s SIGTERM finishes the batch in flight, then stops cleanly; --resume continues', async () => {
    await reset();
    const inv = writeInventory('stop.yaml');
    const journal = join(sandbox.dir, 'stop.journal');
    const child = spawn(process.execPath, [CONTROLLER_BIN, 'rollout', '-i', inv, '--canary', '1', '--batch', '3', '--pause', '5', '--journal', journal, '--state-dir', sandbox.dir, '--json'], { stdio: 'ignore' });
    const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    await waitFor('the canary batch to end', () => existsSync(journal) && readFileSync(journal, 'utf8').includes('"type":"batch","index":0,"phase":"end"'), 20_000);
    child.kill('SIGTERM');
    expect(await exited).toBe(3);
    const recs = readRecords(journal);
    expect(recs.at(-1)).toMatchObject({ type: 'stop', reason: 'stopped by the operator between batches' });
    for (const h of ['cmp-2', 'cmp-3', 'cmp-4', 'gw-1']) expect(sandbox.nodes.find((n) => n.name === h)!.ovsdb.externalIds()).toEqual({ 'midonet-era': 'keep' });
    const r = await rolloutCli(['-i', inv, '--canary', '1', '--batch', '3', '--journal', journal, '--resume']);
    expect(r.code).toBe(0);
    expect(hookLines('cmp-1')).toEqual(['before', 'after']);
  });

  it('Ctrl-C in a real terminal (tmux) while a hook runs: the batch finishes with no node failed, the rollout stops, --resume continues', async () => {
    await reset();
    // The canary's before hook takes a while: the Ctrl-C lands while it runs.
    const inv = writeInventory('ctrl-c.yaml', (i) => i.hosts['cmp-1'].hooks.before.unshift({ action: 'command', argv: ['sleep', '2'] }));
    const journal = join(sandbox.dir, 'ctrl-c.journal');
    const session = `ovn-chassis-ctrl-c-${process.pid}`;
    const exitFile = join(sandbox.dir, 'ctrl-c.exit');
    // The rollout in the foreground of an operator's bash, which waits for it and then writes what it exited with.
    const argv = [process.execPath, CONTROLLER_BIN, 'rollout', '-i', inv, '--canary', '1', '--batch', '3', '--journal', journal, '--state-dir', sandbox.dir, '--yes'];
    run('tmux', ['new-session', '-d', '-s', session, '-x', '160', '-y', '50', 'bash', '-c', '"$@"; echo $? > "$0"; sleep 60', exitFile, ...argv]);
    try {
      const screen0 = () => spawnSync('tmux', ['capture-pane', '-p', '-t', session, '-S', '-100'], { encoding: 'utf8' }).stdout;
      await waitFor('the canary\'s before hook to start', () => existsSync(journal) && readFileSync(journal, 'utf8').includes('"host":"cmp-1","step":"before","phase":"begin"'), 30_000).catch((err: Error) => {
        throw new Error(`${err.message}; the terminal shows:\n${screen0()}`);
      });
      run('tmux', ['send-keys', '-t', session, 'C-c']);
      await waitFor('the rollout to stop', () => existsSync(exitFile) || undefined, 60_000).catch((err: Error) => {
        throw new Error(`${err.message}; the terminal shows:\n${screen0()}`);
      });
      const screen = run('tmux', ['capture-pane', '-p', '-t', session, '-S', '-100']);
      expect(readFileSync(exitFile, 'utf8').trim(), screen).toBe('3');
      expect(screen).toContain('stopping after the batch in flight');
      const recs = readRecords(journal);
      expect(recs.filter((r) => r.type === 'node' && r.state === 'failed'), screen).toEqual([]);
      expect(recs).toContainEqual(expect.objectContaining({ type: 'node', host: 'cmp-1', state: 'done' }));
      expect(recs.at(-1)).toMatchObject({ type: 'stop', reason: 'stopped by the operator between batches' });
      expect(hookLines('cmp-1')).toEqual(['before', 'after']);
    } finally {
      spawnSync('tmux', ['kill-session', '-t', session]);
    }
    const r = await rolloutCli(['-i', inv, '--canary', '1', '--batch', '3', '--journal', journal, '--resume']);
    expect(r.code, r.stderr).toBe(0);
    expect(hookLines('cmp-1')).toEqual(['before', 'after']);
  }, 180_000);

  it('survives SIGKILL at 20 points spread over the whole rollout: --resume always ends with every node verified, nothing applied or hooked twice for a done node', async () => {
    const inv = writeInventory('kill.yaml');
    const rolloutArgs = (journal: string) => ['rollout', '-i', inv, '--canary', '1', '--batch', '3', '--journal', journal, '--state-dir', sandbox.dir, '--json'];
    // An uninterrupted run says how many records a whole rollout writes; the kills are spread over them.
    await reset();
    const whole = join(sandbox.dir, 'kill-whole.journal');
    expect((await runCli(CONTROLLER_BIN, rolloutArgs(whole))).code).toBe(0);
    const total = readRecords(whole).length;
    const killedAt: number[] = [];
    for (let i = 0; i < 20; i++) {
      await reset();
      const journal = join(sandbox.dir, `kill-${i}.journal`);
      const child: ChildProcess = spawn(process.execPath, [CONTROLLER_BIN, ...rolloutArgs(journal)], { stdio: 'ignore' });
      const exited = new Promise((r) => child.once('exit', r));
      // Killed just after the journal reaches its k-th record: from right after the plan to just before the end.
      const k = 2 + Math.floor((i * (total - 14)) / 19);
      while (child.exitCode === null && recordCount(journal) < k) await sleep(2);
      child.kill('SIGKILL');
      await exited;
      const atKill = readRecords(journal);
      killedAt.push(atKill.length);
      expect(atKill.length, `run ${i}: killed mid-rollout, at or after record ${k}`).toBeGreaterThanOrEqual(k);
      expect(atKill.length, `run ${i}: killed before the rollout finished`).toBeLessThan(total);
      const doneAtKill = new Set(atKill.filter((x) => x.type === 'node' && x.state === 'done').map((x) => (x as { host: string }).host));
      const hooksAtKill = Object.fromEntries(sandbox.nodes.map((n) => [n.name, hookLines(n.name).length]));
      const r = await rolloutCli(['-i', inv, '--canary', '1', '--batch', '3', '--journal', journal, '--resume']);
      expect(r.code, `run ${i} (killed after record ${atKill.length} of ${total}): ${r.stderr}`).toBe(0);
      expect(r.report.nodes.every((n) => n.state === 'done'), `run ${i}`).toBe(true);
      for (const n of sandbox.nodes) {
        expect(snapshots(n.name), `run ${i} (killed after record ${atKill.length}): ${n.name} applied once`).toBe(1);
        if (doneAtKill.has(n.name)) expect(hookLines(n.name).length, `run ${i}: no hook re-run on done ${n.name}`).toBe(hooksAtKill[n.name]);
        expect(hookLines(n.name).filter((l) => l === 'after').length, `run ${i}: ${n.name}`).toBeGreaterThanOrEqual(1);
      }
    }
    console.log(`rollout SIGKILL runs: killed after records ${killedAt.join(', ')} of ${total}`);
  }, 300_000);

  it.each([
    ['a hook with an unknown action', (inv: Record<string, any>) => (inv.hosts['cmp-1'].hooks = { before: [{ action: 'explode', container: 'x' }] }), [], /hosts\.cmp-1\.hooks\.before\.0\.action: "explode" is not one of "stop", "start", "restart", "wait-healthy", "command"/],
    ['a batch of 0', undefined, ['--batch', '0'], /--batch 0: a batch needs at least one node/],
    ['a percentage over 100', undefined, ['--batch', '150%'], /--batch 150%: a percentage must be 1% to 100%/],
  ])('refuses %s with exit 1 before any node is touched', async (_what, edit, extra, message) => {
    await reset();
    const journal = join(sandbox.dir, `bad-${Math.random().toString(36).slice(2)}.journal`);
    const r = await runCli(CONTROLLER_BIN, ['rollout', '-i', writeInventory('bad.yaml', edit), ...(extra.length ? extra : ['--batch', '3']), '--journal', journal, '--state-dir', sandbox.dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(message);
    for (const n of sandbox.nodes) expect(n.ovsdb.externalIds()).toEqual({ 'midonet-era': 'keep' });
  });

  it('refuses a journal from a different inventory, and a second controller on a journal in use', async () => {
    const journal = join(sandbox.dir, 'full.journal');
    const other = writeInventory('other.yaml', (inv) => (inv.defaults.remoteProbeIntervalMs = 12345));
    const r = await runCli(CONTROLLER_BIN, ['rollout', '-i', other, '--batch', '3', '--journal', journal, '--resume', '--state-dir', sandbox.dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('is from a different inventory');
    writeFileSync(`${journal}.lock`, String(process.pid));
    const second = await runCli(CONTROLLER_BIN, ['rollout', '-i', writeInventory('full.yaml'), '--batch', '3', '--journal', journal, '--resume', '--state-dir', sandbox.dir]);
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(`is in use by another controller (pid ${process.pid})`);
    rmSync(`${journal}.lock`);
    for (const n of sandbox.nodes) expect(n.ovsdb.externalIds()).toEqual({ 'midonet-era': 'keep' });
  });

  it('uses a journal\'s values only for the nodes it knows: a host now pointing at another node is refused, for rollback and resume', async () => {
    const journal = join(sandbox.dir, 'full.journal');
    // cmp-3 is now reached at cmp-4's OVSDB: the journal's values for cmp-3 belong to another node.
    const moved = writeInventory('moved.yaml', (inv) => (inv.hosts['cmp-3'].agent = structuredClone(inv.hosts['cmp-4'].agent)));
    const before = sandbox.nodes.map((n) => n.ovsdb.externalIds());
    const rb = await runCli(CONTROLLER_BIN, ['rollback', '-i', moved, '--limit', 'cmp-3', '--journal', journal, '--state-dir', sandbox.dir]);
    expect(rb.code).toBe(1);
    expect(rb.stderr).toContain('does not know cmp-3 as the same node');
    const resume = await runCli(CONTROLLER_BIN, ['rollout', '-i', moved, '--batch', '3', '--journal', journal, '--resume', '--state-dir', sandbox.dir]);
    expect(resume.code).toBe(1);
    expect(resume.stderr).toContain('cmp-3 now points at another node');
    expect(sandbox.nodes.map((n) => n.ovsdb.externalIds())).toEqual(before);
  });
});
