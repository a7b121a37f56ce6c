import { freePort, startNats, startPostgres, startRedis, type ServerProcess } from '@ferry/testkit/servers';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { Supervisor } from './supervisor.js';

// Local mode: the whole system on this machine, as DESIGN.md describes. Servers come
// from the machine's own binaries; data lives under FERRY_HOME and survives restarts.
const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const home = resolve(process.env.FERRY_HOME ?? '.ferry');
const port = process.env.PORT ?? '8080';
const instrument = process.env.FERRY_DEMO_INSTRUMENT ?? 'demo';
const print = (line: string) => process.stdout.write(`${line}\n`);

const dirs = {
  instrument: join(home, 'instruments', instrument),
  store: join(home, 'store'),
  state: join(home, 'state'),
  logs: join(home, 'logs'),
  nats: join(home, 'data', 'nats'),
  redis: join(home, 'data', 'redis'),
  postgres: join(home, 'data', 'postgres'),
};

/** In start order: the monitor migrates the schema; the others wait for nothing but their servers. */
const SERVICES = ['monitor', 'gateway', 'scheduler', 'uploader', 'watcher'] as const;

const servers: ServerProcess[] = [];
const supervisor = new Supervisor(dirs.logs, print);
let shuttingDown = false;

async function shutdown(code: number): Promise<void> {
  if (shuttingDown) return;
  shuttingDown = true;
  print('stopping Ferry…');
  await supervisor.stop();
  // Reverse start order: PostgreSQL last, so services could still write while stopping.
  for (const server of [...servers].reverse()) await server.stop();
  print('stopped');
  process.exit(code);
}

process.once('SIGINT', () => void shutdown(0));
process.once('SIGTERM', () => void shutdown(0));

async function main(): Promise<void> {
  for (const dir of Object.values(dirs)) await mkdir(dir, { recursive: true });
  for (const service of SERVICES) {
    if (!existsSync(join(repo, 'services', service, 'dist', 'main.js'))) throw new Error(`services/${service} is not built: run npm run build`);
  }
  print(`starting servers under ${home}`);
  const [nats, redis, postgres] = await Promise.all([
    startNats({ dataDir: dirs.nats }),
    startRedis({ dataDir: dirs.redis, persistent: true }),
    startPostgres({ dataDir: dirs.postgres, durable: true }),
  ]);
  servers.push(nats, redis, postgres);
  const admin = new pg.Client({ connectionString: postgres.url });
  await admin.connect();
  const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', ['ferry']);
  if (exists.rowCount === 0) await admin.query('CREATE DATABASE ferry');
  await admin.end();

  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NATS_URL: nats.url,
    REDIS_URL: redis.url,
    DATABASE_URL: postgres.urlFor('ferry'),
    ZONE_NAME: process.env.ZONE_NAME ?? 'default',
    ZONE_KIND: process.env.ZONE_KIND ?? 'local',
    ZONE_DIR: process.env.ZONE_DIR ?? dirs.store,
    INSTRUMENT: instrument,
    WATCH_DIR: dirs.instrument,
    WATCH_STABLE: process.env.WATCH_STABLE ?? '3s',
    WATCH_STATE_FILE: join(dirs.state, `watcher-${instrument}.json`),
    PORT: port,
    FERRY_INSTANCE: process.env.FERRY_INSTANCE ?? 'local',
  };
  // Each service serves Prometheus metrics on a port of its own, on loopback only.
  const metricsHost = process.env.METRICS_HOST ?? '127.0.0.1';
  const metrics: { name: (typeof SERVICES)[number]; port: number; url: string }[] = [];
  for (const name of SERVICES) {
    const metricsPort = await freePort();
    metrics.push({ name, port: metricsPort, url: `http://${metricsHost === '0.0.0.0' ? '127.0.0.1' : metricsHost}:${metricsPort}/metrics` });
  }
  await writeFile(
    join(home, 'local.env'),
    [
      ...['NATS_URL', 'REDIS_URL', 'DATABASE_URL'].map((k) => `${k}=${env[k]}`),
      ...metrics.map((m) => `${m.name.toUpperCase()}_METRICS_URL=${m.url}`),
    ].join('\n') + '\n',
  );

  const tokenFile = join(home, 'admin-token');
  if (!existsSync(tokenFile)) {
    // The gateway's own command: it migrates the database and stores only the token's hash.
    const made = spawnSync(process.execPath, [join(repo, 'services/gateway/dist/cli.js'), 'create-token', '--role', 'admin', '--name', 'local-admin', '--out', tokenFile], {
      env,
      encoding: 'utf8',
    });
    if (made.status !== 0) throw new Error(`could not create the admin token: ${made.stderr || made.stdout}`);
  }

  for (const m of metrics) {
    supervisor.start({ name: m.name, script: join(repo, 'services', m.name, 'dist', 'main.js'), env: { ...env, METRICS_HOST: metricsHost, METRICS_PORT: String(m.port) } });
  }
  print('');
  print(`Ferry is running: http://localhost:${port}`);
  print(`  admin token:       ${tokenFile}`);
  print(`  drop files into:   ${dirs.instrument}`);
  print(`  stored content:    ${env.ZONE_KIND === 'local' ? env.ZONE_DIR : `zone ${env.ZONE_NAME}`}`);
  print(`  server addresses:  ${join(home, 'local.env')}`);
  print('  metrics (Prometheus):');
  for (const m of metrics) print(`    ${m.name.padEnd(10)} ${m.url}`);
  if (!process.env.OTEL_EXPORTER_OTLP_ENDPOINT) print('  traces: set OTEL_EXPORTER_OTLP_ENDPOINT (e.g. http://localhost:4318) to export them');
  print('Press Ctrl-C to stop.');
  print('');
}

main().catch(async (err: unknown) => {
  print(`Ferry could not start: ${err instanceof Error ? err.message : String(err)}`);
  await shutdown(1);
});
