import { defineConfig } from 'vitest/config';

/** Tests that need the real servers the test kit starts once per run. */
export const withServers = defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    globalSetup: ['../../packages/testkit/dist/global-setup.js'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
