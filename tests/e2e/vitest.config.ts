import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    globalSetup: ['../../packages/testkit/dist/global-setup.js'],
    testTimeout: 300_000,
    hookTimeout: 60_000,
    // One end-to-end scenario at a time: they measure the whole machine.
    fileParallelism: false,
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
