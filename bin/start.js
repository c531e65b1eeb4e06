import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/**
 * Runs a CLI: its one-file bundle when the setup made one (it starts faster),
 * else the compiled modules; says what to do when neither is built yet.
 */
export async function start(relative, bundleName) {
  const bundle = fileURLToPath(new URL(`../dist/bundle/${bundleName}.cjs`, import.meta.url));
  if (existsSync(bundle)) {
    // The bundle runs the CLI and sets the exit code itself.
    createRequire(import.meta.url)(bundle);
    return;
  }
  const url = new URL(relative, import.meta.url);
  if (!existsSync(fileURLToPath(url))) {
    process.stderr.write('ovn-chassis is not built yet: run `npm run setup` (or `bash scripts/setup`) in its checkout first\n');
    process.exit(1);
  }
  const { main } = await import(url.href);
  process.exitCode = await main(process.argv.slice(2));
}
