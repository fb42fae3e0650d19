import { configDefaults, defineConfig } from 'vitest/config';

/**
 * Files that load the machine: several daemons, thousands of events, a PostgreSQL stopped and started,
 * a webhook that sends 10 MiB bodies. On 2 cores two of them at once starve each other's timers and
 * sockets, so they run one at a time, and only once the rest (a few files at once) is done: projects
 * of different sequence.groupOrder run one group after the other.
 */
const ONE_AT_A_TIME = [
  'test/reliability/**/*.test.ts',
  'test/chaos/chaoticWebhook.test.ts',
  'test/delivery/crashRecovery.test.ts',
  'test/delivery/twoDaemons.test.ts',
  'test/delivery/wakeLock.test.ts',
  'test/delivery/concurrency.test.ts',
  'test/delivery/load.test.ts',
  'test/delivery/isolation.test.ts',
  'test/delivery/circuitBreaker.test.ts',
  'test/delivery/limits.test.ts',
];

const shared = {
  pool: 'forks' as const,
  setupFiles: ['test/support/testSetup.ts'],
  testTimeout: 30_000,
  hookTimeout: 120_000,
  teardownTimeout: 30_000,
};

export default defineConfig({
  test: {
    // One PostgreSQL server for the whole run, both projects (the root project's setup always runs,
    // and projects see what it provides).
    globalSetup: ['test/support/globalSetup.ts'],
    projects: [
      {
        test: {
          ...shared,
          name: 'parallel',
          include: ['test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, ...ONE_AT_A_TIME],
          // These wait on PostgreSQL and sockets more than on the CPU: a few files at once suit 2 cores.
          maxWorkers: 3,
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          ...shared,
          name: 'one-at-a-time',
          include: ONE_AT_A_TIME,
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
