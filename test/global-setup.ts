import { killRegistered } from '../scripts/lib/procs.js';
import { TEST_PID_REGISTRY } from './registry.js';

export function setup(): void {
  killRegistered(TEST_PID_REGISTRY);
}

/** Stops anything a test file started and did not stop, and says so: that is a bug in the test. */
export function teardown(): void {
  const left = killRegistered(TEST_PID_REGISTRY);
  if (left.length > 0) {
    process.stderr.write(`test teardown: stopped ${left.length} leaked server(s):\n  ${left.join('\n  ')}\n`);
  }
}
