export { createWatcher, type Watcher, type WatcherDeps } from './app.js';
export { loadConfig, type WatcherConfig } from './config.js';
