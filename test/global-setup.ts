import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { alive, killRegistered } from '../scripts/lib/procs.js';
import { TEST_PID_REGISTRIES, TEST_PID_REGISTRY } from './registry.js';

/** Stops what an earlier run left behind when it died before its teardown. */
export function setup(): void {
  if (!existsSync(TEST_PID_REGISTRIES)) return;
  for (const run of readdirSync(TEST_PID_REGISTRIES)) {
    if (Number(run) === process.pid || alive(Number(run))) continue;
    killRegistered(join(TEST_PID_REGISTRIES, run));
    rmSync(join(TEST_PID_REGISTRIES, run), { recursive: true, force: true });
  }
}

/** Stops anything a test file started and did not stop, and says so: that is a bug in the test. */
export function teardown(): void {
  const left = killRegistered(TEST_PID_REGISTRY);
  rmSync(TEST_PID_REGISTRY, { recursive: true, force: true });
  if (left.length > 0) {
    process.stderr.write(`test teardown: stopped ${left.length} leaked server(s):\n  ${left.join('\n  ')}\n`);
  }
}
