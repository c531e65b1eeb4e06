import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Where every test run keeps its own registry folder, named by the runner's pid. */
export const TEST_PID_REGISTRIES = join(tmpdir(), 'ovn-chassis-test-pids');

/**
 * Where this run's servers record their pids (see sandbox/procs.ts). Per
 * run, so two runs on one machine never stop each other's servers.
 */
export const TEST_PID_REGISTRY = join(TEST_PID_REGISTRIES, String(process.pid));
