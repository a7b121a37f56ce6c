/**
 * The monitor under a lab-sized load: 1,000 components heartbeating every 30 s (each
 * with one volume) and 100 file events per second (20 files/s, each detected, stored,
 * queued, started and done), against the monitor running as its own process with its
 * default evaluation interval (15 s) and group wait (30 s). Prints the monitor's CPU and
 * memory, how far its projection lags, and the time from a missed heartbeat to the
 * Alertmanager-format webhook arriving.
 *
 * Shortened for the measurement: `heartbeat_missing` fires after 60 s of silence
 * instead of 15 min (the least a 30 s heartbeat allows: two intervals), so the run
 * takes about three minutes; everything after the threshold runs at its default.
 *
 *   npm run build && npx tsx bench/monitor-alerts.ts [measureSeconds]
 */
import { Bus, createDatabase, createLogger, fileIdFor, migrateToLatest, type EventName, type EventOf } from '@ferry/common';
import { startNats, startPostgres } from '@ferry/testkit/servers';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

const measureMs = Number(process.argv[2] ?? 60) * 1000;
const COMPONENTS = 1000;
const HEARTBEAT_MS = 30_000;
const FILES_PER_SECOND = 20; // × 5 events = 100 events/s
const MISSING_AFTER_MS = 60_000;
const PREFIX = 'benchmon';
const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const print = (line: string) => process.stdout.write(`${line}\n`);

const work = await mkdtemp(join(tmpdir(), 'ferry-bench-monitor-'));
const [nats, postgres] = await Promise.all([startNats({ dataDir: join(work, 'nats') }), startPostgres()]);
const admin = new pg.Client({ connectionString: postgres.url });
await admin.connect();
await admin.query('CREATE DATABASE ferry');
await admin.end();
const databaseUrl = postgres.urlFor('ferry');
const db = createDatabase({ url: databaseUrl, maxConnections: 2 });
await migrateToLatest(db);

// The on-call tool: records when each webhook arrives and what it says.
const arrivals: { at: number; body: { status: string; alerts: { labels: Record<string, string> }[] } }[] = [];
const receiver = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    arrivals.push({ at: Date.now(), body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as (typeof arrivals)[number]['body'] });
    res.writeHead(200).end('ok');
  });
});
await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
const hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;

const rulesFile = join(work, 'rules.yaml');
await writeFile(
  rulesFile,
  [
    `heartbeat: { after: ${MISSING_AFTER_MS / 1000}s }`,
    'disk: { floor: 1GB }',
    // 20 files a second keep dozens in flight on each instrument: not a pile-up here.
    'files: { maxCount: 100000 }',
    '',
  ].join('\n'),
);

const logger = createLogger({ service: 'bench', level: 'warn' });
const bus = await Bus.connect({ servers: nats.url, prefix: PREFIX, name: 'bench-load', service: 'bench', logger });
await bus.ensureStreams();

const monitor = spawn(process.execPath, [join(repo, 'services/monitor/dist/main.js')], {
  env: {
    ...process.env,
    NATS_URL: nats.url,
    NATS_PREFIX: PREFIX,
    DATABASE_URL: databaseUrl,
    FERRY_INSTANCE: 'bench',
    LOG_LEVEL: 'warn',
    MONITOR_RULES_FILE: rulesFile,
    ALERT_WEBHOOK_URL: hookUrl,
  },
  stdio: ['ignore', 'ignore', 'inherit'],
});
const pid = monitor.pid ?? 0;
const CLK_TCK = 100;
const cpuTicks = () => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return Number(fields[11]) + Number(fields[12]); // utime + stime
};
const rssBytes = () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;

// Load: heartbeats spread evenly over the interval, file events in a steady pipeline.
let stopLoad = false;
const silenced = new Set<number>();
let lastBeatOfMissing = 0;
const published = { heartbeats: 0, events: 0, errors: 0 };
const publish = <N extends EventName>(name: N, event: EventOf<N>) =>
  bus.publish(name, event).then(
    () => (name === 'heartbeat' ? published.heartbeats++ : published.events++),
    () => published.errors++,
  );
