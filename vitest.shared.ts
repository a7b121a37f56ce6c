import { defineConfig } from 'vitest/config';

/** Tests that need the real servers the test kit starts once per run. */
export const withServers = defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    globalSetup: ['../../packages/testkit/dist/global-setup.js'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // The SDK warns on every Node 20 worker that future releases need Node 22; once per run is noise enough.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
