import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../sandbox/index.js';
import { CONTROLLER_BIN, runCli } from '../support/cli.js';

const COMMANDS = ['validate', 'render', 'diff', 'apply', 'status', 'rollout', 'rollback', 'agent', 'import'];

describe('ovn-chassis --help', () => {
  for (const cmd of COMMANDS) {
    it(`${cmd}: every option described, an example, and the exit status`, async () => {
      const r = await runCli(CONTROLLER_BIN, [cmd, '--help']);
      expect(r.code).toBe(0);
      const options = r.stdout.split('\n').filter((l) => /^\s+(-\w, )?--[a-z-]+/.test(l));
      expect(options.length).toBeGreaterThan(2);
      // An option line is the flag, then its description, then yargs' [type] notes.
      for (const line of options) expect(line, line).toMatch(/^\s+(-\w, )?--[a-z-]+\s{2,}[^[\s]/);
      expect(r.stdout).toContain('Examples:');
      expect(r.stdout).toMatch(new RegExp(`ovn-chassis ${cmd} `));
      expect(r.stdout).toContain('Exit status:');
      expect(r.stdout).toContain('3  partial');
    });
  }
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
  });
});
