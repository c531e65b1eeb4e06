import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import net from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../../agent/files.js';
import { localNode } from '../../agent/node.js';
import { OvsdbServer, tempDir } from '../../sandbox/index.js';
import { AGENT_BIN, runCli } from '../support/cli.js';

/**
 * The agent runs as root. What others on the node can write — its config,
 * its state dir, a socket posing as a serving agent, a link planted where it
 * writes — must not let them steer it. (Run as root, so "others" is uid 65534.)
 */
const NOBODY = 65534;
let server: OvsdbServer;
let dir: string;
const config = 'systemId: perm-1\novnRemote: tcp:192.0.2.1:6642\nencap: {ip: 192.0.2.61}\n';

beforeAll(async () => {
  server = await OvsdbServer.start();
  dir = tempDir('perm');
});

afterAll(async () => {
  await server?.stop();
});

const agent = (...args: string[]) => runCli(AGENT_BIN, [...args, '--db', server.unix]);

function file(name: string, mode: number, uid = 0): string {
  const p = join(dir, name);
  writeFileSync(p, config);
  chmodSync(p, mode);
  chownSync(p, uid, uid);
  return p;
}

describe.skipIf(process.getuid?.() !== 0)('permissions the agent insists on', () => {
  it('refuses a config others can write, or that another user owns, changing nothing', async () => {
    const before = server.externalIds();
    for (const [p, why] of [
      [file('world.yaml', 0o666), /writable by its group and everyone \(mode 666\)/],
      [file('group.yaml', 0o664), /writable by its group \(mode 664\)/],
      [file('theirs.yaml', 0o644, NOBODY), /belongs to uid 65534, neither this agent \(uid 0\) nor root/],
    ] as const) {
      const r = await agent('apply', '--config', p, '--state-dir', join(dir, 'state-a'));
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(why);
    }
    expect(server.externalIds()).toEqual(before);
  });

  it('makes a state dir writable by others private again, and says so', async () => {
    const state = join(dir, 'state-open');
    mkdirSync(state);
    chmodSync(state, 0o777);
    const r = await agent('apply', '--config', file('ok.yaml', 0o600), '--state-dir', state);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/state dir .*state-open was writable by its group and everyone \(mode 777\); it is now 0700/);
    expect(statSync(state).mode & 0o777).toBe(0o700);
  });

  // N2: a snapshots/ folder planted while the state dir was open to others is not trusted once the state dir is made private.
  it('never restores a snapshot planted while the state dir was open to others: a foreign snapshot folder is refused, a foreign or open snapshot is set aside', async () => {
    const ids = () => server.externalIds();
    const planted = (state: string, uid: number, mode: number) => {
      mkdirSync(join(state, 'snapshots'), { recursive: true });
      chmodSync(join(state, 'snapshots'), 0o777);
      chmodSync(state, 0o777);
      const snap = join(state, 'snapshots', 'q9999999999-planted.json');
      writeFileSync(snap, JSON.stringify({ version: 1, takenAt: new Date().toISOString(), backend: 'planted', cause: 'apply', keys: { 'ovn-remote': 'tcp:203.0.113.66:6642' } }));
      chmodSync(snap, mode);
      chownSync(snap, uid, uid);
      return snap;
    };
    // The folder itself another user's: refused as a whole.
    const theirs = join(dir, 'state-planted-dir');
    mkdirSync(theirs);
    planted(theirs, NOBODY, 0o644);
    chownSync(join(theirs, 'snapshots'), NOBODY, NOBODY);
    const r1 = await agent('rollback', '--state-dir', theirs);
    expect(r1.code).toBe(1);
    expect(r1.stderr).toMatch(/snapshot folder .*snapshots belongs to uid 65534/);
    // The folder ours but open, holding another user's snapshot, or one of ours others could write: neither is restored.
    for (const [uid, mode, why] of [[NOBODY, 0o644, /belongs to uid 65534.*may have been planted/], [0, 0o666, /others can write it \(mode 666\)/]] as const) {
      const state = join(dir, `state-planted-${uid}-${mode.toString(8)}`);
      mkdirSync(state);
      planted(state, uid, mode);
      const before = ids();
      const r = await agent('rollback', '--state-dir', state);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(why);
      expect(ids()).toEqual(before);
      expect(statSync(join(state, 'snapshots')).mode & 0o777).toBe(0o700);
    }
  });

  // N5: ovsdb-server (root) deletes whatever is at a punix: Manager's path to make its socket.
  it('refuses a punix: Manager whose path is a file on the node, changing nothing', async () => {
    const runDir = '/run/openvswitch';
    const made = !existsSync(runDir);
    mkdirSync(runDir, { recursive: true });
    const victim = join(runDir, `ovn-chassis-test-${process.pid}.pid`);
    writeFileSync(victim, '1234\n');
    try {
      const cfg = join(dir, 'manager.yaml');
      writeFileSync(cfg, `${config}managers: ["punix:${victim}"]\n`, { mode: 0o600 });
      const before = server.externalIds();
      const r = await agent('apply', '--config', cfg, '--state-dir', join(dir, 'state-manager'));
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`Manager punix:${victim}: ${victim} is a file on this machine, which ovsdb-server would delete to make its socket`);
      expect(server.externalIds()).toEqual(before);
      expect(server.vsctl('get-manager').trim()).toBe('');
      expect(readFileSync(victim, 'utf8')).toBe('1234\n');
    } finally {
      rmSync(victim, { force: true });
      if (made) rmSync(runDir, { recursive: true, force: true });
    }
  });

  it('refuses a state dir another user owns (they could plant snapshots), changing nothing', async () => {
    const state = join(dir, 'state-theirs');
    mkdirSync(state, { mode: 0o700 });
    chownSync(state, NOBODY, NOBODY);
    const before = server.externalIds();
    const r = await agent('apply', '--config', file('ok2.yaml', 0o600), '--state-dir', state);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/state dir .*state-theirs belongs to uid 65534, not to this agent/);
    expect(server.externalIds()).toEqual(before);
  });

  it('does not relay to a socket another user owns posing as the serving agent', async () => {
    const state = join(dir, 'state-fake-sock');
    mkdirSync(state, { mode: 0o700 });
    const sock = join(state, 'agent.sock');
    let spoken = false;
    const impostor = net.createServer((s) => {
      spoken = true;
      s.destroy();
    });
    await new Promise<void>((r) => impostor.listen(sock, r));
    chownSync(sock, NOBODY, NOBODY);
    try {
      const r = await runCli(AGENT_BIN, ['rpc', '--db', server.unix, '--state-dir', state], { input: '{"id":1,"method":"hello","params":{"protocol":1,"client":"t"}}\n' });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/the agent socket .*agent\.sock belongs to uid 65534, neither this user \(uid 0\) nor root: it may not be the agent; refusing/);
      expect(spoken).toBe(false);
    } finally {
      impostor.close();
    }
  });

  it('refuses to serve its socket in a directory others can write (they could replace it)', async () => {
    const open = join(dir, 'open-sock-dir');
    mkdirSync(open);
    chmodSync(open, 0o1777);
    const before = server.externalIds();
    const r = await agent('serve', '--config', file('serve.yaml', 0o600), '--state-dir', join(dir, 'state-serve'), '--socket', join(open, 'agent.sock'));
    expect(r.code).toBe(1);
    expect(server.externalIds()).toEqual(before);
    expect(r.stderr).toMatch(/the agent socket's directory .*open-sock-dir can be written by others \(mode 1777/);
  });

  it('never writes through a link planted where it writes its files', async () => {
    const victim = join(dir, 'victim');
    writeFileSync(victim, 'root-only content\n');
    const target = join(dir, 'desired.json');
    // The names an attacker could guess: the file itself and the old pid-based temporary name.
    symlinkSync(victim, target);
    symlinkSync(victim, `${target}.tmp-${process.pid}`);
    await writeFileAtomic(target, '{"new": true}\n');
    expect(readFileSync(victim, 'utf8')).toBe('root-only content\n');
    expect(readFileSync(target, 'utf8')).toBe('{"new": true}\n');
    expect(existsSync(`${target}.tmp-${process.pid}`)).toBe(true);
  });

  it('reads a node file neither through a link nor blocked on a pipe put where a file was checked to be', async () => {
    const victim = join(dir, 'read-victim');
    writeFileSync(victim, 'root-only content\n');
    const link = join(dir, 'read-link');
    symlinkSync(victim, link);
    await expect(localNode.files.read(link, 1024)).rejects.toMatchObject({ code: 'ELOOP' });
    // No writer ever comes: a blocking open would hold the agent's event loop for good.
    const pipe = join(dir, 'read-pipe');
    execFileSync('mkfifo', [pipe]);
    await expect(localNode.files.read(pipe, 1024)).resolves.toBe('');
  });
});
