import { connectBus, type Bus, errorMessage, HeartbeatPublisher, type Logger, type Subscription } from '@ferry/common';
import { Worker } from 'bullmq';
import type { RedisOptions } from 'ioredis';
import { createJobProcessor, pipelinesByName } from './adapters/job-processor.js';
import { createJobQueues, poolQueueName, type JobQueues } from './adapters/job-queues.js';
import { redisOptionsFromUrl } from './adapters/redis.js';
import { createCommandHandler } from './adapters/command-consumer.js';
import { createUploadHandler } from './adapters/upload-consumer.js';
import type { SchedulerConfig } from './config.js';
import { createPipelineMatcher, type Pipeline } from './domain/pipeline.js';
import type { PoolSettings } from './domain/pools.js';
import { trackQueues } from './metrics.js';
import { createOperations, type Operations } from './operations.js';
import { opsTasksFromConfig, type OpsTasks } from './ops-tasks.js';

/** A long-lived part of the service. */
export interface Component {
  start(): Promise<void>;
  /** Safe to call twice, and before or without `start()`. */
  stop(): Promise<void>;
}

/** Options for {@link createScheduler}. */
export interface SchedulerOptions {
  bus: Bus;
  queues: JobQueues;
  pipelines: readonly Pipeline[];
  logger: Logger;
  /** Durable consumer name on the FILES stream (default `scheduler`). */
  durable?: string;
  /** upload.done events handled at once (default 8). */
  concurrency?: number;
  /** Deliveries before an event is dead-lettered (default 10: rides out a Redis restart). */
  maxDeliver?: number;
  /** Pauses before redeliveries, in ms (default 1 s, 5 s, 30 s, then every 60 s). */
  backoffMs?: readonly number[];
  /**
   * The pools' limits. The queueing side owns the limits across workers: it sets each
   * pool's BullMQ global concurrency at start, and removes it when none is configured.
   */
  pools?: readonly PoolSettings[];
}

/** The queueing component: `upload.done` in, BullMQ jobs and `job.queued`/`job.skipped` out. */
export interface Scheduler extends Component {
  /** Handles one event as the consumer does; exposed so replays and tests can drive it. */
  handle: ReturnType<typeof createUploadHandler>;
}

/** Creates the queueing component; `start()` opens the durable consumer. */
export function createScheduler(options: SchedulerOptions): Scheduler {
  const handle = createUploadHandler({ bus: options.bus, queues: options.queues, matcher: createPipelineMatcher(options.pipelines), logger: options.logger });
  let subscription: Subscription | undefined;
  let stopped = false;
  return {
    handle,
    async start() {
      if (subscription || stopped) return;
      for (const pool of options.pools ?? []) await options.queues.limit(pool.name, pool.globalConcurrency);
      subscription = await options.bus.consume({
        stream: 'FILES',
        durable: options.durable ?? 'scheduler',
        filter: 'upload.done.>',
        events: ['upload.done'],
        concurrency: options.concurrency ?? 8,
        maxDeliver: options.maxDeliver ?? 10,
        backoffMs: options.backoffMs ?? [1000, 5000, 30_000, 60_000],
        handler: (msg) => handle(msg.event),
      });
      options.logger.info({ pipelines: options.pipelines.map((p) => `${p.name}@v${p.version}`) }, 'scheduler consuming upload.done');
    },
    async stop() {
      stopped = true;
      await subscription?.stop();
    },
  };
}

/** Options for {@link createJobWorker}. */
export interface JobWorkerOptions {
  bus: Bus;
  /** The pipelines this host runs; one BullMQ worker per distinct pool. */
  pipelines: readonly Pipeline[];
  /** Redis connection for BullMQ; see `redisOptionsFromUrl`. */
  connection: RedisOptions;
  /** BullMQ key prefix (`QUEUE_PREFIX`), the same as the scheduler's. */
  prefix: string;
  logger: Logger;
  /** Jobs run at once per pool, unless `pools` says otherwise for a pool. */
  concurrency: number;
  /** Per-pool concurrency on this worker. */
  pools?: readonly PoolSettings[];
  /** How long a job's lock lasts without renewal; a worker that dies loses its jobs after this (default 30 s). */
  lockDurationMs?: number;
  /** How often this worker looks for jobs whose worker died (default 30 s). */
  stalledIntervalMs?: number;
  /** Times a job may be recovered from a dead worker before it fails (default 2). */
  maxStalledCount?: number;
  /** Reported as `worker` in job events (`FERRY_INSTANCE`). */
  instance: string;
  /** Instrument name to its folder on this host, for FERRY_FILE_PATH. */
  instrumentRoots?: Readonly<Record<string, string>>;
  /** Environment the commands inherit (default process.env). */
  baseEnv?: NodeJS.ProcessEnv;
  /** Time between SIGTERM and SIGKILL when a command is stopped (default 5 s). */
  killGraceMs?: number;
  /** How long a job waits before reporting again after a bus outage (default 10 s). */
  retryReportMs?: number;
  /** How long one publish is retried (default 30 s). */
  publishDeadlineMs?: number;
}

