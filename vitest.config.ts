import { defineConfig } from 'vitest/config';
import { TEST_PID_REGISTRY } from './test/registry.js';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    setupFiles: ['test/setup-file.ts'],
    env: { OVN_CHASSIS_PID_REGISTRY: TEST_PID_REGISTRY },
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Real servers are started per file; the machines have two cores.
    maxWorkers: 2,
  },
});
