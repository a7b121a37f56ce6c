import { defineConfig } from 'vitest/config';

// Pure unit tests; common's adapters are tested against real servers in @ferry/testkit.
export default defineConfig({ test: { include: ['src/**/*.test.ts'] } });
