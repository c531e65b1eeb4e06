import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * Folders are the architecture: imports go one way (controller → agent →
 * ovsdb; all → schemas; common is beneath everything), and the controller uses the agent only
 * through its public module.
 */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const MAY_IMPORT: Record<string, string[]> = {
  schemas: ['schemas', 'common'],
  common: ['common'],
  cli: ['cli', 'schemas', 'common'],
  ovsdb: ['ovsdb', 'schemas', 'common'],
  agent: ['agent', 'cli', 'ovsdb', 'schemas', 'common'],
  controller: ['controller', 'agent/index.ts', 'cli', 'ovsdb', 'schemas', 'common'],
};

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

/** Every relative module a file imports, statically or dynamically, as a path from the repository root. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const specs = [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.[^']+)'/g)].map((m) => m[1] as string);
  return specs.map((s) => relative(ROOT, resolve(ROOT, dirname(file), s)).replace(/\.js$/, '.ts'));
}

describe('architecture', () => {
  for (const [folder, allowed] of Object.entries(MAY_IMPORT)) {
    it(`${folder}/ imports only ${allowed.join(', ')}`, () => {
      const wrong = sources(folder).flatMap((f) => importsOf(f).filter((target) => !allowed.some((a) => target === a || target.startsWith(`${a}/`))).map((t) => `${f} → ${t}`));
      expect(wrong).toEqual([]);
    });
  }
});

describe('the fast tier', () => {
  // What starts a server or runs a CLI: a test that reaches any of these belongs to the integration tier.
  const SLOW = /^(scripts\/lib\/(sandbox|ovsdb-server|ovsdb-cluster|sshd|dockerd|datapath|agent-host|systemd-node|registrar|ovn-controller|tcp-proxy)|test\/support\/(cli|pki|serving|fake-peer))\.ts$/;

  it('npm run test:unit holds only tests that start no server and run no program', async () => {
    const { UNIT_TESTS } = await import('../vitest.config.js');
    expect(UNIT_TESTS.length).toBeGreaterThan(20);
    for (const file of UNIT_TESTS) {
      expect(importsOf(file).filter((i) => SLOW.test(i)), file).toEqual([]);
      const builtins = [...readFileSync(join(ROOT, file), 'utf8').matchAll(/from\s+'(node:[^']+)'/g)].map((m) => m[1]);
      expect(builtins, file).not.toContain('node:child_process');
    }
  });
});
