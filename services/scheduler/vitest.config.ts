import { defineConfig, mergeConfig } from 'vitest/config';
import { withServers } from '../../vitest.shared.js';

// Jobs, backups and SSH sessions share two cores with other test runs: generous limits.
export default mergeConfig(withServers, defineConfig({ test: { testTimeout: 90_000 } }));
