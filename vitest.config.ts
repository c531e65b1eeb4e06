import { defineConfig } from 'vitest/config';
import { TEST_PID_REGISTRY } from './test/registry.js';

/**
 * The fast tier (`npm run test:unit`): tests of pure logic and in-process
 * edges that start no server and run no CLI, in seconds. test/architecture.test.ts
 * holds each of them to that.
 */
export const UNIT_TESTS = [
  'test/agent/diff.test.ts', 'test/agent/docker-api.test.ts', 'test/agent/import.property.test.ts', 'test/agent/render.test.ts',
  'test/agent/resolve.test.ts', 'test/agent/snapshots.test.ts', 'test/architecture.test.ts', 'test/common/closest.test.ts',
  'test/common/lines.test.ts', 'test/controller/client.test.ts', 'test/controller/inventory.test.ts', 'test/controller/known-hosts.test.ts', 'test/controller/lines.test.ts', 'test/controller/progress.test.ts', 'test/controller/report.test.ts',
  'test/controller/plan.test.ts', 'test/controller/preflight.test.ts', 'test/controller/rollout-policy.test.ts',
  'test/controller/sb-index.property.test.ts', 'test/controller/ssh-node.test.ts', 'test/controller/stranded.test.ts',
  'test/controller/verify.test.ts', 'test/controller/workloads.test.ts', 'test/ovsdb/cache.test.ts', 'test/ovsdb/framing.test.ts',
  'test/ovsdb/reconnect-fsm.test.ts', 'test/ovsdb/server-verdict.test.ts', 'test/ovsdb/values.test.ts', 'test/schemas/chassis.test.ts',
  'test/schemas/json-schema.test.ts', 'test/docs.test.ts', 'test/agent/pull-judge.test.ts', 'test/controller/config-db.test.ts', 'test/controller/signing-key.test.ts',
];

export default defineConfig({
  test: {
    globalSetup: ['test/global-setup.ts'],
    setupFiles: ['test/setup-file.ts'],
    env: { OVN_CHASSIS_PID_REGISTRY: TEST_PID_REGISTRY },
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Real servers are started per file; the machines have two cores.
    maxWorkers: 2,
    projects: [
      { extends: true, test: { name: 'unit', include: UNIT_TESTS } },
      { extends: true, test: { name: 'integration', include: ['test/**/*.test.ts'], exclude: UNIT_TESTS } },
    ],
  },
});