const startedAt = new Date().toISOString();
const hash = (n: number) => n.toString(16).padStart(64, '0');
const heartbeat = (i: number): EventOf<'heartbeat'> => ({
  service: i % 10 === 0 ? 'watcher' : 'uploader',
  instance: `c${i}`,
  version: 'bench',
  at: new Date().toISOString(),
  intervalMs: HEARTBEAT_MS,
  startedAt,
  disks: [{ path: '/data', freeBytes: 500e9 - (Date.now() % 1e6), totalBytes: 2000e9 }],
  details: i % 10 === 0 ? { instrument: `ms${i / 10}` } : {},
});
const TICK_MS = 100;
const loop = (async () => {
  let tick = 0;
  let fileNo = 0;
  // Sends due at each future tick: a file's five events go out one tick (100 ms) apart.
  const due = new Map<number, (() => Promise<unknown>)[]>();
  const later = (ticks: number, send: () => Promise<unknown>) => {
    const list = due.get(tick + ticks) ?? [];
    list.push(send);
    due.set(tick + ticks, list);
  };
  const started = Date.now();
  while (!stopLoad) {
    const sends: Promise<unknown>[] = [];
    const slot = tick % (HEARTBEAT_MS / TICK_MS);
    for (let i = slot; i < COMPONENTS; i += HEARTBEAT_MS / TICK_MS) {
      if (silenced.has(i)) continue;
      if (i === 0) lastBeatOfMissing = Date.now();
      sends.push(publish('heartbeat', heartbeat(i)));
    }
    for (let f = 0; f < (FILES_PER_SECOND * TICK_MS) / 1000; f++) {
      const n = fileNo++;
      const instrument = `ms${n % 100}`;
      const path = `bench/run-${n}.raw`;
      const sha256 = hash(n);
      const fileId = fileIdFor(instrument, path, sha256);
      const at = () => new Date().toISOString();
      const job = { jobId: `p-${fileId}`, fileId, pipeline: 'p', instrument, sha256, attempt: 1 };
      later(0, () => publish('file.detected', { fileId, instrument, path, root: '/data', kind: 'file', size: 1000, sha256, mtime: at(), detectedAt: at(), watcher: 'bench' }));
      later(1, () => publish('upload.done', { fileId, instrument, path, size: 1000, sha256, zone: 'default', key: `sha256/${sha256}`, existed: false, storedAt: at(), durationMs: 10, uploader: 'bench' }));
      later(2, () => publish('job.queued', { ...job, at: at() }));
      later(3, () => publish('job.started', { ...job, at: at(), worker: 'bench' }));
      later(4, () => publish('job.done', { ...job, at: at(), worker: 'bench', exitCode: 0, durationMs: 100 }));
    }
    for (const send of due.get(tick) ?? []) sends.push(send());
    due.delete(tick);
    await Promise.all(sends);
    tick++;
    const wait = started + tick * TICK_MS - Date.now();
    if (wait > 0) await sleep(wait);
  }
})();

print(`monitor pid ${pid}; load: ${COMPONENTS} components every ${HEARTBEAT_MS / 1000} s, ${FILES_PER_SECOND * 5} file events/s`);
print('warming up 45 s (first heartbeat round, projection catching up)…');
await sleep(45_000);

// Measure: CPU and memory over the window, while component c0 goes silent.
const cpu0 = cpuTicks();
const wall0 = Date.now();
const rss: number[] = [];
const sent0 = { ...published };
silenced.add(0);
const lastBeat = lastBeatOfMissing;
const deadline = lastBeat + MISSING_AFTER_MS;
const sampler = setInterval(() => rss.push(rssBytes()), 2000);
await sleep(measureMs);
const cpu1 = cpuTicks();
const wall1 = Date.now();
const sent1 = { ...published };
const isMissing = (a: (typeof arrivals)[number]) => a.body.status === 'firing' && a.body.alerts.some((x) => x.labels.alertname === 'heartbeat_missing' && x.labels.instance === 'c0');
const arrived = arrivals.find(isMissing) ?? (await (async () => {
  const until = Date.now() + 120_000;
  while (Date.now() < until) {
    const hit = arrivals.find(isMissing);
    if (hit) return hit;
    await sleep(250);
  }
  return undefined;
})());
clearInterval(sampler);

const pending: Record<string, number> = {};
for (const stream of ['FILES', 'JOBS', 'HEARTBEATS'] as const) {
  const info = await bus.jsm.consumers.info(bus.streamName(stream), `monitor-${stream.toLowerCase()}`);
  pending[stream] = info.num_pending + info.num_ack_pending;
}
const rows = await db.selectFrom('files').select(db.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
const seconds = (wall1 - wall0) / 1000;
print('');
print(`window: ${seconds.toFixed(0)} s; published ${((sent1.heartbeats - sent0.heartbeats) / seconds).toFixed(1)} heartbeats/s and ${((sent1.events - sent0.events) / seconds).toFixed(1)} file events/s (${published.errors} publish errors)`);
print(`monitor CPU: ${((100 * (cpu1 - cpu0)) / CLK_TCK / seconds).toFixed(1)} % of one core (average over the window)`);
print(`monitor memory (RSS): avg ${(rss.reduce((a, b) => a + b, 0) / rss.length / 2 ** 20).toFixed(0)} MiB, max ${(Math.max(...rss) / 2 ** 20).toFixed(0)} MiB`);
print(`projection backlog at the end: ${Object.entries(pending).map(([s, n]) => `${s} ${n}`).join(', ')} messages; ${rows.n} files in PostgreSQL`);
if (arrived) {
  print(`missed heartbeat → webhook: ${((arrived.at - lastBeat) / 1000).toFixed(1)} s after the last heartbeat, ${((arrived.at - deadline) / 1000).toFixed(1)} s after it counted as missing (${MISSING_AFTER_MS / 1000} s threshold; evaluation every 15 s + 30 s group wait)`);
} else {
  print('missed heartbeat → webhook: no notification within the window + 120 s');
}
print(`webhooks received: ${arrivals.length} (${arrivals.map((a) => `${a.body.status}:${a.body.alerts.map((x) => x.labels.alertname).join('+')}`).join(', ')})`);

stopLoad = true;
await loop;
monitor.kill('SIGTERM');
await new Promise((r) => monitor.once('exit', r));
await bus.close();
await db.destroy();
receiver.close();
await Promise.allSettled([nats.stop(), postgres.stop()]);
await rm(work, { recursive: true, force: true });
