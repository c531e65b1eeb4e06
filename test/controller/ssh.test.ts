import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import net, { type Socket } from 'node:net';
import { parse } from 'yaml';
import { type Host, checkInventory } from '../../controller/inventory.js';
import { openSsh } from '../../controller/transport/ssh.js';
import { sshNode } from '../../controller/transport/ssh-node.js';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fingerprint } from '../../controller/transport/known-hosts.js';
import { Sandbox, run, spawnServer, stopPid, waitFor, Sshd, keygen } from '../../sandbox/index.js';
import { AGENT_BIN, CONTROLLER_BIN, nodesOf, runCli } from '../support/cli.js';
import { VERSION } from '../../schemas/version.js';

const HOSTILE_AGENT = fileURLToPath(new URL('../support/hostile-agent.mjs', import.meta.url));
import { expectServingAgentAdopts } from '../support/serving.js';

/** The controller reaches two sandbox nodes' agents through a real sshd. */
let sshd: Sshd;
let sandbox: Sandbox;

beforeAll(async () => {
  sshd = await Sshd.start();
  sandbox = await Sandbox.start({ computes: 2, gateways: 0 });
}, 120_000);

afterAll(async () => {
  await sandbox?.stop();
  await sshd?.stop();
});

function inventoryWith(name: string, transport: Record<string, unknown>, perHost: Record<string, Record<string, unknown>> = {}): string {
  const inv = sandbox.inventory() as { defaults: Record<string, unknown>; hosts: Record<string, Record<string, unknown>> };
  inv.defaults.transport = {
    kind: 'ssh', user: 'root', port: sshd.port, privateKey: sshd.clientKey.key, connectTimeoutS: 10,
    agentCommand: [process.execPath, AGENT_BIN], ...transport,
  };
  for (const [h, entry] of Object.entries(inv.hosts)) {
    const node = sandbox.nodes.find((n) => n.name === h)!;
    // Reached at 127.0.0.1 (the sshd); the node keeps its own encap IP.
    inv.hosts[h] = { ...entry, address: '127.0.0.1', encap: { ip: node.address }, transport: { stateDir: node.stateDir }, ...perHost[h] };
  }
  const p = join(sshd.dir, name);
  writeFileSync(p, stringify(inv));
  return p;
}

const knownHosts = (name: string, line: string) => {
  const p = join(sshd.dir, name);
  writeFileSync(p, `${line}\n`);
  return p;
};

async function ctl(args: string[]) {
  const r = await runCli(CONTROLLER_BIN, [...args, '--json', '--state-dir', sandbox.dir]);
  return { ...r, json: nodesOf<{ host: string; ok: boolean; error?: { code: string; message: string }; verdict?: { state: string } }>(r.stdout) };
}

