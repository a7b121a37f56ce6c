import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    globalSetup: ['../../packages/testkit/dist/global-setup.js'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
