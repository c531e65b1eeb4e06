import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Where the suite's servers record their pids (see scripts/lib/procs.ts). */
export const TEST_PID_REGISTRY = join(tmpdir(), 'ovn-chassis-test-pids');