/** The job-running component. */
export interface JobWorker extends Component {
  /** Commands running now. */
  readonly running: number;
}

/**
 * Creates the job workers. `stop()` kills running commands (their jobs go back to the
 * queue without using an attempt, to run again on the next worker) and closes BullMQ.
 */
export function createJobWorker(options: JobWorkerOptions): JobWorker {
  const stopping = new AbortController();
  const workers: Worker[] = [];
  const loops: Promise<void>[] = [];
  let running = 0;
  let stopPromise: Promise<void> | undefined;
  const processor = createJobProcessor({
    bus: options.bus,
    pipelines: pipelinesByName(options.pipelines),
    instance: options.instance,
    logger: options.logger,
    instrumentRoots: options.instrumentRoots ?? {},
    stopping: stopping.signal,
    baseEnv: options.baseEnv,
    killGraceMs: options.killGraceMs,
    retryReportMs: options.retryReportMs,
    publishDeadlineMs: options.publishDeadlineMs,
  });

  return {
    get running() {
      return running;
    },
    async start() {
      if (workers.length > 0 || stopPromise) return;
      const poolSettings = new Map((options.pools ?? []).map((p) => [p.name, p]));
      for (const pool of new Set(options.pipelines.map((p) => p.pool))) {
        const concurrency = poolSettings.get(pool)?.concurrency ?? options.concurrency;
        const worker = new Worker(
          poolQueueName(pool),
          async (job, token, signal) => {
            running++;
            try {
              return await processor(job, token, signal);
            } finally {
              running--;
            }
          },
          {
            connection: options.connection,
            prefix: options.prefix,
            concurrency,
            autorun: false,
            lockDuration: options.lockDurationMs ?? 30_000,
            stalledInterval: options.stalledIntervalMs ?? 30_000,
            maxStalledCount: options.maxStalledCount ?? 2,
          },
        );
        worker.on('error', (err) => options.logger.error({ pool, err: errorMessage(err) }, 'job worker error'));
        workers.push(worker);
        loops.push(worker.run().catch((err: unknown) => options.logger.error({ pool, err: errorMessage(err) }, 'job worker stopped on an error')));
        await worker.waitUntilReady();
      }
      options.logger.info({ pools: workers.map((w) => `${w.name}×${w.concurrency}`) }, 'job workers running');
    },
    stop() {
      stopPromise ??= (async () => {
        // close() first so no new job is fetched, then abort so running commands end now
        // instead of holding the shutdown for up to their timeout.
        const closing = workers.map((w) => w.close());
        stopping.abort('worker is stopping');
        const results = await Promise.allSettled(closing);
        for (const r of results) {
          if (r.status === 'rejected') options.logger.warn({ err: errorMessage(r.reason) }, 'closing a job worker failed');
        }
        await Promise.allSettled(loops);
      })();
      return stopPromise;
    },
  };
}

/** Options for {@link createSchedulerService}. */
export interface SchedulerServiceOptions {
  config: SchedulerConfig;
  logger: Logger;
  version?: string;
}

/**
 * The whole service as `main.ts` and local mode run it: bus, queues, the components
 * `SCHEDULER_MODE` asks for and a heartbeat. The queueing side (modes `all` and `queue`)
 * also runs operator commands and the operations (backups, retention, canary). `stop()`
 * works after a partial start, so register it before calling `start()`.
 */
