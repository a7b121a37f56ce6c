import { errorMessage, type Logger } from '@ferry/common';
import { Queue, Worker, type Job } from 'bullmq';
import type { RedisOptions } from 'ioredis';
import { z } from 'zod';
import { QUEUE_STATES } from './adapters/job-queues.js';
import type { Component } from './app.js';

/** The operations queues: one each so a long backup never delays the canary. */
export const OPS_QUEUES = { backup: 'ops-backup', maintenance: 'ops-maintenance', canary: 'ops-canary' } as const;
/** One of the operations queues. */
export type OpsQueue = keyof typeof OPS_QUEUES;

/** A repeatable task: a cron pattern or an interval. */
export interface OpsSchedule {
  /** Unique per task, e.g. `backup-hourly`. */
  id: string;
  queue: OpsQueue;
  /** Cron pattern (in `tz`), or undefined with `everyMs`. */
  pattern?: string | undefined;
  everyMs?: number | undefined;
  tz?: string | undefined;
  /** The job's name and data. */
  task: string;
  data?: Record<string, unknown>;
}

/** Runs one task; what it returns is kept as the BullMQ job's result. */
export type OpsHandler = (task: string, data: Record<string, unknown>, job: Job) => Promise<unknown>;

/** Options for {@link createOperations}. */
export interface OperationsOptions {
  connection: RedisOptions;
  prefix: string;
  logger: Logger;
  /** The schedules wanted now; every other schedule of these queues is removed. */
  schedules: readonly OpsSchedule[];
  /** The handler of each queue that this process runs; a queue without one is not worked here. */
  handlers: Partial<Record<OpsQueue, OpsHandler>>;
  /** Lock of a running task; a task whose process died is taken over after this (default 60 s). */
  lockDurationMs?: number;
}

/** The operations component: repeatable tasks on BullMQ job schedulers. */
export interface Operations extends Component {
  /** Queues a task now, once per `id` (a command's id keeps a redelivered command from running it twice). */
  runNow(queue: OpsQueue, task: string, id: string, data?: Record<string, unknown>): Promise<void>;
  /** Job counts by state of each operations queue, by its BullMQ name (metrics). */
  counts(): Promise<Record<string, Record<string, number>>>;
}

const dataSchema = z.record(z.string(), z.unknown());

/**
 * Creates the operations component. Schedules live in Redis (BullMQ job schedulers), so
 * several core hosts may run it: the schedule fires once, and each queue's global
 * concurrency of 1 runs one task of a kind at a time across hosts.
 */
export function createOperations(options: OperationsOptions): Operations {
  const queues = new Map<OpsQueue, Queue>();
  const workers: Worker[] = [];
  let stopPromise: Promise<void> | undefined;
  const queueOf = (name: OpsQueue): Queue => {
    let q = queues.get(name);
    if (!q) {
      q = new Queue(OPS_QUEUES[name], { connection: { ...options.connection, maxRetriesPerRequest: 3 }, prefix: options.prefix });
      q.on('error', (err) => options.logger.warn({ queue: name, err: errorMessage(err) }, 'ops queue connection error'));
      queues.set(name, q);
    }
    return q;
  };
  const keep = { removeOnComplete: { count: 200 }, removeOnFail: { count: 200 } };

  return {
    async start() {
      if (stopPromise) return;
      for (const name of Object.keys(OPS_QUEUES) as OpsQueue[]) {
        const q = queueOf(name);
        await q.setGlobalConcurrency(1);
        const wanted = new Set(options.schedules.filter((s) => s.queue === name).map((s) => s.id));
        for (const existing of await q.getJobSchedulers()) {
          if (!wanted.has(existing.key)) await q.removeJobScheduler(existing.key);
        }
      }
      for (const s of options.schedules) {
        await queueOf(s.queue).upsertJobScheduler(
          s.id,
          s.pattern ? { pattern: s.pattern, tz: s.tz } : { every: s.everyMs ?? 60_000 },
          { name: s.task, data: s.data ?? {}, opts: { ...keep, attempts: 1 } },
        );
      }
      for (const [name, handler] of Object.entries(options.handlers) as [OpsQueue, OpsHandler][]) {
        const worker = new Worker(
          OPS_QUEUES[name],
          async (job) => {
            const log = options.logger.child({ task: job.name, opsJobId: job.id });
            const started = Date.now();
            log.info('operations task started');
            try {
              const result = await handler(job.name, dataSchema.parse(job.data ?? {}), job);
              log.info({ durationMs: Date.now() - started }, 'operations task done');
              return result;
            } catch (err) {
              log.error({ err: errorMessage(err), durationMs: Date.now() - started }, 'operations task failed');
              throw err;
            }
          },
          { connection: options.connection, prefix: options.prefix, concurrency: 1, lockDuration: options.lockDurationMs ?? 60_000, maxStalledCount: 1 },
        );
        worker.on('error', (err) => options.logger.error({ queue: name, err: errorMessage(err) }, 'ops worker error'));
        workers.push(worker);
        await worker.waitUntilReady();
      }
      options.logger.info({ schedules: options.schedules.map((s) => `${s.id} ${s.pattern ?? `every ${s.everyMs}ms`}`), runs: Object.keys(options.handlers) }, 'operations scheduled');
    },
    async counts() {
      const out: Record<string, Record<string, number>> = {};
      if (stopPromise) return out;
      for (const name of Object.keys(OPS_QUEUES) as OpsQueue[]) out[OPS_QUEUES[name]] = await queueOf(name).getJobCounts(...QUEUE_STATES);
      return out;
    },
    async runNow(queue, task, id, data = {}) {
      await queueOf(queue).add(task, data, { ...keep, jobId: `now-${id}`, attempts: 1 });
    },
    stop() {
      stopPromise ??= (async () => {
        const results = await Promise.allSettled([...workers.map((w) => w.close()), ...[...queues.values()].map((q) => q.close())]);
        for (const r of results) if (r.status === 'rejected') options.logger.warn({ err: errorMessage(r.reason) }, 'closing operations failed');
      })();
      return stopPromise;
    },
  };
}
