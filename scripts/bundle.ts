/**
 * Bundles each CLI into one CommonJS file (dist/bundle/*.cjs) with esbuild:
 * what `bin/` runs when it is there, and what the single executables embed
 * (Node's single-executable applications take one CommonJS script).
 * Native addons are left out: ssh2 runs without its optional ones.
 */
import { build } from 'esbuild';

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

if (process.argv[1]?.endsWith('bundle.js')) {
  bundle(process.argv[2]).then(
    (files) => process.stderr.write(`bundled ${files.join(', ')}\n`),
    (err: unknown) => {
      process.stderr.write(`bundle failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
