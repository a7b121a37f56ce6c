/**
 * The gateway's file listing with 1,000,000 files in PostgreSQL: p50/p95/p99 latency of
 * `GET /api/v1/files` over several filter mixes (none, instrument, status, a date range,
 * text in the path, combinations, a deep page), measured by a closed-loop load generator
 * on loopback against the gateway running as its own process. The target is p99 under
 * 50 ms for every mix. Also prints the plans of the SQL the gateway runs for each mix
 * (EXPLAIN ANALYZE of the queries its file store sends) and the time of the other read
 * routes on the same data.
 *
 * Rows are made by PostgreSQL itself (generate_series) with the migrated schema's
 * indexes dropped during the load and recreated after, so loading takes about a minute.
 *
 *   npm run build && npx tsx bench/gateway-list.ts
 * Settings: BENCH_FILES (1000000), BENCH_REQUESTS per mix (2000), BENCH_CONCURRENCY (4),
 * BENCH_GATEWAY_NODE_ARGS (node options for the gateway, such as --cpu-prof),
 * BENCH_PGDATA (a folder to keep the PostgreSQL cluster in: a second run with the same
 * folder and BENCH_FILES skips the load).
 */
import { createDatabase, createLogger, migrateToLatest, type Database } from '@ferry/common';
import { createApiToken } from '@ferry/gateway';
import { freePort, startNats, startPostgres, waitForPort } from '@ferry/testkit/servers';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { Agent, request } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Kysely, PostgresDialect, type CompiledQuery } from 'kysely';
import pg from 'pg';
// The store and the query parser themselves, to show the plans of the SQL the gateway runs.
import { FileStore } from '../services/gateway/dist/adapters/file-store.js';
import { parseFileListQuery } from '../services/gateway/dist/domain/list-query.js';
import { percentile } from './watcher-support.js';

const FILES = Number(process.env.BENCH_FILES ?? 1_000_000);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 2000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 4);
const TARGET_P99_MS = 50;
const repo = resolve(import.meta.dirname, '..');
const print = (line: string) => process.stdout.write(`${line}\n`);

const work = await mkdtemp(join(tmpdir(), 'ferry-bench-gateway-'));
const pgData = process.env.BENCH_PGDATA;
const [postgres, nats] = await Promise.all([startPostgres(pgData ? { dataDir: pgData } : {}), startNats({ dataDir: join(work, 'nats') })]);
const stops: (() => Promise<unknown>)[] = [() => rm(work, { recursive: true, force: true }), () => nats.stop(), () => postgres.stop()];
async function cleanup(): Promise<void> {
  for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
}
process.on('SIGINT', () => void cleanup().then(() => process.exit(130)));

const admin = new pg.Client({ connectionString: postgres.url });
await admin.connect();
const exists = (await admin.query(`select 1 from pg_database where datname = 'ferry'`)).rowCount === 1;
if (!exists) await admin.query('CREATE DATABASE ferry');
await admin.end();
const databaseUrl = postgres.urlFor('ferry');
const db = createDatabase({ url: databaseUrl, maxConnections: 2 });
await migrateToLatest(db);
const client = new pg.Client({ connectionString: databaseUrl });
await client.connect();

// ---- Load ---------------------------------------------------------------------------
const have = exists ? Number((await client.query<{ n: string }>('select count(*) as n from files')).rows[0]?.n) : 0;
if (have !== FILES) await load();
else print(`reusing ${FILES.toLocaleString('en')} files in ${pgData}`);
const grams = (await client.query(`select 1 from pg_indexes where indexname = 'files_path_grams_idx'`)).rowCount === 1;
print(`path-gram index (text search): ${grams ? 'yes' : 'NO'}`);

