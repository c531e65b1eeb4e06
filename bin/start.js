import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';

/**
 * Runs a CLI: its one-file bundle when the setup made one (it starts faster),
 * else the compiled modules; says what to do when neither is built yet.
 */
export async function start(relative, bundleName) {
  const bundle = fileURLToPath(new URL(`../dist/bundle/${bundleName}.cjs`, import.meta.url));
  if (existsSync(bundle)) {
    // The bundle runs the CLI and sets the exit code itself.
    runWithCodeCache(bundle);
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

/**
 * Runs a CommonJS bundle as require() would, with V8's code cache kept beside
 * it (BUNDLE.cache), as the single executables have theirs: compiling the
 * bundle is most of a cold start. The cache is written after a run that had
 * none (or one V8 refused: another Node, another bundle), by whoever may
 * write there; V8 checks it against the source before using any of it.
 */
function runWithCodeCache(bundle) {
  const cacheFile = `${bundle}.cache`;
  let cachedData;
  try {
    cachedData = readFileSync(cacheFile);
  } catch {
    cachedData = undefined;
  }
  // Latin-1 is UTF-8 for the bundle, which is ASCII (scripts/bundle.ts), and quicker to read.
  const script = new Script(Module.wrap(readFileSync(bundle, 'latin1')), { filename: bundle, ...(cachedData ? { cachedData } : {}) });
  if (!cachedData || script.cachedDataRejected) {
    // Made at exit, so the functions this run compiled are in it too.
    process.once('exit', () => {
      try {
        const temp = `${cacheFile}.${process.pid}`;
        writeFileSync(temp, script.createCachedData(), { mode: 0o644 });
        renameSync(temp, cacheFile);
      } catch {
        // A bundle installed where this user may not write: it runs without a cache.
      }
    });
  }
  const module = { exports: {}, id: bundle, filename: bundle, loaded: false };
  script.runInThisContext()(module.exports, createRequire(bundle), module, bundle, dirname(bundle));
}
