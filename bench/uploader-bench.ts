/**
 * Uploader against rclone, same local S3 server (s3rver), same run:
 *   1. one 2 GiB file: wall time of Ferry's uploader vs `rclone copyto` with the same part
 *      size and concurrency (ratio printed), verification on for both, and the uploader's
 *      peak resident memory while it sends the file;
 *   2. 1,000 files of 1 MiB: files per second, Ferry vs `rclone copy` of the same folder.
 *
 * Each measurement runs BENCH_ROUNDS times (default 2), alternating which tool goes first
 * (ferry, rclone, rclone, ferry, ...) so a busy machine penalises both alike; every run
 * is printed, and the ratio is that of the total times. Each Ferry run writes into a new
 * bucket and each rclone run to a new folder, so nothing is skipped as already there.
 *
 * Run from the repository root after `npm run build`:  npx tsx bench/uploader-bench.ts
 * Settings: BENCH_PART_MB (16), BENCH_QUEUE (4), BENCH_FILES_CONCURRENCY (4), BENCH_BIG_GIB (2),
 * BENCH_ROUNDS (2), BENCH_DIR (tmp).
 */
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { Bus, createLogger, fileIdFor, hashFile, type EventOf } from '@ferry/common';
import { startNats, startS3 } from '@ferry/testkit/servers';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const MiB = 1024 * 1024;
const PART_MB = Number(process.env.BENCH_PART_MB ?? 16);
const QUEUE = Number(process.env.BENCH_QUEUE ?? 4);
const FILES_CONCURRENCY = Number(process.env.BENCH_FILES_CONCURRENCY ?? 4);
const BIG_BYTES = Math.round(Number(process.env.BENCH_BIG_GIB ?? 2) * 1024 * MiB);
const SMALL_FILES = 1000;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const repo = resolve(import.meta.dirname, '..');

const logger = createLogger({ service: 'bench', instance: 'bench', level: 'warn' });
const work = await mkdtemp(join(process.env.BENCH_DIR ?? tmpdir(), 'ferry-bench-'));
const nats = await startNats();
const s3 = await startS3({ dataDir: join(work, 's3') });
const stops: (() => Promise<unknown>)[] = [() => s3.stop(), () => nats.stop(), () => rm(work, { recursive: true, force: true })];

async function cleanup(): Promise<void> {
  for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
}
process.on('SIGINT', () => void cleanup().then(() => process.exit(130)));

function fmt(n: number, digits = 1): string {
  return n.toFixed(digits);
}

async function makeFile(path: string, bytes: number): Promise<void> {
  const handle = await open(path, 'w');
  try {
    for (let left = bytes; left > 0; left -= 64 * MiB) await handle.write(randomBytes(Math.min(64 * MiB, left)));
  } finally {
    await handle.close();
  }
}

/** Peak VmRSS (bytes) of a process, sampled every 50 ms until stopped. */
function sampleRss(pid: number): { stop(): number } {
  let peak = 0;
  const timer = setInterval(() => {
    readFile(`/proc/${pid}/status`, 'utf8')
      .then((text) => {
        const kb = Number(/VmRSS:\s+(\d+)/.exec(text)?.[1] ?? 0);
        peak = Math.max(peak, kb * 1024);
      })
      .catch(() => undefined);
  }, 50);
  return {
    stop() {
      clearInterval(timer);
      return peak;
    },
  };
}

function run(command: string, args: string[], env: Record<string, string>): Promise<{ ms: number; peakRss: number }> {
  const started = performance.now();
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  const rss = sampleRss(child.pid ?? 0);
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolveRun, reject) => {
    child.on('exit', (code) => {
      const peakRss = rss.stop();
      if (code === 0) resolveRun({ ms: performance.now() - started, peakRss });
      else reject(new Error(`${command} exited ${code}: ${stderr.slice(-2000)}`));
    });
  });
}

const client = new S3Client({ endpoint: s3.endpoint, region: s3.region, forcePathStyle: true, credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } });
await client.send(new CreateBucketCommand({ Bucket: 'rclone' }));
for (let round = 1; round <= ROUNDS; round++) {
  for (const kind of ['big', 'many']) await client.send(new CreateBucketCommand({ Bucket: `ferry-${kind}-${round}` }));
}
client.destroy();

