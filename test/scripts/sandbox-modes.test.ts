import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../../sandbox/index.js';
import { CONTROLLER_BIN, runCli } from '../support/cli.js';

const SANDBOX = fileURLToPath(new URL('../../dist/scripts/sandbox.js', import.meta.url));

/** npm run sandbox as an operator starts it: up until Ctrl-C, its "try" lines printed. */
async function sandboxUp(args: string[]): Promise<{ proc: ChildProcess; output: () => string; closed: () => boolean; tries: string[][] }> {
  const proc = spawn(process.execPath, [SANDBOX, ...args, '--keep'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  // 'close', not 'exit': only then has every line it printed been read.
  let closed = false;
  proc.once('close', () => (closed = true));
  await waitFor('the sandbox to be up', () => out.includes('stays up until Ctrl-C') || proc.exitCode !== null || undefined, 180_000);
  if (proc.exitCode !== null) throw new Error(`the sandbox ended (${proc.exitCode}):\n${out}`);
  const tries = out.split('\n').filter((l) => l.startsWith('  node ')).map((l) => l.trim().split(' '));
  return { proc, output: () => out, closed: () => closed, tries };
}

async function sandboxDown(s: { proc: ChildProcess; output: () => string; closed: () => boolean }): Promise<void> {
  s.proc.kill('SIGINT');
  await waitFor('the sandbox to stop', () => s.closed() || undefined, 60_000);
  expect(s.output()).toContain('sandbox stopped');
  expect(s.proc.exitCode).toBe(0);
}

/** Each printed line, run exactly as printed; what a first pass over a new fleet should answer. */
async function runTries(tries: string[][]): Promise<string[]> {
  const said: string[] = [];
  for (const [node, bin, command, ...rest] of tries) {
    expect([node, bin]).toEqual(['node', CONTROLLER_BIN]);
    const r = await runCli(CONTROLLER_BIN, [command as string, ...rest]);
    // diff finds the fleet's changes (2) before apply makes them; everything else succeeds.
    expect(r.code, `${command}: ${r.stdout}\n${r.stderr}`).toBe(command === 'diff' ? 2 : 0);
    said.push(`${command}: ${r.stdout}`);
  }
  return said;
}

describe('npm run sandbox shows the real modes, and its "try" lines work as printed', () => {
  it('nodes behind a real sshd (their agents over SSH, host key pinned), a TLS-only Southbound, MidoNet files to import from', async () => {
    const s = await sandboxUp(['--transport', 'ssh', '--southbound', 'tls', '--midonet', '--computes', '1', '--gateways', '1']);
    try {
      expect(s.tries.map((t) => t[2])).toEqual(['import', 'validate', 'hostkeys', 'diff', 'apply', 'status']);
      const said = await runTries(s.tries);
      expect(said.find((l) => l.startsWith('hostkeys'))).toContain('already trusted');
      expect(said.find((l) => l.startsWith('import'))).toContain('2 of 2 hosts imported');
      expect(said.find((l) => l.startsWith('status'))).toMatch(/gw-1\s+in sync\s+registered/);
      expect(s.output()).toMatch(/Southbound: TLS only .* at ssl:127\.0\.0\.1:\d+/);
    } finally {
      await sandboxDown(s);
    }
  }, 300_000);

  it('direct mode over that sshd, a 3-member Raft Southbound, each node behind a Kolla-style container in the sandbox\'s own dockerd', async () => {
    const s = await sandboxUp(['--transport', 'direct', '--southbound', 'cluster', '--docker', '--computes', '1', '--gateways', '1']);
    try {
      expect(s.tries.map((t) => t[2])).toEqual(['validate', 'hostkeys', 'diff', 'apply', 'status']);
      const said = await runTries(s.tries);
      expect(said.find((l) => l.startsWith('status'))).toMatch(/cmp-1\s+in sync\s+registered/);
      expect(s.output()).toContain('a 3-member Raft cluster');
      expect(s.output()).toContain('openvswitch_vswitchd_<node> container');
    } finally {
      await sandboxDown(s);
    }
  }, 300_000);

  it('--help describes every flag, with examples', async () => {
    const r = await runCli(SANDBOX, ['--help']);
    expect(r.code).toBe(0);
    for (const flag of ['--computes', '--gateways', '--transport', '--southbound', '--docker', '--midonet', '--real-controllers', '--datapath', '--vms', '--keep']) {
      expect(r.stdout).toMatch(new RegExp(`${flag}\\s+\\S`));
    }
    expect(r.stdout).toContain('Examples:');
  });
});