export function createSchedulerService(options: SchedulerServiceOptions): Component {
  const { config, logger } = options;
  let bus: Bus | undefined;
  let queues: JobQueues | undefined;
  let scheduler: Scheduler | undefined;
  let worker: JobWorker | undefined;
  let commands: Subscription | undefined;
  let operations: Operations | undefined;
  let tasks: OpsTasks | undefined;
  let heartbeat: HeartbeatPublisher | undefined;
  let untrackQueues: (() => void) | undefined;
  let stopPromise: Promise<void> | undefined;

  // Consumers first so nothing new arrives, NATS last so workers can still report.
  const steps: [string, () => Promise<void> | undefined][] = [
    ['metrics', () => void untrackQueues?.()],
    ['consumer', () => scheduler?.stop()],
    ['commands', () => commands?.stop()],
    ['operations', () => operations?.stop()],
    ['job workers', () => worker?.stop()],
    ['heartbeat', () => heartbeat?.stop()],
    ['operations resources', () => tasks?.close()],
    ['queues', () => queues?.close()],
    ['nats', () => bus?.close()],
  ];

  return {
    async start() {
      const connection = redisOptionsFromUrl(config.REDIS_URL);
      bus = await connectBus(config, 'scheduler', logger);
      await bus.ensureStreams();
      if (config.SCHEDULER_MODE === 'worker' && config.pipelines.length === 0) {
        // Not an error: the workers profile may be deployed before a pipeline is chosen.
        logger.warn('no pipeline configured (PIPELINES_FILE and PIPELINE_COMMAND are unset): this worker runs no jobs');
      }
      if (config.SCHEDULER_MODE !== 'queue' && config.pipelines.length > 0) {
        worker = createJobWorker({
          bus,
          pipelines: config.pipelines,
          pools: config.pools,
          connection,
          prefix: config.QUEUE_PREFIX,
          logger: logger.child({ component: 'job-worker' }),
          concurrency: config.JOB_CONCURRENCY,
          instance: config.FERRY_INSTANCE,
          instrumentRoots: config.INSTRUMENT_ROOTS,
          lockDurationMs: config.JOB_LOCK_DURATION,
          stalledIntervalMs: config.JOB_STALLED_INTERVAL,
          maxStalledCount: config.JOB_MAX_STALLED,
        });
        await worker.start();
      }
      if (config.SCHEDULER_MODE !== 'worker') {
        queues = createJobQueues({ connection, prefix: config.QUEUE_PREFIX, logger });
        scheduler = createScheduler({ bus, queues, pipelines: config.pipelines, pools: config.pools, logger: logger.child({ component: 'consumer' }) });
        await scheduler.start();
        tasks = opsTasksFromConfig({ config, bus, logger: logger.child({ component: 'operations' }), version: options.version ?? '0.0.0' });
        const ops = createOperations({ connection, prefix: config.QUEUE_PREFIX, logger: logger.child({ component: 'operations' }), schedules: tasks.schedules, handlers: tasks.handlers });
        operations = ops;
        await ops.start();
        const handle = createCommandHandler({
          bus,
          queues,
          pipelines: config.pipelines,
          backupNow: tasks.backups ? (commandId) => ops.runNow('backup', 'backup', commandId, { kind: 'manual' }) : undefined,
          logger: logger.child({ component: 'commands' }),
        });
        commands = await bus.consume({
          stream: 'OPS',
          durable: 'scheduler-commands',
          filter: 'command.>',
          events: ['command'],
          concurrency: 4,
          maxDeliver: 10,
          backoffMs: [1000, 5000, 30_000],
          handler: async (msg) => {
            await handle(msg.event);
          },
        });
        // The queueing side reports the queues (a worker-only host would repeat the same numbers).
        const pools = [...new Set([...config.pools.map((p) => p.name), ...config.pipelines.map((p) => p.pool)])];
        const q = queues;
        untrackQueues = trackQueues(async () => {
          const byPool = await q.counts(pools);
          const out: Record<string, Record<string, number>> = {};
          for (const [pool, counts] of Object.entries(byPool)) out[poolQueueName(pool)] = counts;
          return { ...out, ...(await ops.counts()) };
        }, logger);
      }
      heartbeat = new HeartbeatPublisher({
        bus,
        logger,
        service: 'scheduler',
        instance: config.FERRY_INSTANCE,
        version: options.version ?? '0.0.0',
        intervalMs: config.HEARTBEAT_INTERVAL,
        details: () => ({ mode: config.SCHEDULER_MODE, pipelines: config.pipelines.length, runningJobs: worker?.running ?? 0, operations: tasks?.schedules.map((s) => s.id).join(',') ?? '' }),
      });
      heartbeat.start();
    },
    stop() {
      stopPromise ??= (async () => {
        for (const [name, step] of steps) {
          try {
            await step();
          } catch (err) {
            logger.error({ step: name, err: errorMessage(err) }, 'stopping failed; carrying on');
          }
        }
      })();
      return stopPromise;
    },
  };
}