async function load(): Promise<void> {
  await client.query('truncate files, file_events, jobs');
  let started = performance.now();
  const indexes = (await client.query<{ name: string; def: string }>(`select indexname as name, indexdef as def from pg_indexes where tablename = 'files' and indexname <> 'files_pkey'`)).rows;
  for (const index of indexes) await client.query(`drop index ${index.name}`);
  // 20 instruments; statuses as a lab sees them (mostly done, a few per cent failed or on
  // their way); one file every ~30 s over the year before now, the newest last; paths
  // `runs/<day>/proj-<n>/sample_<i>.<ext>` with 50 projects and three extensions.
  await client.query(
    `insert into files (id, instrument, path, root, kind, size, sha256, status, failed_step, error, zone, key,
                        mtime, detected_at, stored_at, updated_at, trace_id, manifest)
     select id, instrument, path, '/data/' || instrument, 'file', size, sha, status,
            case when status = 'failed' then 'job:qc' end, case when status = 'failed' then 'exit 1: no peaks found' end,
            case when status in ('stored','queued','processing','done','failed') then 'default' end,
            case when status in ('stored','queued','processing','done','failed') then 'sha256/' || substr(sha, 1, 2) || '/' || substr(sha, 3, 2) || '/' || sha end,
            at, at, case when status in ('stored','queued','processing','done','failed') then at + interval '2 minutes' end,
            at + interval '5 minutes', md5(id), null
     from (
       select md5('file' || i) as id,
              'ms' || lpad(((h % 20) + 1)::text, 2, '0') as instrument,
              'runs/' || to_char(at, 'YYYY-MM-DD') || '/proj-' || (h % 50) || '/sample_' || i || (array['.raw', '.wiff', '.d'])[(h % 3) + 1] as path,
              (h % 5000000000)::bigint + 1000 as size,
              md5('content' || i) || md5('more' || i) as sha,
              case when h % 1000 < 930 then 'done' when h % 1000 < 960 then 'failed' when h % 1000 < 975 then 'processing'
                   when h % 1000 < 985 then 'queued' when h % 1000 < 992 then 'stored' when h % 1000 < 997 then 'uploading' else 'detected' end as status,
              at
       from (
         select i, abs(hashint4(i))::bigint as h,
                now() - (${FILES} - i) * interval '30 seconds' - (abs(hashint4(i * 7)) % 20) * interval '1 second' as at
         from generate_series(1, ${FILES}) i
       ) g
     ) f`,
  );
  const loadedMs = performance.now() - started;
  started = performance.now();
  for (const index of indexes) await client.query(index.def);
  await client.query('vacuum analyze files');
  const indexMs = performance.now() - started;
  const size = (await client.query<{ s: string }>(`select pg_size_pretty(pg_total_relation_size('files')) as s`)).rows[0]?.s;
  print(`loaded ${FILES.toLocaleString('en')} files in ${(loadedMs / 1000).toFixed(1)} s, ${indexes.length} indexes rebuilt in ${(indexMs / 1000).toFixed(1)} s (files table with indexes: ${size})`);
}

// Some realistic parameter values: a day range in the middle, a deep page's cursor.
const mid = (await client.query<{ d: Date }>(`select detected_at as d from files order by detected_at desc offset ${Math.floor(FILES / 2)} limit 1`)).rows[0]!.d;
const day = (d: Date) => d.toISOString().slice(0, 10);
const weekStart = new Date(mid.getTime() - 3 * 86_400_000);
const oneFile = (await client.query<{ path: string }>(`select path from files where id = md5('file' || ${Math.floor(FILES / 3)})`)).rows[0]!.path;
const fileName = oneFile.split('/').pop()!;

// ---- Gateway ------------------------------------------------------------------------
const { token } = await createApiToken(db, { name: 'bench', role: 'viewer' });
const port = await freePort();
// BENCH_GATEWAY_NODE_ARGS, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof", to profile the gateway.
const nodeArgs = (process.env.BENCH_GATEWAY_NODE_ARGS ?? '').split(' ').filter(Boolean);
const gateway = spawn(process.execPath, [...nodeArgs, join(repo, 'services/gateway/dist/main.js')], {
  env: {
    ...process.env,
    DATABASE_URL: databaseUrl,
    NATS_URL: nats.url,
    NATS_PREFIX: 'benchgw',
    ZONE_KIND: 'local',
    ZONE_DIR: join(work, 'zone'),
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    FERRY_INSTANCE: 'bench',
  },
  stdio: ['ignore', 'inherit', 'inherit'],
});
stops.push(async () => {
  gateway.kill('SIGTERM');
  if (gateway.exitCode === null) await once(gateway, 'exit');
});
await waitForPort(port, 30_000, 'gateway', () => gateway.exitCode === null);

