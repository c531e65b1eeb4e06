import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Loads a compiled CLI and exits with its code; says what to do when it is not built yet. */
export async function start(relative) {
  const url = new URL(relative, import.meta.url);
  if (!existsSync(fileURLToPath(url))) {
    process.stderr.write('ovn-chassis is not built yet: run `npm run setup` (or `bash scripts/setup`) in its checkout first\n');
    process.exit(1);
  }
  const { main } = await import(url.href);
  process.exitCode = await main(process.argv.slice(2));
}
