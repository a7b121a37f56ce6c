export { createWatcher, type Watcher, type WatcherDeps, type WatcherStats } from './app.js';
export type { HashFn } from './announcer.js';
export { loadConfig, type InstrumentConfig, type WatcherConfig } from './config.js';
export { parseWatchFile } from './config-file.js';
export { InstrumentWatcher, type InstrumentStats } from './instrument-watcher.js';
