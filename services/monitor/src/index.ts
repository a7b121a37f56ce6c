export { Projection } from './adapters/projection.js';
export { createMonitor, type Monitor, type MonitorDeps } from './app.js';
export { loadConfig, type MonitorConfig } from './config.js';
