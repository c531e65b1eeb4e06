/**
 * Bundles each CLI into one CommonJS file (dist/bundle/*.cjs) with esbuild:
 * what `bin/` runs when it is there, and what the single executables embed
 * (Node's single-executable applications take one CommonJS script).
 * Native addons are left out: ssh2 runs without its optional ones.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { type Plugin, build } from 'esbuild';
import { runIfMain } from './lib/main.js';

export const ENTRIES = {
  'ovn-chassis': 'packaging/controller-main.ts',
  'ovn-chassis-agent': 'packaging/agent-main.ts',
} as const;

/** Builds that say another release than this checkout's (a packager's own build number; tests of an upgrade to a second build). */
function releasedAs(version: string): Plugin {
  return {
    name: 'release-version',
    setup(b) {
      b.onLoad({ filter: /schemas[\\/]version\.ts$/ }, (args) => {
        const text = readFileSync(args.path, 'utf8');
        const replaced = text.replace(/export const VERSION = '[^']*';/, `export const VERSION = ${JSON.stringify(version)};`);
        if (replaced === text) throw new Error(`${args.path}: no VERSION to set`);
        return { contents: replaced, loader: 'ts' };
      });
    },
  };
}

/**
 * yargs' ES module build lays its help out with cliui's ES module entry,
 * which wraps text mid-word ("Sout/hbound"); cliui's CommonJS entry wraps at
 * word boundaries (wrap-ansi). The bundle takes that one.
 */
const wordWrappedHelp: Plugin = {
  name: 'cliui-word-wrap',
  setup(b) {
    b.onResolve({ filter: /^cliui$/ }, (args) => ({ path: createRequire(args.importer).resolve('cliui') }));
  },
};

/**
 * Code the CLIs never run, read at every start all the same (a third of the
 * bundle): dockerode loads gRPC and protobuf at start for BuildKit sessions,
 * which only `docker build` with a session uses, and zod carries its error
 * messages in some forty languages, where ours are in English. Each is
 * replaced by a module that says so if it is ever reached.
 */
const unusedAtRun: Plugin = {
  name: 'unused-at-run',
  setup(b) {
    b.onResolve({ filter: /^(@grpc\/grpc-js|@grpc\/proto-loader|protobufjs)$/ }, (args) => ({ path: args.path, namespace: 'not-bundled' }));
    b.onLoad({ filter: /.*/, namespace: 'not-bundled' }, (args) => ({
      contents: `module.exports = new Proxy({}, { get(_, k) { if (typeof k === 'symbol' || k === '__esModule' || k === 'then') return undefined; throw new Error(${JSON.stringify(`${args.path} is not in the ovn-chassis bundle`)} + ': ' + k); } });`,
      loader: 'js',
    }));
    b.onResolve({ filter: /\/locales\/index\.js$/ }, (args) => (/[\\/]zod[\\/]/.test(args.importer) ? { path: createRequire(args.importer).resolve(args.path), namespace: 'english-only' } : undefined));
    b.onLoad({ filter: /.*/, namespace: 'english-only' }, (args) => ({ contents: 'export { default as en } from "./en.js";', loader: 'js', resolveDir: dirname(args.path) }));
  },
};

export async function bundle(outDir = 'dist/bundle', opts: { version?: string } = {}): Promise<string[]> {
  const out: string[] = [];
  for (const [name, entry] of Object.entries(ENTRIES)) {
    const outfile = `${outDir}/${name}.cjs`;
    await build({
      plugins: [wordWrappedHelp, unusedAtRun, ...(opts.version ? [releasedAs(opts.version)] : [])],
      entryPoints: [entry],
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      minify: true,
      // bin/ reads the bundle as Latin-1, which is quicker than UTF-8 and the same for ASCII: anything else is escaped.
      charset: 'ascii',
      legalComments: 'none',
      external: ['cpu-features', '*.node'],
      outfile,
      logLevel: 'error',
    });
    // A code cache made for the bundle this replaces would be refused by V8: it goes with it.
    rmSync(`${outfile}.cache`, { force: true });
    out.push(outfile);
  }
  return out;
}

/**
 * Runs each CLI of the checkout once (its --help), so bin/ finds the V8 code
 * cache it keeps beside the bundle already made: the first start is as fast
 * as the next ones (a Node of another version makes its own on first run).
 */
function warmCodeCaches(): void {
  for (const name of Object.keys(ENTRIES)) execFileSync(process.execPath, [new URL(`../../bin/${name}.js`, import.meta.url).pathname, '--help'], { stdio: 'ignore' });
}

runIfMain('bundle.js', 'bundle', async () => {
  const made = await bundle(process.argv[2]);
  if (process.argv[2] === undefined || process.argv[2] === 'dist/bundle') warmCodeCaches();
  return `bundled ${made.join(', ')}\n`;
});
