import { commonEnv, envBoolean, envDuration, instrumentRootsEnv, natsEnv, parseConfig, redisEnv, subjectToken, type ZoneConfig } from '@ferry/common';
import { z } from 'zod';
import { compilePathPattern, type Pipeline } from './domain/pipeline.js';
import { poolsFor, type PoolSettings } from './domain/pools.js';
import { loadPipelinesFile } from './pipelines-file.js';
import { prefixedZoneEnv, zoneFromPrefixedEnv } from './zone-env.js';

const token = subjectToken;

/** What the process runs: the queueing consumer, job workers, or both. */
export const SCHEDULER_MODES = ['all', 'queue', 'worker'] as const;
/** One of {@link SCHEDULER_MODES}. */
export type SchedulerMode = (typeof SCHEDULER_MODES)[number];

const postgresUrl = z.string().refine((v) => {
  try {
    return ['postgres:', 'postgresql:'].includes(new URL(v).protocol);
  } catch {
    return false;
  }
}, 'must be a URL starting with postgres:// or postgresql://');

/** A cron pattern (5 or 6 fields), or `off` (null: a default only replaces undefined). */
const cron = z
  .string()
  .trim()
  .refine((v) => v === 'off' || /^(\S+\s+){4,5}\S+$/.test(v), 'must be a cron pattern such as "0 * * * *", or off')
  .transform((v) => (v === 'off' ? null : v));

