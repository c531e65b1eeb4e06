/**
 * Bundles each CLI into one CommonJS file (dist/bundle/*.cjs) with esbuild:
 * what `bin/` runs when it is there, and what the single executables embed
 * (Node's single-executable applications take one CommonJS script).
 * Native addons are left out: ssh2 runs without its optional ones.
 */
import { build } from 'esbuild';
import { runIfMain } from './lib/main.js';

export const ENTRIES = {
  'ovn-chassis': 'packaging/controller-main.ts',
  'ovn-chassis-agent': 'packaging/agent-main.ts',
} as const;

export async function bundle(outDir = 'dist/bundle'): Promise<string[]> {
  const out: string[] = [];
  for (const [name, entry] of Object.entries(ENTRIES)) {
    const outfile = `${outDir}/${name}.cjs`;
    await build({
      entryPoints: [entry],
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      minify: true,
      legalComments: 'none',
      external: ['cpu-features', '*.node'],
      outfile,
      logLevel: 'error',
    });
    out.push(outfile);
  }
  return out;
}

runIfMain('bundle.js', 'bundle', async () => `bundled ${(await bundle(process.argv[2])).join(', ')}\n`);
