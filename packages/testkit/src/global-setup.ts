import { createDatabase, migrateToLatest } from '@ferry/common';
import type { TestProject } from 'vitest/node';
import { startNats } from './servers/nats.js';
import { startPostgres } from './servers/postgres.js';
import { startRedis } from './servers/redis.js';
import { startS3 } from './servers/s3.js';
import { TEMPLATE_DATABASE, type TestServers } from './servers-info.js';

/**
 * Vitest global setup: one nats-server, redis-server, PostgreSQL and S3 server for the
 * whole run, on free ports; each test then takes isolated resources with `isolate()`.
 * The returned teardown stops them; the watchdog stops them if the run is killed.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started = await Promise.allSettled([startNats(), startRedis(), startPostgres(), startS3()]);
  const servers = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const stopAll = async () => {
    await Promise.allSettled(servers.map((s) => s.stop()));
  };
  const failed = started.find((s) => s.status === 'rejected');
  if (failed) {
    await stopAll();
    throw failed.reason;
  }
  const [nats, redis, postgres, s3] = started.map((s) => (s as PromiseFulfilledResult<unknown>).value) as [
    Awaited<ReturnType<typeof startNats>>,
    Awaited<ReturnType<typeof startRedis>>,
    Awaited<ReturnType<typeof startPostgres>>,
    Awaited<ReturnType<typeof startS3>>,
  ];
  try {
    const admin = createDatabase({ url: postgres.url, maxConnections: 1 });
    const { sql } = await import('kysely');
    await sql.raw(`CREATE DATABASE ${TEMPLATE_DATABASE}`).execute(admin);
    await admin.destroy();
    const template = createDatabase({ url: postgres.urlFor(TEMPLATE_DATABASE), maxConnections: 1 });
    await migrateToLatest(template);
    await template.destroy();
  } catch (err) {
    await stopAll();
    throw err;
  }
  const info: TestServers = {
    natsUrl: nats.url,
    redisUrl: redis.url,
    postgresUrl: postgres.url,
    postgresBinDir: postgres.binDir,
    s3: { endpoint: s3.endpoint, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, region: s3.region },
  };
  project.provide('ferryServers', info);
  return stopAll;
}
