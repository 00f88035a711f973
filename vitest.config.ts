import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // One Drover ensemble and one Apache ZooKeeper for the framework tests (test/helpers/backends.ts).
    globalSetup: ['test/helpers/backends-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Two cores: keep real-server suites from starving each other.
    maxWorkers: 2,
  },
});