describe('ssh transport against a real sshd', () => {
  it('applies over ssh with the right host key (known_hosts), and verifies in the Southbound DB', async () => {
    const inv = inventoryWith('ok.yaml', { knownHosts: knownHosts('known_hosts', sshd.knownHostsLine()) });
    const r = await ctl(['apply', '-i', inv]);
    expect(r.code).toBe(0);
    expect(r.json.map((n) => [n.host, n.ok, n.verdict?.state])).toEqual([['cmp-1', true, 'verified'], ['cmp-2', true, 'verified']]);
    expect(sandbox.nodes[0]?.ovsdb.externalIds()['ovn-encap-ip']).toBe(sandbox.nodes[0]?.address);
  });

  it('logs in through a real ssh-agent holding the key (no privateKey in the transport)', async () => {
    const sock = join(sshd.dir, 'ssh-agent.sock');
    const agent = spawnServer('ssh-agent', ['-D', '-a', sock]);
    try {
      await waitFor('ssh-agent', () => existsSync(sock));
      run('ssh-add', ['-q', sshd.clientKey.key], { ...process.env, SSH_AUTH_SOCK: sock });
      const inv = inventoryWith('agent-auth.yaml', { knownHosts: knownHosts('known_hosts_agent', sshd.knownHostsLine()), privateKey: undefined, agent: sock });
      expect(readFileSync(inv, 'utf8')).not.toContain('client_key');
      const r = await ctl(['diff', '-i', inv]);
      expect(r.code, r.stderr).not.toBe(1);
      expect(r.json.map((n) => [n.host, n.ok])).toEqual([['cmp-1', true], ['cmp-2', true]]);
    } finally {
      await stopPid(agent.pid);
    }
  });

  it('accepts a pinned SHA256 fingerprint instead of known_hosts', async () => {
    const blob = Buffer.from(sshd.hostKey.pub.split(' ')[1] as string, 'base64');
    const r = await ctl(['diff', '-i', inventoryWith('pinned.yaml', { fingerprints: [fingerprint(blob)] })]);
    expect(r.code).toBe(0);
  });

  it('refuses a changed host key with a clear error and changes nothing', async () => {
    const impostor = keygen(sshd.dir, 'other_host_key');
    const inv = inventoryWith('changed.yaml', { knownHosts: knownHosts('known_hosts_changed', sshd.knownHostsLine(impostor.pub)) }, {
      'cmp-1': { availabilityZones: ['must-not-land'] },
    });
    const before = sandbox.nodes.map((n) => n.ovsdb.externalIds());
    const r = await ctl(['apply', '-i', inv]);
    expect(r.code).toBe(1);
    const err = r.json[0]?.error;
    expect(err?.code).toBe('HOST_KEY_CHANGED');
    expect(err?.message).toContain(`cmp-1 (127.0.0.1:${sshd.port})`);
    expect(err?.message).toMatch(/presented SHA256:[A-Za-z0-9+/]{43}/);
    expect(sandbox.nodes.map((n) => n.ovsdb.externalIds())).toEqual(before);
  });

  it('refuses an unknown host key — an error, never a prompt', async () => {
    const r = await ctl(['diff', '-i', inventoryWith('unknown.yaml', { knownHosts: knownHosts('known_hosts_empty', '# nothing yet') })]);
    expect(r.code).toBe(1);
    expect(r.json.map((n) => n.error?.code)).toEqual(['HOST_KEY_UNKNOWN', 'HOST_KEY_UNKNOWN']);
    expect(r.json[0]?.error?.message).toContain('unknown host key SHA256:');
  });

  it('talks to a serving agent through a streamlocal forward, so the config it keeps applied follows the apply', async () => {
    await expectServingAgentAdopts(sandbox.nodes[0]!, inventoryWith('plain.yaml', {}), async () => {
      // An exec'd agent would fail: success can only come through the socket.
      const inv = inventoryWith('serving.yaml', { knownHosts: knownHosts('known_hosts', sshd.knownHostsLine()) }, {
        'cmp-1': { transport: { stateDir: sandbox.nodes[0]!.stateDir, agentCommand: [process.execPath, '-e', 'process.exit(7)'] } },
      });
      const r = await ctl(['apply', '-i', inv]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.json.map((n) => [n.host, n.ok, n.verdict?.state])).toEqual([['cmp-1', true, 'verified'], ['cmp-2', true, 'verified']]);
    });
  });

  it('a peer that closes during the handshake is UNREACHABLE at once, not a wait for the node timeout', async () => {
    // A broken peer: an SSH banner, then the connection closed cleanly, as an sshd dying mid-handshake.
    const peer = net.createServer((s) => {
      s.write('SSH-2.0-OpenSSH_9.2\r\n');
      s.once('data', () => s.end());
    });
    await new Promise<void>((r) => peer.listen(0, '127.0.0.1', () => r()));
    try {
      const inv = inventoryWith('closing-peer.yaml', { knownHosts: knownHosts('known_hosts_peer', sshd.knownHostsLine()), port: (peer.address() as net.AddressInfo).port, connectTimeoutS: 3600 });
      const host = checkInventory(parse(readFileSync(inv, 'utf8')), inv).hosts[0] as Host;
      // With an hour's handshake timeout, only noticing the close ends this within the test's own time.
      await expect(openSsh(host)).rejects.toMatchObject({ code: 'UNREACHABLE', message: expect.stringContaining('closed during the SSH handshake') });
    } finally {
      peer.close();
    }
  });

  it('an SSH error after the handshake fails what runs over it, never the controller process', async () => {
    const inv = inventoryWith('after-handshake.yaml', { knownHosts: knownHosts('known_hosts_err', sshd.knownHostsLine()) });
    const host = checkInventory(parse(readFileSync(inv, 'utf8')), inv).hosts[0] as Host;
    // Fault injection: the session's socket fails under it, as on a reset connection.
    const reset = (c: unknown) => (c as { _sock: Socket })._sock.destroy(new Error('connection reset by the test'));
    const bare = await openSsh(host);
    const closed = new Promise<void>((r) => bare.conn.once('close', () => r()));
    reset(bare.conn);
    // An 'error' event nobody listens for would be an uncaught exception here, failing the run.
    await closed;
    const { conn, where, lifeline } = await openSsh(host);
    const node = await sshNode(conn, where, lifeline);
    reset(conn);
    await expect(node.run(['true'], 5000)).rejects.toThrow();
    await expect(node.files.lstat('/')).rejects.toThrow();
  });

  it('reports a connection dropped mid-run for that node only', async () => {
    // cmp-2's "agent" takes the first request and then kills its sshd session: the connection drops mid-run.
    const dropper = [process.execPath, '-e', 'process.stdin.once("data", () => process.kill(process.ppid, "SIGKILL"))'];
    const inv = inventoryWith('drop.yaml', { knownHosts: knownHosts('known_hosts', sshd.knownHostsLine()) }, {
      'cmp-2': { transport: { stateDir: sandbox.nodes[1]!.stateDir, agentCommand: dropper } },
    });
    const r = await ctl(['diff', '-i', inv]);
    expect(r.code).toBe(3);
    expect(r.json[0]).toMatchObject({ host: 'cmp-1', ok: true });
    expect(r.json[1]).toMatchObject({ host: 'cmp-2', ok: false, error: { code: 'CONNECTION_LOST' } });
    expect(r.json[1]?.error?.message).toContain('cmp-2');
  });

  it('a node whose agent names another node\'s system-id as the one it replaced cannot get that chassis removed', async () => {
    const sbChassis = () => run('ovn-sbctl', [`--db=${sandbox.sb.unix}`, '--columns=name', '--bare', 'list', 'Chassis']).split('\n').filter(Boolean).sort();
    const honest = inventoryWith('honest.yaml', { knownHosts: knownHosts('known_hosts', sshd.knownHostsLine()) });
    expect((await ctl(['apply', '-i', honest])).code).toBe(0);
    const victim = sandbox.nodes.find((n) => n.name === 'cmp-2')!.ovsdb.externalIds()['system-id'] as string;
    const before = sbChassis();
    expect(before).toContain(victim);
    const hostile = inventoryWith('hostile.yaml', { knownHosts: knownHosts('known_hosts', sshd.knownHostsLine()) }, {
      'cmp-1': { transport: { agentCommand: [process.execPath, HOSTILE_AGENT, `steal=${victim}`], stateDir: sandbox.nodes[0]!.stateDir } },
    });
    const r = await ctl(['apply', '-i', hostile, '--limit', 'cmp-1', '--allow-system-id-change']);
    expect(r.code, r.stderr).toBe(0);
    expect(sbChassis()).toEqual(before);
    expect(r.stderr).toMatch(new RegExp(`reported ${victim} as the system-id it replaced, but it is the system-id of inventory host cmp-2`));
  });

  it('agent status lists each node\'s agent version and protocol, and flags a node whose agent differs from the controller', async () => {
    const base = { knownHosts: knownHosts('known_hosts', sshd.knownHostsLine()) };
    const same = await ctl(['agent', 'status', '-i', inventoryWith('agents.yaml', base)]);
    expect(same.code, same.stderr).toBe(0);
    const all = same.json as unknown as { controller: string; nodes: { host: string; agent: string; protocol: number }[]; skew: string[] };
    expect(all.nodes.map((n) => [n.host, n.agent, n.protocol])).toEqual([['cmp-1', VERSION, 1], ['cmp-2', VERSION, 1]]);
    expect(all.skew).toEqual([]);
    const old = inventoryWith('agents-old.yaml', base, { 'cmp-2': { transport: { agentCommand: [process.execPath, HOSTILE_AGENT, 'version=0.0.9'], stateDir: sandbox.nodes[1]!.stateDir } } });
    const skewed = await runCli(CONTROLLER_BIN, ['agent', 'status', '-i', old, '--state-dir', sandbox.dir]);
    expect(skewed.code).toBe(2);
    expect(skewed.stdout).toMatch(new RegExp(`cmp-2 +0\\.0\\.9 +1 .*skew: the controller is ${VERSION.replace(/\./g, '\\.')}`));
  });

  it('refuses, naming both versions, an agent whose protocol the controller does not speak — whichever side says so', async () => {
    const base = { knownHosts: knownHosts('known_hosts', sshd.knownHostsLine()) };
    for (const mode of ['protocol=2', 'refuse=2']) {
      const inv = inventoryWith(`mismatch-${mode}.yaml`, base, { 'cmp-1': { transport: { agentCommand: [process.execPath, HOSTILE_AGENT, mode], stateDir: sandbox.nodes[0]!.stateDir } } });
      const r = await ctl(['diff', '-i', inv, '--limit', 'cmp-1']);
      expect(r.code).toBe(1);
      expect(r.json[0]?.error?.code).toBe('PROTOCOL_MISMATCH');
      expect(r.json[0]?.error?.message).toMatch(new RegExp(`cmp-1: the agent speaks protocol 2.*this controller \\(ovn-chassis ${VERSION.replace(/\./g, '\\.')}\\) speaks protocol 1`));
    }
  });

  // N1: a node's words reach the operator's terminal bounded, and shown, never obeyed.
  it('a node whose hostname, FQDN, warnings and version are 3 MB with terminal escapes: printed bounded and escaped, in apply and agent status', async () => {
    const base = { knownHosts: knownHosts('known_hosts', sshd.knownHostsLine()) };
    const inv = inventoryWith('loud.yaml', base, { 'cmp-1': { transport: { agentCommand: [process.execPath, HOSTILE_AGENT, 'loud'], stateDir: sandbox.nodes[0]!.stateDir } } });
    for (const args of [['apply', '-i', inv, '--limit', 'cmp-1', '--no-verify'], ['agent', 'status', '-i', inv, '--limit', 'cmp-1']]) {
      const r = await runCli(CONTROLLER_BIN, [...args, '--state-dir', sandbox.dir], { env: { ...process.env, NO_COLOR: '1' } });
      const all = r.stdout + r.stderr;
      expect(all, args[0]).not.toContain('\u001b');
      expect(all, args[0]).toContain('\\u001b[2J');
      expect(Math.max(...all.split('\n').map((l) => l.length)), args[0]).toBeLessThan(20_000);
    }
  });
});

