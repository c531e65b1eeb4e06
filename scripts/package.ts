/**
 * npm run package: single executables for linux-x64 that need no Node.js on
 * the machine, dist/pkg/ovn-chassis-agent and dist/pkg/ovn-chassis. Each is
 * this Node's own binary with the CLI's bundle injected as a single-executable
 * application (postject), with V8's code cache so it starts fast.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ENTRIES, bundle } from './bundle.js';
import { runIfMain } from './lib/main.js';

const OUT = 'dist/pkg';
/** The fuse postject flips so the binary runs its embedded script (Node's documented sentinel). */
const FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

export async function buildExecutables(outDir = OUT, opts: { version?: string } = {}): Promise<string[]> {
  mkdirSync(outDir, { recursive: true });
  await bundle(outDir, opts);
  const made: string[] = [];
  for (const name of Object.keys(ENTRIES)) {
    const blob = join(outDir, `${name}.blob`);
    const config = join(outDir, `${name}.sea.json`);
    writeFileSync(config, JSON.stringify({ main: join(outDir, `${name}.cjs`), output: blob, disableExperimentalSEAWarning: true, useCodeCache: true }));
    execFileSync(process.execPath, ['--experimental-sea-config', config], { stdio: 'pipe' });
    const exe = join(outDir, name);
    rmSync(exe, { force: true });
    copyFileSync(process.execPath, exe);
    chmodSync(exe, 0o755);
    execFileSync('node_modules/.bin/postject', [exe, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', FUSE], { stdio: 'pipe' });
    rmSync(blob);
    rmSync(config);
    made.push(exe);
  }
  return made;
}

runIfMain('package.js', 'package', async () => `${(await buildExecutables()).join('\n')}\n`);
