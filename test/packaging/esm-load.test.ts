import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/** Every compiled module, as Node's own ES module loader takes it (the tests' loader is more lenient: it accepted a named import a CommonJS package does not declare). */
function modules(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? modules(join(dir, e.name)) : e.name.endsWith('.js') ? [join(dir, e.name)] : []));
}

describe('the compiled modules', () => {
  it('each loads in plain Node (what the demo, the sandbox and a build without bundles run)', () => {
    const files = ['agent', 'cli', 'common', 'controller', 'ovsdb', 'sandbox', 'schemas'].flatMap((d) => modules(join('dist', d))).map((f) => join(process.cwd(), f));
    expect(files.length).toBeGreaterThan(100);
    const script = `for (const f of ${JSON.stringify(files)}) { try { await import(f); } catch (e) { console.log(f + ': ' + e.message.split('\\n')[0]); } }`;
    const failed = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }).trim();
    expect(failed).toBe('');
  });
});