const presented = () => fingerprint(Buffer.from(sshd.hostKey.pub.split(' ')[1] as string, 'base64'));

describe('ovn-chassis hostkeys', () => {
  it('collects an unknown key once (trust on first use, said so), after which the fleet is reached with it; again, it is already trusted', async () => {
    const file = join(sshd.dir, 'collected', 'known_hosts');
    const inv = inventoryWith('hostkeys-collected.yaml', { knownHosts: file });
    const before = await runCli(CONTROLLER_BIN, ['diff', '-i', inv, '--json']);
    expect(nodesOf<{ error?: { code: string } }>(before.stdout).map((n) => n.error?.code)).toEqual(['HOST_KEY_UNKNOWN', 'HOST_KEY_UNKNOWN']);

    const r = await runCli(CONTROLLER_BIN, ['hostkeys', '-i', inv]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`cmp-1: ${presented()} added to ${file} (trust on first use)`);
    // Both nodes are behind one address and port: one line, not two.
    expect(readFileSync(file, 'utf8')).toBe(`${sshd.knownHostsLine()}\n`);

    const diff = await runCli(CONTROLLER_BIN, ['diff', '-i', inv, '--json']);
    expect(nodesOf<{ ok: boolean }>(diff.stdout).map((n) => n.ok)).toEqual([true, true]);

    const again = await runCli(CONTROLLER_BIN, ['hostkeys', '-i', inv, '--json']);
    expect(again.code).toBe(0);
    expect(nodesOf<{ state: string; fingerprint: string }>(again.stdout).map((n) => [n.state, n.fingerprint])).toEqual([['pinned', presented()], ['pinned', presented()]]);
    expect(JSON.parse(again.stdout)).toMatchObject({ added: 0, changed: 0, knownHosts: [file] });
    expect(readFileSync(file, 'utf8')).toBe(`${sshd.knownHostsLine()}\n`);
  });

  it('reports a changed key, naming both sides and how to replace it, and never writes it', async () => {
    const impostor = keygen(sshd.dir, 'impostor');
    const file = join(sshd.dir, 'known_hosts_old');
    writeFileSync(file, `${sshd.knownHostsLine(impostor.pub)}\n`);
    const r = await runCli(CONTROLLER_BIN, ['hostkeys', '-i', inventoryWith('hostkeys-changed.yaml', { knownHosts: file }), '--json']);
    expect(r.code).toBe(1);
    const [first] = nodesOf<{ ok: boolean; error: { code: string; message: string } }>(r.stdout);
    expect(first?.error.code).toBe('HOST_KEY_CHANGED');
    expect(first?.error.message).toContain(`presents ${presented()}, which ${file} does not list for it; not written`);
    expect(first?.error.message).toContain(`ssh-keygen -R '[127.0.0.1]:${sshd.port}' -f ${file}`);
    expect(JSON.parse(r.stdout)).toMatchObject({ added: 0, changed: 2 });
    expect(readFileSync(file, 'utf8')).toBe(`${sshd.knownHostsLine(impostor.pub)}\n`);
  });
});

describe('the private key', () => {
  it('protected by a passphrase, is decoded with it; a wrong one is refused naming the file, never the passphrase', async () => {
    const locked = keygen(sshd.dir, 'locked', 'correct horse');
    writeFileSync(join(sshd.dir, 'authorized_keys'), `${sshd.clientKey.pub}\n${locked.pub}\n`);
    const pinned = knownHosts('known_hosts_locked', sshd.knownHostsLine());
    const wrong = await ctl(['diff', '-i', inventoryWith('locked-wrong.yaml', { privateKey: locked.key, passphrase: 'battery staple', knownHosts: pinned })]);
    expect(wrong.code).toBe(1);
    expect(wrong.json[0]?.error).toMatchObject({ code: 'AUTH_FAILED', message: expect.stringContaining(`cannot use private key ${locked.key}`) });
    expect(wrong.stdout + wrong.stderr).not.toContain('battery staple');
    const right = await ctl(['diff', '-i', inventoryWith('locked-right.yaml', { privateKey: locked.key, passphrase: 'correct horse', knownHosts: pinned })]);
    expect(right.json.map((n) => n.ok)).toEqual([true, true]);
  });
});

