import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../sandbox/index.js';
import { AGENT_BIN, CONTROLLER_BIN, runCli } from '../support/cli.js';
import { inTerminal } from '../support/terminal.js';

const COMMANDS = ['validate', 'render', 'diff', 'apply', 'status', 'rollout', 'rollback', 'publish', 'agent', 'import', 'hostkeys'];
const AGENT_COMMANDS = ['show', 'diff', 'apply', 'rollback', 'serve', 'health', 'rpc'];

/** The flags a --help lists. */
const flagsOf = (help: string) => help.split('\n').flatMap((l) => /^\s+(?:-\w, )?(--[a-z-]+)/.exec(l)?.[1] ?? []);

const EVERY = [...COMMANDS.map((c) => ['ovn-chassis', CONTROLLER_BIN, c] as const), ...AGENT_COMMANDS.map((c) => ['ovn-chassis-agent', AGENT_BIN, c] as const)];

describe('--help of every command of both programs', () => {
  for (const [program, bin, cmd] of EVERY) {
    it(`${program} ${cmd}: every option described, an example, and the exit status`, async () => {
      const r = await runCli(bin, [cmd, '--help']);
      expect(r.code).toBe(0);
      const options = r.stdout.split('\n').filter((l) => /^\s+(-\w, )?--[a-z-]+/.test(l));
      expect(options.length).toBeGreaterThan(2);
      // An option line is the flag, then its description, then yargs' [type] notes.
      for (const line of options) expect(line, line).toMatch(/^\s+(-\w, )?--[a-z-]+\s{2,}[^[\s]/);
      expect(r.stdout).toContain('Examples:');
      expect(r.stdout).toMatch(new RegExp(`${program} ${cmd} `));
      expect(r.stdout).toContain('Exit status:');
      expect(r.stdout).toContain('3  partial');
    });
  }
});

describe('help at a terminal', () => {
  it('is as wide as the terminal and breaks lines between words, never inside one', async () => {
    const t = inTerminal('help-width', ['apply', '--help'], tempDir('help-width'), 100);
    try {
      expect(await t.exit()).toBe(0);
      const lines = t.screen().split('\n');
      expect(Math.max(...lines.map((l) => l.trimEnd().length))).toBeGreaterThan(80);
      expect(Math.max(...lines.map((l) => l.trimEnd().length))).toBeLessThanOrEqual(100);
      // Every word of the help (as it reads unwrapped, into a pipe) is whole on the screen: a mid-word break would cut one.
      const onScreen = new Set(t.screen().split(/\s+/));
      const words = (await runCli(CONTROLLER_BIN, ['apply', '--help'])).stdout.split(/\s+/).filter(Boolean);
      expect(words.filter((w) => !onScreen.has(w))).toEqual([]);
    } finally {
      t.close();
    }
  });
});

describe('each command lists only its own flags, and its usage line names the required ones', () => {
  it('the agent: health needs no database, diff keeps no state, and apply takes both', async () => {
    const [health, diff, apply] = await Promise.all(['health', 'diff', 'apply'].map((c) => runCli(AGENT_BIN, [c, '--help'])));
    expect(flagsOf(health!.stdout)).not.toContain('--db');
    expect(flagsOf(health!.stdout)).toContain('--state-dir');
    expect(flagsOf(diff!.stdout)).not.toContain('--state-dir');
    expect(flagsOf(apply!.stdout)).toEqual(expect.arrayContaining(['--db', '--state-dir', '--config', '--system-id-conf']));
    expect(diff!.stdout.split('\n')[0]).toBe('ovn-chassis-agent diff --config <config> [options]');
  });

  it('the controller: only commands that change something take --yes; rollout\'s usage names --batch', async () => {
    const help = Object.fromEntries(await Promise.all(COMMANDS.map(async (c) => [c, (await runCli(CONTROLLER_BIN, [c, '--help'])).stdout] as const)));
    expect(COMMANDS.filter((c) => flagsOf(help[c] as string).includes('--yes'))).toEqual(['apply', 'rollout', 'rollback', 'publish', 'agent', 'hostkeys']);
    expect((help.rollout as string).split('\n')[0]).toBe('ovn-chassis rollout --inventory <inventory> --batch <batch> [options]');
  });
});

describe('one error reporter for both programs', () => {
  it('a code, the message and a hint, on stderr and in --json alike', async () => {
    const dir = tempDir('errors');
    const missing = join(dir, 'missing.yaml');
    for (const [bin, args] of [[CONTROLLER_BIN, ['diff', '-i', missing]], [AGENT_BIN, ['diff', '--config', missing]]] as const) {
      const text = await runCli(bin, [...args]);
      expect(text.code).toBe(1);
      expect(text.stderr).toMatch(new RegExp(`^ovn-chassis(-agent)?: ${missing} is invalid:\n  cannot read it: ENOENT`));
      expect(text.stderr).toMatch(/\nhint: fix what the message names/);
      const json = await runCli(bin, [...args, '--json']);
      expect(JSON.parse(json.stdout)).toMatchObject({ apiVersion: 'ovn-chassis/v1', command: 'diff', error: { code: 'INVALID_CONFIG', hint: expect.stringContaining('fix what the message names') } });
    }
  });
});

describe('typos', () => {
  it('a mistyped command gets the command it most likely meant', async () => {
    const r = await runCli(CONTROLLER_BIN, ['aply', '-i', 'inventory.yaml']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Did you mean apply?');
  });

  it('a mistyped flag gets the flag it most likely meant', async () => {
    const r = await runCli(CONTROLLER_BIN, ['diff', '-i', 'inventory.yaml', '--limt', 'cmp-1']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--limt: did you mean --limit?');
  });

  it('a mistyped inventory field gets the field it most likely meant, with its line and column', async () => {
    const dir = tempDir('typo');
    const inv = join(dir, 'inventory.yaml');
    writeFileSync(inv, 'ovn:\n  southbound: [tcp:127.0.0.1:6642]\nhosts:\n  cmp-1:\n    address: 192.0.2.10\n    bridgeMapping: {physnet1: br-ex}\n');
    const r = await runCli(CONTROLLER_BIN, ['validate', '-i', inv]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('line 6, column 5: hosts.cmp-1.bridgeMapping: unknown field (did you mean bridgeMappings?)');
    writeFileSync(inv, 'ovn:\n  southbound: [tcp:127.0.0.1:6642]\nhosts:\n  cmp-1:\n    address: 192.0.2.10\n    transport: {kind: ssh, usr: root}\n');
    const t = await runCli(CONTROLLER_BIN, ['validate', '-i', inv]);
    expect(t.stderr).toContain('hosts.cmp-1.transport.usr: unknown field (did you mean user?)');
    writeFileSync(inv, 'ovn:\n  southbound: [tcp:127.0.0.1:6642]\nhosts:\n  cmp-1:\n    address: 10.0.0.300\n');
    const a = await runCli(CONTROLLER_BIN, ['validate', '-i', inv]);
    expect(a.stderr).toContain('line 5, column 14: hosts.cmp-1.address: "10.0.0.300" is not an IPv4 or IPv6 address (with no encap.ip, the address is the encap IP)');
  });
});
