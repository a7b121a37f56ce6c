import { mergeConfig } from 'vitest/config';
import { withServers } from '../../vitest.shared.js';

// Test files share their workers' module cache: most are small pure-logic files, and
// importing @ferry/common once per worker instead of once per file saves most of the run.
export default mergeConfig(withServers, { test: { isolate: false } });
