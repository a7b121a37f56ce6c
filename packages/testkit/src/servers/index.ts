export { startNats, type NatsServer } from './nats.js';
export { findPostgresBin, startPostgres, type PostgresServer } from './postgres.js';
export { freePort, startProcess, waitForPort, type ServerProcess, type StartProcessOptions } from './process.js';
export { startRedis, type RedisServer } from './redis.js';
export { startS3, type S3Server } from './s3.js';