const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
function get(path: string): Promise<{ status: number; ms: number; body: string }> {
  const t0 = performance.now();
  return new Promise((resolvePromise, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent, headers: { authorization: `Bearer ${token}` } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolvePromise({ status: res.statusCode ?? 0, ms: performance.now() - t0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

// A deep page: follow 20 cursors from the top.
let cursor = '';
for (let i = 0; i < 20; i++) cursor = (JSON.parse((await get(`/api/v1/files?limit=50${cursor ? `&cursor=${cursor}` : ''}`)).body) as { nextCursor: string }).nextCursor;

interface Mix {
  name: string;
  query: string;
}
const mixes: Mix[] = [
  { name: 'newest page (no filter)', query: '' },
  { name: 'instrument', query: 'instrument=ms07' },
  { name: 'status=failed (3%)', query: 'status=failed' },
  { name: 'status=uploading (0.5%)', query: 'status=uploading' },
  { name: 'instrument + status=failed', query: 'instrument=ms03&status=failed' },
  { name: 'date range (a week, mid-year)', query: `since=${day(weekStart)}&until=${day(mid)}` },
  { name: 'instrument + date range', query: `instrument=ms11&since=${day(weekStart)}&until=${day(mid)}` },
  { name: 'q: project (2%)', query: 'q=proj-17%2F' },
  { name: 'q: extension (33%)', query: 'q=.wiff' },
  { name: 'q: one file name', query: `q=${encodeURIComponent(fileName)}` },
  { name: 'q: no match', query: 'q=zzzz' },
  { name: 'q: two words rare together', query: 'q=proj-17%2Fsample_12' },
  { name: 'q + instrument + status', query: 'q=proj-4&instrument=ms05&status=done' },
  { name: 'page 21 (cursor)', query: `cursor=${cursor}` },
];

// The gateway's own file store, on a connection that records what it sends, so the
// plans shown are those of the SQL the gateway runs.
const sent: CompiledQuery[] = [];
const probe = new Kysely<Database>({
  dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: databaseUrl, max: 1 }) }),
  log: (event) => {
    if (event.level === 'query') sent.push(event.query);
  },
});
const store = new FileStore(probe);

/** The queries `GET /api/v1/files?<query>` sends, replayed under EXPLAIN ANALYZE in one transaction. */
async function plansOf(query: string): Promise<string> {
  const parsed = parseFileListQuery(Object.fromEntries(new URLSearchParams(query)));
  if (!parsed.ok) throw new Error(`bad mix ${query}: ${JSON.stringify(parsed.issues)}`);
  await store.list(parsed.value); // takes the path sample, when the store needs one
  sent.length = 0;
  await store.list(parsed.value);
  const replay = sent.filter((q) => !/^\s*(begin|commit|rollback)\b/i.test(q.sql));
  const out: string[] = [];
  await client.query('begin');
  try {
    for (const q of replay) {
      if (!/^\s*select/i.test(q.sql)) {
        await client.query(q.sql, [...q.parameters]);
        continue;
      }
      const plan = (await client.query<{ 'QUERY PLAN': string }>(`explain (analyze, costs off, timing on) ${q.sql}`, [...q.parameters])).rows.map((r) => r['QUERY PLAN']);
      const nodes = plan.filter((l) => /Scan|BitmapAnd|Sort\b/.test(l)).map((l) => l.trim().replace(/^->\s*/, '').replace(/\s*\(actual.*$/, '').replace(/ on files( using)?/, ''));
      const exec = plan.find((l) => l.startsWith('Execution Time'))?.replace('Execution Time: ', '') ?? '';
      out.push(`${nodes.join(' / ')} [${exec}]`);
    }
  } finally {
    await client.query('rollback');
  }
  return out.join(' + ');
}

async function run(path: string, n: number): Promise<number[]> {
  const times: number[] = [];
  let next = 0;
  const worker = async () => {
    while (next < n) {
      next++;
      const res = await get(path);
      if (res.status !== 200) throw new Error(`${path} answered ${res.status}: ${res.body.slice(0, 200)}`);
      times.push(res.ms);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return times.sort((a, b) => a - b);
}

print(`\nGET /api/v1/files, ${REQUESTS} requests per mix at concurrency ${CONCURRENCY} on loopback (after 200 warm-up requests), target p99 < ${TARGET_P99_MS} ms\n`);
print(`${'mix'.padEnd(32)} ${'rows'.padStart(5)} ${'p50'.padStart(7)} ${'p95'.padStart(7)} ${'p99'.padStart(7)} ${'max'.padStart(7)} ${'req/s'.padStart(7)}  ok   plan (EXPLAIN ANALYZE)`);
let allMet = true;
for (const mix of mixes) {
  const path = `/api/v1/files?${mix.query}`;
  const rows = (JSON.parse((await get(path)).body) as { items: unknown[] }).items.length;
  await run(path, 200);
  const t0 = performance.now();
  const times = await run(path, REQUESTS);
  const rps = REQUESTS / ((performance.now() - t0) / 1000);
  const p99 = percentile(times, 99);
  const met = p99 < TARGET_P99_MS;
  allMet &&= met;
  const f = (ms: number) => ms.toFixed(1).padStart(7);
  print(`${mix.name.padEnd(32)} ${String(rows).padStart(5)} ${f(percentile(times, 50))} ${f(percentile(times, 95))} ${f(p99)} ${f(times.at(-1)!)} ${rps.toFixed(0).padStart(7)}  ${met ? 'yes' : 'NO '}  ${await plansOf(mix.query)}`);
}
print(`\np99 under ${TARGET_P99_MS} ms for every mix: ${allMet ? 'yes' : 'NO'}`);
print('(plans: EXPLAIN ANALYZE of each query the file store sends for the mix, in order, joined by " + "; for q it walks the newest files when the text is common, else asks the path-gram index for the rarest runs of the text: see services/gateway/src/domain/path-search.ts)');

// Other pages read the same table: their first (cold) answer, then the median of five.
print('\nother routes on the same data (first answer, then median of 5 more, sequential):');
const someFile = `/api/v1/files/${(await client.query<{ id: string }>(`select md5('file1') as id`)).rows[0]!.id}`;
for (const path of [someFile, '/api/v1/instruments', '/api/v1/usage?days=30', '/api/v1/jobs', '/api/v1/alerts', '/api/v1/components']) {
  const first = (await get(path)).ms;
  const times: number[] = [];
  for (let i = 0; i < 5; i++) times.push((await get(path)).ms);
  times.sort((a, b) => a - b);
  print(`  ${(path === someFile ? '/api/v1/files/:id' : path).padEnd(28)} ${first.toFixed(1).padStart(7)} ms ${times[2]!.toFixed(1).padStart(7)} ms`);
}
for (const [what, query] of [
  ['ms02, failed', 'instrument=ms02&status=failed'],
  ['q proj-17/sample_12', 'q=proj-17%2Fsample_12'],
  ['q .wiff, a week', `q=.wiff&since=${day(weekStart)}&until=${day(mid)}`],
]) {
  const csvStart = performance.now();
  const csv = await get(`/api/v1/files?format=csv&${query}`);
  print(`  CSV export (${what}: ${csv.body.split('\r\n').length - 2} rows) ${(performance.now() - csvStart).toFixed(0)} ms`);
}

agent.destroy();
await probe.destroy();
await client.end();
await db.destroy();
createLogger({ service: 'bench', level: 'warn' }).flush();
await cleanup();
