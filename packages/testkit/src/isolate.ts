import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { createLogger, type Logger, type S3ZoneConfig } from '@ferry/common';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { TEMPLATE_DATABASE, type TestServers } from './servers-info.js';

/** One test's own slice of the shared servers. */
export interface Isolated {
  /** Unique id: NATS prefix, queue prefix, database and bucket name all derive from it. */
  id: string;
  servers: TestServers;
  natsUrl: string;
  natsPrefix: string;
  redisUrl: string;
  queuePrefix: string;
  databaseUrl: string;
  bucket: string;
  /** An S3 zone on the test's own bucket. */
  zone: S3ZoneConfig;
  /** The common settings as environment variables, for `loadConfig(env)`. */
  env: Record<string, string>;
}

/** The servers started by the global setup. */
export function testServers(): TestServers {
  const servers = inject('ferryServers');
  if (!servers) throw new Error('no test servers: add @ferry/testkit/global-setup to the vitest globalSetup');
  return servers;
}

/** Creates a database (copied from the migrated template) and a bucket for one test. */
export async function isolate(label = 't'): Promise<Isolated> {
  const servers = testServers();
  const id = `${label.replace(/[^a-z0-9]/gi, '').toLowerCase().slice(0, 12) || 't'}${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: servers.postgresUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${id}" TEMPLATE ${TEMPLATE_DATABASE}`);
  } finally {
    await admin.end();
  }
  const bucket = `b-${id}`;
  const s3 = new S3Client({
    endpoint: servers.s3.endpoint,
    region: servers.s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: servers.s3.accessKeyId, secretAccessKey: servers.s3.secretAccessKey },
  });
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  s3.destroy();
  const databaseUrl = servers.postgresUrl.replace(/\/[^/]*$/, `/${id}`);
  const zone: S3ZoneConfig = {
    name: 'default',
    kind: 's3',
    endpoint: servers.s3.endpoint,
    region: servers.s3.region,
    bucket,
    prefix: '',
    forcePathStyle: true,
    accessKeyId: servers.s3.accessKeyId,
    secretAccessKey: servers.s3.secretAccessKey,
  };
  return {
    id,
    servers,
    natsUrl: servers.natsUrl,
    natsPrefix: id,
    redisUrl: servers.redisUrl,
    queuePrefix: id,
    databaseUrl,
    bucket,
    zone,
    env: {
      NATS_URL: servers.natsUrl,
      NATS_PREFIX: id,
      REDIS_URL: servers.redisUrl,
      QUEUE_PREFIX: id,
      DATABASE_URL: databaseUrl,
      ZONE_KIND: 's3',
      ZONE_ENDPOINT: servers.s3.endpoint,
      ZONE_REGION: servers.s3.region,
      ZONE_BUCKET: bucket,
      ZONE_PATH_STYLE: 'true',
      ZONE_ACCESS_KEY_ID: servers.s3.accessKeyId,
      ZONE_SECRET_ACCESS_KEY: servers.s3.secretAccessKey,
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
      FERRY_INSTANCE: 'test',
    },
  };
}

/** A logger for tests: silent unless LOG_LEVEL is set when running them. */
export function testLogger(service: string): Logger {
  return createLogger({ service, instance: 'test', level: process.env.LOG_LEVEL ?? 'silent' });
}

/**
 * Polls `check` until it returns a value other than undefined/false, or fails after
 * `timeoutMs` saying what it waited for and what it saw last.
 */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  options: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
      last = value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      const seen = last instanceof Error ? last.message : JSON.stringify(last);
      throw new Error(`timed out after ${options.timeoutMs ?? 10_000} ms waiting for ${what} (last: ${seen})`);
    }
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 50));
  }
}
