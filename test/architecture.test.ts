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
  // The servers the sandbox is made of: the agent host serves real agent sessions, nothing of the controller.
  sandbox: ['sandbox', 'agent', 'ovsdb', 'schemas', 'common'],
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

describe('the sandbox is one module to its users', () => {
  it('tests, scripts and packaging reach the servers only through sandbox/index.ts', () => {
    const users = ['test', 'scripts', 'packaging'].flatMap((d) => sources(d));
    const inside = users.flatMap((f) => importsOf(f).filter((t) => t.startsWith('sandbox/') && t !== 'sandbox/index.ts').map((t) => `${f} → ${t}`));
    expect(inside).toEqual([]);
  });
});

describe('the fast tier', () => {
  // What starts a server or runs a CLI: a test that reaches any of these belongs to the integration tier.
  const SLOW = /^(sandbox\/index|test\/support\/(cli|serving|fake-peer|terminal))\.ts$/;

  it('npm run test:unit holds only tests that start no server and run no program', async () => {
    const { UNIT_TESTS } = await import('../vitest.config.js');
    expect(UNIT_TESTS.length).toBeGreaterThan(20);
    for (const file of UNIT_TESTS) {
      const text = readFileSync(join(ROOT, file), 'utf8');
      // From the sandbox a fast test may take a temporary folder, and no server.
      const fromSandbox = [...text.matchAll(/import \{([^}]*)\} from '[^']*sandbox\/index\.js'/g)].flatMap((m) => (m[1] as string).split(',').map((n) => n.trim()).filter(Boolean));
      expect(fromSandbox.filter((n) => n !== 'tempDir'), file).toEqual([]);
      expect(importsOf(file).filter((i) => SLOW.test(i) && i !== 'sandbox/index.ts'), file).toEqual([]);
      const builtins = [...readFileSync(join(ROOT, file), 'utf8').matchAll(/from\s+'(node:[^']+)'/g)].map((m) => m[1]);
      expect(builtins, file).not.toContain('node:child_process');
    }
  });
});