const schema = z
  .object({
    ...commonEnv,
    ...natsEnv,
    ...redisEnv,
    /** Prefix of every BullMQ key in Redis; one per deployment. */
    QUEUE_PREFIX: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, ., - and _ only').default('ferry'),
    SCHEDULER_MODE: z.enum(SCHEDULER_MODES).default('all'),
    PIPELINES_FILE: z.string().min(1).optional(),
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
    JOB_GLOBAL_CONCURRENCY: z.coerce.number().int().min(1).max(10_000).optional(),
    JOB_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(3),
    JOB_BACKOFF: envDuration.default(10_000),
    JOB_TIMEOUT: envDuration.pipe(z.number().positive('must be longer than 0')).default(3_600_000),
    JOB_LOCK_DURATION: envDuration.pipe(z.number().min(1000, 'must be at least 1s')).default(30_000),
    JOB_STALLED_INTERVAL: envDuration.pipe(z.number().min(500, 'must be at least 500ms')).default(30_000),
    JOB_MAX_STALLED: z.coerce.number().int().min(0).max(100).default(2),
    HEARTBEAT_INTERVAL: envDuration.pipe(z.number().min(1000, 'must be at least 1s')).default(30_000),
    ...instrumentRootsEnv,

    // Operations: backups, retention, clean-up, canary. Each is off until configured.
    DATABASE_URL: postgresUrl.optional(),
    FILE_EVENTS_RETENTION: envDuration.pipe(z.number().positive()).default(90 * 86_400_000),
    REQUEST_STATS_RETENTION: envDuration.pipe(z.number().positive()).default(30 * 86_400_000),
    RETENTION_CRON: cron.default('17 3 * * *'),
    RETENTION_BATCH_SIZE: z.coerce.number().int().min(1).max(100_000).default(5000),
    RETENTION_PAUSE: envDuration.default(200),
    SCRATCH_RETENTION: envDuration.pipe(z.number().positive()).default(7 * 86_400_000),
    MULTIPART_MAX_AGE: envDuration.pipe(z.number().positive()).default(7 * 86_400_000),
    ...prefixedZoneEnv(''),
    ...prefixedZoneEnv('SCRATCH_'),
    ...prefixedZoneEnv('BACKUP_'),
    BACKUP_DATABASE_URL: postgresUrl.optional(),
    BACKUP_VERIFY_URL: postgresUrl.optional(),
    BACKUP_HOURLY_CRON: cron.default('0 * * * *'),
    BACKUP_NIGHTLY_CRON: cron.default('30 2 * * *'),
    BACKUP_TZ: z.string().default('UTC'),
    BACKUP_KEEP_HOURLY: z.coerce.number().int().min(0).default(24),
    BACKUP_KEEP_DAILY: z.coerce.number().int().min(0).default(7),
    BACKUP_KEEP_WEEKLY: z.coerce.number().int().min(0).default(8),
    BACKUP_KEEP_FAILED: envDuration.default(7 * 86_400_000),
    BACKUP_VERIFY: envBoolean.default(true),
    BACKUP_TIMEOUT: envDuration.pipe(z.number().positive()).default(6 * 3_600_000),
    BACKUP_WORK_DIR: z.string().optional(),
    PG_BIN_DIR: z.string().optional(),
    CANARY_INTERVAL: envDuration.pipe(z.number().min(1000, 'must be at least 1s')).optional(),
    CANARY_DIR: z.string().optional(),
    CANARY_INSTRUMENT: token.default('canary'),
    CANARY_LIMIT: envDuration.pipe(z.number().positive()).default(120_000),
  })
  .transform((c, ctx) => {
    const problem = (variable: string, message: string): never => {
      ctx.addIssue({ code: 'custom', path: [variable], message });
      return z.NEVER;
    };
    let pipelines: Pipeline[] = pipelinesFrom(c);
    let configuredPools: Record<string, Omit<PoolSettings, 'name'>> = c.JOB_GLOBAL_CONCURRENCY
      ? { [c.PIPELINE_POOL]: { concurrency: c.JOB_CONCURRENCY, globalConcurrency: c.JOB_GLOBAL_CONCURRENCY } }
      : {};
    if (c.PIPELINES_FILE) {
      if (c.PIPELINE_COMMAND) problem('PIPELINE_COMMAND', 'cannot be combined with PIPELINES_FILE: put the pipeline in the file');
      const file = loadPipelinesFile(c.PIPELINES_FILE, { attempts: c.JOB_ATTEMPTS, backoffMs: c.JOB_BACKOFF, timeoutMs: c.JOB_TIMEOUT, concurrency: c.JOB_CONCURRENCY });
      if (Array.isArray(file)) {
        for (const issue of file) ctx.addIssue({ code: 'custom', path: ['PIPELINES_FILE'], message: issue });
        return z.NEVER;
      }
      pipelines = file.pipelines;
      configuredPools = file.pools;
    }
    const zones: Record<'default' | 'scratch' | 'backups', ZoneConfig | undefined> = { default: undefined, scratch: undefined, backups: undefined };
    for (const [key, prefix, name] of [
      ['default', '', 'default'],
      ['scratch', 'SCRATCH_', 'scratch'],
      ['backups', 'BACKUP_', 'backups'],
    ] as const) {
      const zone = zoneFromPrefixedEnv(c, prefix, name);
      if (typeof zone === 'string') problem(zone.slice(0, zone.indexOf(':')), zone.slice(zone.indexOf(':') + 2));
      else zones[key] = zone;
    }
    const raw = c as Record<string, unknown>;
    if (c.BACKUP_DATABASE_URL && raw.BACKUP_ZONE_BUCKET === undefined && raw.BACKUP_ZONE_DIR === undefined) problem('BACKUP_ZONE_BUCKET', 'required with BACKUP_DATABASE_URL (or BACKUP_ZONE_DIR for a folder)');
    if (c.CANARY_INTERVAL && !c.CANARY_DIR) problem('CANARY_DIR', 'required with CANARY_INTERVAL: the canary instrument folder a watcher watches');
    return {
      ...c,
      pipelines,
      pools: [...poolsFor(pipelines, configuredPools, c.JOB_CONCURRENCY).values()],
      zones,
    };
  });

/** The scheduler's parsed settings, with the pipelines and pools from PIPELINES_FILE or the PIPELINE_* variables. */
export type SchedulerConfig = z.infer<typeof schema>;

/**
 * Reads the scheduler's settings once, at start. Throws a `ConfigError` naming every bad
 * variable, and for a pipelines file every bad field with the file's name.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): SchedulerConfig {
  return parseConfig('scheduler', schema, env);
}

// The single-pipeline shorthand of the flat variables; a pipelines file replaces it.
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
