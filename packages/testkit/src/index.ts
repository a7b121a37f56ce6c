export { isolate, testLogger, testServers, waitFor, type Isolated } from './isolate.js';
export { startNats, type NatsServer } from './servers/nats.js';
export { findPostgresBin, startPostgres, type PostgresServer } from './servers/postgres.js';
export { freePort, startProcess, waitForPort, type ServerProcess, type StartProcessOptions } from './servers/process.js';
export { startRedis, type RedisServer } from './servers/redis.js';
export { startS3, type S3Server } from './servers/s3.js';
export { TEMPLATE_DATABASE, type TestServers } from './servers-info.js';