const rcloneEnv = {
  RCLONE_CONFIG_BENCH_TYPE: 's3',
  RCLONE_CONFIG_BENCH_PROVIDER: 'Other',
  RCLONE_CONFIG_BENCH_ENDPOINT: s3.endpoint,
  RCLONE_CONFIG_BENCH_ACCESS_KEY_ID: s3.accessKeyId,
  RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY: s3.secretAccessKey,
  RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE: 'true',
  RCLONE_CONFIG_BENCH_REGION: s3.region,
};
// `env -u AWS_CA_BUNDLE`: rclone refuses to start when the variable names a bundle it cannot read.
const rclone = (args: string[]) => run('env', ['-u', 'AWS_CA_BUNDLE', 'rclone', ...args, '--s3-no-check-bucket', '-q'], rcloneEnv);

/** Starts the built uploader (services/uploader/dist/main.js) in its own process. */
async function startUploader(bus: Bus, concurrency: number, bucket: string): Promise<{ child: ChildProcess; stop(): Promise<void> }> {
  const heartbeat = new Promise<void>((resolveBeat) => {
    void bus
      .consume({ stream: 'HEARTBEATS', durable: `hb${Date.now()}`, deliverPolicy: 'new', events: ['heartbeat'], handler: () => (resolveBeat(), Promise.resolve()) })
      .then((s) => stops.push(() => s.stop()));
  });
  const child = spawn(process.execPath, [join(repo, 'services/uploader/dist/main.js')], {
    env: {
      ...process.env,
      NATS_URL: nats.url,
      NATS_PREFIX: 'bench',
      FERRY_INSTANCE: 'bench',
      LOG_LEVEL: 'warn',
      ZONE_ENDPOINT: s3.endpoint,
      ZONE_BUCKET: bucket,
      ZONE_PATH_STYLE: 'true',
      ZONE_ACCESS_KEY_ID: s3.accessKeyId,
      ZONE_SECRET_ACCESS_KEY: s3.secretAccessKey,
      UPLOAD_PART_SIZE_MB: String(PART_MB),
      UPLOAD_QUEUE_SIZE: String(QUEUE),
      UPLOAD_CONCURRENCY: String(concurrency),
      UPLOAD_CHECKSUMS: 'sha256',
      // One durable for every run: each announcement is taken once, by the uploader of its run.
      UPLOAD_DURABLE: 'bench',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  await heartbeat;
  return {
    child,
    stop: () =>
      new Promise<void>((resolveStop) => {
        child.once('exit', () => resolveStop());
        child.kill('SIGTERM');
      }),
  };
}

try {
  const bus = await Bus.connect({ servers: nats.url, prefix: 'bench', name: 'bench', service: 'bench', logger });
  await bus.ensureStreams();
  stops.push(() => bus.close());
  const done = new Map<string, EventOf<'upload.done'> | EventOf<'upload.failed'>>();
  await bus.consume({
    stream: 'FILES',
    durable: 'bench-probe',
    events: ['file.detected', 'upload.done', 'upload.failed'],
    concurrency: 64,
    handler: (m) => {
      if (m.name === 'upload.done' || (m.name === 'upload.failed' && m.event.final)) done.set(m.event.fileId, m.event);
      return Promise.resolve();
    },
  });
  const until = async (what: string, check: () => boolean) => {
    const deadline = Date.now() + 20 * 60_000;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const detected = (instrument: string, root: string, path: string, size: number, sha256: string): EventOf<'file.detected'> => ({
    fileId: fileIdFor(instrument, path, sha256),
    instrument,
    path,
    root,
    kind: 'file',
    size,
    sha256,
    mtime: new Date().toISOString(),
    detectedAt: new Date().toISOString(),
    watcher: 'bench',
  });
  /** Runs `ferry` and `rclone` ROUNDS times each, alternating which goes first. */
  const alternate = async (ferry: (round: number) => Promise<number>, rclone: (round: number) => Promise<number>) => {
    const times = { ferry: [] as number[], rclone: [] as number[] };
    for (let round = 1; round <= ROUNDS; round++) {
      if (round % 2 === 1) {
        times.ferry.push(await ferry(round));
        times.rclone.push(await rclone(round));
      } else {
        times.rclone.push(await rclone(round));
        times.ferry.push(await ferry(round));
      }
    }
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    return { ...times, ferryTotal: sum(times.ferry), rcloneTotal: sum(times.rclone) };
  };
  const secs = (xs: number[]) => xs.map((ms) => fmt(ms / 1000, 2)).join(', ');

  // 1. One big file.
  const bigDir = join(work, 'big');
  await mkdir(bigDir);
  const big = join(bigDir, 'big.bin');
  await makeFile(big, BIG_BYTES);
  const bigHash = await hashFile(big);
  const gib = BIG_BYTES / 1024 / MiB;
  console.log(`uploader bench: ${fmt(gib, 2)} GiB file, part ${PART_MB} MiB, ${QUEUE} parts in flight, ${ROUNDS} rounds; s3rver at ${s3.endpoint}`);
  let peakRss = 0;
  let rclonePeakRss = 0;
  const bigRuns = await alternate(
    async (round) => {
      const uploader = await startUploader(bus, 2, `ferry-big-${round}`);
      const rss = sampleRss(uploader.child.pid ?? 0);
      const event = detected(`big${round}`, bigDir, 'big.bin', bigHash.size, bigHash.sha256);
      const started = performance.now();
      await bus.publish('file.detected', event);
      await until('big upload', () => done.has(event.fileId));
      const ms = performance.now() - started;
      peakRss = Math.max(peakRss, rss.stop());
      await uploader.stop();
      const outcome = done.get(event.fileId);
      if (!outcome || !('key' in outcome) || outcome.existed) throw new Error(`ferry upload did not store: ${JSON.stringify(outcome)}`);
      return ms;
    },
    async (round) => {
      const result = await rclone(['copyto', big, `bench:rclone/big-${round}/big.bin`, '--s3-chunk-size', `${PART_MB}M`, '--s3-upload-concurrency', String(QUEUE)]);
      rclonePeakRss = Math.max(rclonePeakRss, result.peakRss);
      return result.ms;
    },
  );
  await rm(big);
  const mibs = (ms: number) => (BIG_BYTES / MiB / (ms / 1000)) * ROUNDS;
  console.log(`${fmt(gib, 2)} GiB file ferry  ${fmt(mibs(bigRuns.ferryTotal))} MiB/s (runs ${secs(bigRuns.ferry)} s; SHA-256 verified, per-part checksums sent)`);
  console.log(`              rclone ${fmt(mibs(bigRuns.rcloneTotal))} MiB/s (runs ${secs(bigRuns.rclone)} s; copyto, MD5 verified, --s3-chunk-size ${PART_MB}M --s3-upload-concurrency ${QUEUE})`);
  console.log(`              ratio ferry/rclone wall time = ${fmt(bigRuns.ferryTotal / bigRuns.rcloneTotal, 2)} (<= 1.00: as fast or faster)`);
  console.log(`              peak RSS: ferry uploader ${fmt(peakRss / MiB)} MiB (limit 256 MiB), rclone ${fmt(rclonePeakRss / MiB)} MiB`);

  // 2. Many small files.
  const manyDir = join(work, 'many');
  await mkdir(manyDir);
  const files: { path: string; sha256: string }[] = [];
  for (let i = 0; i < SMALL_FILES; i++) {
    const bytes = randomBytes(MiB);
    const path = `f${String(i).padStart(4, '0')}.bin`;
    await writeFile(join(manyDir, path), bytes);
    files.push({ path, sha256: createHash('sha256').update(bytes).digest('hex') });
  }
  let failedMany = 0;
  const manyRuns = await alternate(
    async (round) => {
      const uploader = await startUploader(bus, FILES_CONCURRENCY, `ferry-many-${round}`);
      const events = files.map((f) => detected(`many${round}`, manyDir, f.path, MiB, f.sha256));
      const started = performance.now();
      for (const e of events) await bus.publish('file.detected', e);
      await until('1000 uploads', () => events.every((e) => done.has(e.fileId)));
      const ms = performance.now() - started;
      failedMany += events.filter((e) => !('key' in (done.get(e.fileId) ?? {}))).length;
      await uploader.stop();
      return ms;
    },
    async (round) => (await rclone(['copy', manyDir, `bench:rclone/many-${round}`, '--transfers', String(FILES_CONCURRENCY), '--checkers', String(FILES_CONCURRENCY * 2)])).ms,
  );
  const fps = (ms: number) => (SMALL_FILES * ROUNDS) / (ms / 1000);
  console.log(`1000 x 1 MiB  ferry  ${fmt(fps(manyRuns.ferryTotal))} files/s (runs ${secs(manyRuns.ferry)} s; ${FILES_CONCURRENCY} at once, ${failedMany} failed; announce + HEAD + PUT + upload.done each)`);
  console.log(`              rclone ${fmt(fps(manyRuns.rcloneTotal))} files/s (runs ${secs(manyRuns.rclone)} s; copy --transfers ${FILES_CONCURRENCY})`);
  console.log(`              ratio ferry/rclone files/s = ${fmt(fps(manyRuns.ferryTotal) / fps(manyRuns.rcloneTotal), 2)}`);
} finally {
  await cleanup();
}
