/**
 * The gateway as a library: local mode and tests build the HTTP app and mint tokens
 * with these, without starting the service process.
 */
export { API_BASE, createGateway, createServer, DEFAULT_OPTIONS, type GatewayOptions, type GatewayServer, type ServerDeps } from './app.js';
export { createApiToken, TokenRequestError, type Principal } from './adapters/token-store.js';
export { loadConfig, type GatewayConfig } from './config.js';
export { ROLES, type Role } from './domain/tokens.js';
export type { FileDetail, FileItem, JobItem, ManifestEntry, TimelineEntry } from './domain/file-view.js';
export type { FilePage } from './adapters/file-store.js';
export type { HealthBody, CheckResult } from './http/health.js';
