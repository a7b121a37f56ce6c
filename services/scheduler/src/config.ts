import { commonEnv, envDuration, instrumentRootsEnv, natsEnv, parseConfig, redisEnv, subjectToken } from '@ferry/common';
import { z } from 'zod';
import { compilePathPattern, type Pipeline } from './domain/pipeline.js';

const token = subjectToken;

/** What the process runs: the queueing consumer, job workers, or both. */
export const SCHEDULER_MODES = ['all', 'queue', 'worker'] as const;
/** One of {@link SCHEDULER_MODES}. */
export type SchedulerMode = (typeof SCHEDULER_MODES)[number];

const schema = z
  .object({
    ...commonEnv,
    ...natsEnv,
    ...redisEnv,
    /** Prefix of every BullMQ key in Redis; one per deployment. */
    QUEUE_PREFIX: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, ., - and _ only').default('ferry'),
    SCHEDULER_MODE: z.enum(SCHEDULER_MODES).default('all'),
    PIPELINE_NAME: token.default('default'),
    PIPELINE_COMMAND: z.string().trim().min(1).optional(),
    PIPELINE_INSTRUMENTS: z
      .string()
      .transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean))
      .refine((names) => names.every((n) => token.safeParse(n).success), 'must be instrument names (letters, digits, - and _) separated by commas')
      .default([]),
    PIPELINE_PATH_PATTERN: z
      .string()
      .refine((v) => {
        try {
          compilePathPattern(v);
          return true;
        } catch {
          return false;
        }
      }, 'must be a glob such as *.raw or **/*.d, or a regular expression such as /\\.raw$/i')
      .optional(),
    PIPELINE_POOL: token.default('default'),
    PIPELINE_VERSION: z.coerce.number().int().positive().default(1),
    JOB_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(2),
    JOB_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(3),
    JOB_BACKOFF: envDuration.default(10_000),
    JOB_TIMEOUT: envDuration.pipe(z.number().positive('must be longer than 0')).default(3_600_000),
    HEARTBEAT_INTERVAL: envDuration.pipe(z.number().min(1000, 'must be at least 1s')).default(30_000),
    ...instrumentRootsEnv,
  })
  .transform((c) => ({ ...c, pipelines: pipelinesFrom(c) }));

/** The scheduler's parsed settings, with the pipelines built from the PIPELINE_* and JOB_* variables. */
export type SchedulerConfig = z.infer<typeof schema>;

/**
 * Reads the scheduler's settings once, at start. Throws a `ConfigError` naming every bad
 * variable.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): SchedulerConfig {
  return parseConfig('scheduler', schema, env);
}

// One pipeline from flat variables today; a pipelines file will produce the same list.
function pipelinesFrom(c: {
  PIPELINE_NAME: string;
  PIPELINE_COMMAND?: string | undefined;
  PIPELINE_INSTRUMENTS: string[];
  PIPELINE_PATH_PATTERN?: string | undefined;
  PIPELINE_POOL: string;
  PIPELINE_VERSION: number;
  JOB_ATTEMPTS: number;
  JOB_BACKOFF: number;
  JOB_TIMEOUT: number;
}): Pipeline[] {
  if (!c.PIPELINE_COMMAND) return [];
  return [
    {
      name: c.PIPELINE_NAME,
      version: c.PIPELINE_VERSION,
      pool: c.PIPELINE_POOL,
      match: { instruments: c.PIPELINE_INSTRUMENTS, pathPattern: c.PIPELINE_PATH_PATTERN },
      command: c.PIPELINE_COMMAND,
      attempts: c.JOB_ATTEMPTS,
      backoffMs: c.JOB_BACKOFF,
      timeoutMs: c.JOB_TIMEOUT,
    },
  ];
}
