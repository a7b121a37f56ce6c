import { Bus, contentKey, fileIdFor, type EventOf, type Received } from '@ferry/common';
import { isolate, testLogger, waitFor as waitWithin, type Isolated } from '@ferry/testkit';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createJobQueues, type JobQueues } from '../adapters/job-queues.js';
import { redisOptionsFromUrl } from '../adapters/redis.js';
import { createJobWorker, createScheduler, type JobWorker, type JobWorkerOptions, type Scheduler } from '../app.js';
import type { Pipeline } from '../domain/pipeline.js';
import type { PoolSettings } from '../domain/pools.js';

/** Events a test watches on the JOBS stream. */
export type JobEventName = 'job.queued' | 'job.started' | 'job.done' | 'job.failed' | 'job.skipped';
export type JobEvent = Received<JobEventName>;

/** One test's scheduler, worker and observer on the shared servers, isolated by prefix. */
export interface Harness {
  iso: Isolated;
  bus: Bus;
  queues: JobQueues;
  scheduler: Scheduler;
  /** Folder standing in for the instrument share (INSTRUMENT_ROOTS of `ms1`). */
  dir: string;
  /** Every job event seen on the JOBS stream, in stream order. */
  events: JobEvent[];
  /** Starts another job worker (the harness stops it at the end). */
  startWorker(overrides?: Partial<JobWorkerOptions>): Promise<JobWorker>;
  /** Writes a file below `dir` and returns its upload.done event. */
  storedFile(path: string, content: string, zone?: string): Promise<EventOf<'upload.done'>>;
  /** Events of one kind, in order. */
  seen<N extends JobEventName>(name: N): EventOf<N>[];
  close(): Promise<void>;
}

/** A pipeline for tests: fast backoff, short timeout. */
export function testPipeline(command: string, overrides: Partial<Pipeline> = {}): Pipeline {
  return { name: 'qc', version: 1, pool: 'default', match: { instruments: [] }, command, attempts: 3, backoffMs: 50, timeoutMs: 10_000, ...overrides };
}

/** Sets up a harness; `worker: false` leaves job workers to the test. */
export async function createHarness(pipelines: Pipeline[], options: { worker?: boolean; pools?: PoolSettings[] } = {}): Promise<Harness> {
  const iso = await isolate('sched');
  const logger = testLogger('scheduler');
  const dir = await mkdtemp(join(tmpdir(), 'ferry-sched-'));
  const bus = await Bus.connect({ servers: iso.natsUrl, prefix: iso.natsPrefix, name: 'scheduler-test', service: 'scheduler', logger });
  await bus.ensureStreams();
  const events: JobEvent[] = [];
  await bus.consume({
    stream: 'JOBS',
    durable: 'test-observer',
    events: ['job.queued', 'job.started', 'job.done', 'job.failed', 'job.skipped'],
    concurrency: 1,
    handler: (m) => {
      events.push(m);
      return Promise.resolve();
    },
  });
  const connection = redisOptionsFromUrl(iso.redisUrl);
  const queues = createJobQueues({ connection, prefix: iso.queuePrefix, logger });
  const scheduler = createScheduler({ bus, queues, pipelines, pools: options.pools, logger, backoffMs: [50] });
  const workers: JobWorker[] = [];

  const startWorker = async (overrides: Partial<JobWorkerOptions> = {}): Promise<JobWorker> => {
    const worker = createJobWorker({
      bus,
      pipelines,
      connection,
      prefix: iso.queuePrefix,
      logger,
      concurrency: 2,
      instance: 'w1',
      instrumentRoots: { ms1: dir },
      killGraceMs: 200,
      ...overrides,
    });
    workers.push(worker);
    await worker.start();
    return worker;
  };
  if (options.worker !== false) await startWorker();
  await scheduler.start();

  return {
    iso,
    bus,
    queues,
    scheduler,
    dir,
    events,
    startWorker,
    storedFile: (path, content, zone) => storedFile(dir, path, content, zone),
    seen<N extends JobEventName>(name: N): EventOf<N>[] {
      return events.filter((e) => e.name === name).map((e) => e.event as EventOf<N>);
    },
    async close() {
      await scheduler.stop();
      await Promise.allSettled(workers.map((w) => w.stop()));
      await queues.close();
      await bus.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Writes a file of instrument `ms1` below `dir` and returns the upload.done an uploader would publish. */
export async function storedFile(dir: string, path: string, content: string, zone = 'default'): Promise<EventOf<'upload.done'>> {
  await writeFile(join(dir, path), content);
  const sha256 = createHash('sha256').update(content).digest('hex');
  return {
    fileId: fileIdFor('ms1', path, sha256),
    instrument: 'ms1',
    path,
    size: Buffer.byteLength(content),
    sha256,
    zone,
    key: contentKey(sha256),
    existed: false,
    storedAt: new Date().toISOString(),
    durationMs: 12,
    uploader: 'u1',
  };
}

/** True once the scheduler's durable consumer has handled everything on the FILES stream. */
export async function consumerCaughtUp(bus: Bus, durable = 'scheduler'): Promise<boolean> {
  const info = await bus.jsm.consumers.info(bus.streamName('FILES'), durable);
  return info.num_pending === 0 && info.num_ack_pending === 0 && info.delivered.stream_seq > 0;
}

/**
 * The test kit's `waitFor` with a 30 s default deadline: the machine running the tests
 * is shared, and a job's chain (bus, Redis, a shell) can be slow under load.
 */
export function waitFor<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, options: { timeoutMs?: number; intervalMs?: number } = {}): Promise<T> {
  return waitWithin(what, check, { timeoutMs: 30_000, ...options });
}
