import { defineConfig } from 'vitest/config';

/**
 * Projects:
 * - server: unit and integration tests of the service (real PostgreSQL, real HTTP on loopback).
 * - ops: alert rules (promtool), dashboards and stack configs checked against real tools.
 * - dashboard: Vue stores/components in happy-dom (dashboard/vitest.config.ts).
 * - faults: hostile input and failing dependencies, figures in test-artifacts/fault-report.json.
 * - e2e: the real service driven in Debian's Chromium through playwright-core.
 */
export default defineConfig({
  test: {
    // Vitest's default is one worker fewer than the cores (one, on the 2-core CI machine). server, ops and
    // dashboard files wait on timers, child processes and PostgreSQL more than they compute, so two at a
    // time take ~30% less wall time; faults and e2e keep one file at a time (fileParallelism: false).
    maxWorkers: 2,
    // In CI, also a JSON report that .ci/run turns into a plain "N passed, N failed" line.
    reporters: process.env.CI ? ['default', ['json', { outputFile: 'test-artifacts/vitest-results.json' }]] : ['default'],
    projects: [
      {
        test: {
          name: 'server',
          include: ['tests/unit/**/*.test.ts', 'tests/integration/**/*.test.ts'],
          globalSetup: ['tests/globalSetup.ts'],
          environment: 'node',
          testTimeout: 30_000,
          hookTimeout: 60_000,
          pool: 'forks',
        },
      },
      {
        test: {
          name: 'ops',
          include: ['tests/ops/**/*.test.ts'],
          globalSetup: ['tests/globalSetup.ts'],
          environment: 'node',
          testTimeout: 180_000,
          hookTimeout: 120_000,
          pool: 'forks',
        },
      },
      'dashboard/vitest.config.ts',
      {
        test: {
          name: 'faults',
          include: ['tests/faults/**/*.test.ts'],
          globalSetup: ['tests/globalSetup.ts'],
          environment: 'node',
          testTimeout: 120_000,
          hookTimeout: 60_000,
          pool: 'forks',
          fileParallelism: false,
          // After server and ops, before e2e: fault scenarios measure time and memory, so alone.
          sequence: { groupOrder: 1 },
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['tests/e2e/**/*.test.ts'],
          globalSetup: ['tests/globalSetup.ts'],
          environment: 'node',
          testTimeout: 180_000,
          hookTimeout: 180_000,
          pool: 'forks',
          fileParallelism: false,
          // After every other project, alone: Chromium and timing-sensitive server tests share 2 cores.
          sequence: { groupOrder: 2 },
        },
      },
    ],
  },
});
