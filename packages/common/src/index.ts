export { Bus, connectBus, streamOfSubject, type NatsSettings, type BusOptions, type ConsumeOptions, type Received, type Subscription } from './bus.js';
export {
  commonEnv,
  databaseEnv,
  envBoolean,
  envDuration,
  instrumentRootsEnv,
  natsEnv,
  parseConfig,
  parseDuration,
  parseInstrumentRoots,
  redactConfig,
  redisEnv,
} from './config.js';
export { createDatabase, migrateToLatest, MigrationError, pgConnectionString, type DatabaseOptions } from './db/database.js';
export { FILE_STATUSES, type Database, type FileStatus } from './db/schema.js';
export { ConfigError, errorMessage, FerryError, isPermanent, PermanentError, withTimeout } from './errors.js';
export {
  canonicalManifest,
  contentKey,
  EVENTS,
  eventForSubject,
  fileIdFor,
  manifestDigest,
  STREAMS,
  subjectMatches,
  subjectToken,
  type EventName,
  type EventOf,
  type ManifestEntry,
  type StreamName,
  type UploadRetryArgs,
  uploadRetryArgsSchema,
} from './events.js';
export { HASH_CHUNK_BYTES, hashFile, type FileHash } from './hash.js';
export { HeartbeatPublisher, volumeUsage, type HeartbeatOptions } from './heartbeat.js';
export { createLogger, type Logger, type LoggerOptions } from './logger.js';
export {
  busMetrics,
  counter,
  DURATION_BUCKETS,
  gauge,
  histogram,
  metricsRegistry,
  renderMetrics,
  serveMetrics,
  startDefaultMetrics,
  type MetricsServer,
} from './metrics.js';
export { instrumentFilePath } from './paths.js';
export { runService, type ServiceHandle } from './service.js';
export { ShutdownRegistry, type ShutdownOptions } from './shutdown.js';
export {
  activeTraceId,
  context,
  extractTraceContext,
  getTracer,
  injectTraceContext,
  setupTelemetry,
  SpanKind,
  SpanStatusCode,
  trace,
  withSpan,
  type Context,
  type Span,
  type Telemetry,
  type TelemetryOptions,
  type Tracer,
} from './tracing.js';
export {
  classifyS3Error,
  createS3Client,
  localZonePath,
  META,
  openZoneReader,
  zoneEnv,
  zoneFromEnv,
  zoneSchema,
  type LocalZoneConfig,
  type S3ZoneConfig,
  type StoredObject,
  type ZoneConfig,
  type ZoneReader,
} from './zones.js';
