import { defineConfig } from 'vitest/config';

// Each file starts the servers it needs from the shipped configuration (deploy/), on free
// ports, and stops them afterwards; no global setup.
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 90_000,
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
