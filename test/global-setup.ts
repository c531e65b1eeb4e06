import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { alive, killRegistered, NETNS_PREFIX } from '../sandbox/index.js';
import { TEST_PID_REGISTRIES, TEST_PID_REGISTRY } from './registry.js';

let startedAt = 0;

/** Folders of ours in the temporary folder made since this run started (another run's too, if one ran alongside). */
function tempLeftSince(ms: number): string[] {
  return readdirSync(tmpdir())
    .filter((name) => name.startsWith('ovn-chassis-') && join(tmpdir(), name) !== TEST_PID_REGISTRIES)
    .filter((name) => (statSync(join(tmpdir(), name), { throwIfNoEntry: false })?.ctimeMs ?? 0) >= ms);
}

/** Network namespaces of datapath sandboxes still there: removed, and named. */
function removeNamespaces(): string[] {
  let names: string[];
  try {
    names = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').map((l) => l.split(' ')[0] ?? '').filter((n) => n.startsWith(NETNS_PREFIX));
  } catch {
    return [];
  }
  for (const n of names) {
    try {
      execFileSync('ip', ['netns', 'delete', n]);
    } catch {
      // Gone meanwhile.
    }
  }
  return names;
}

/** Stops what an earlier run left behind when it died before its teardown. */
export function setup(): void {
  startedAt = Date.now();
  if (!existsSync(TEST_PID_REGISTRIES)) return;
  for (const run of readdirSync(TEST_PID_REGISTRIES)) {
    if (Number(run) === process.pid || alive(Number(run))) continue;
    killRegistered(join(TEST_PID_REGISTRIES, run));
    rmSync(join(TEST_PID_REGISTRIES, run), { recursive: true, force: true });
  }
}

/**
 * Stops anything a test file started and did not stop, and says so; names
 * the temporary folders tests left. Either is a bug in a test.
 */
export function teardown(): void {
  const left = killRegistered(TEST_PID_REGISTRY);
  rmSync(TEST_PID_REGISTRY, { recursive: true, force: true });
  if (left.length > 0) {
    process.stderr.write(`test teardown: stopped ${left.length} leaked server(s):\n  ${left.join('\n  ')}\n`);
  }
  const namespaces = removeNamespaces();
  if (namespaces.length > 0) process.stderr.write(`test teardown: removed ${namespaces.length} leaked network namespace(s): ${namespaces.join(', ')}\n`);
  const folders = tempLeftSince(startedAt);
  if (folders.length > 0) {
    process.stderr.write(`test teardown: ${folders.length} temporary folder(s) left in ${tmpdir()}:\n  ${folders.join('\n  ')}\n`);
  }
}
